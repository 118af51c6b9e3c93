// How many columns a line of UTF-8 takes on a terminal, as glibc's wcwidth counts them (under
// C.UTF-8, whatever the test's own locale): the independent measure the till's box tests check
// its layout against.
#pragma once

#include <string>

namespace regulars::test {

// -1 for bytes that are not UTF-8 or for a control character (a line cut mid-sequence).
int terminal_width(const std::string& line);

}  // namespace regulars::test
