// UTF-8 text on a terminal: display widths, direction, and lines cut, padded and wrapped by the
// columns they take, for left-to-right and right-to-left text alike.
//
// Nothing here depends on the process locale (LANG=C works): a fixed UTF-8 decoder, and width
// tables generated from Unicode with glibc's wcwidth rules (tools/gen_width_tables.py). Zero
// columns: marks (Mn, Me) and format characters (Cf), among them the bidi isolates U+2066..U+2069
// the daemon puts around names and items, the ZERO WIDTH NON-JOINER of Persian words and the
// ARABIC LETTER MARK. Two columns: East Asian wide and fullwidth.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace till {

// Decodes one code point at `i` (advancing it). A byte that does not start a well-formed
// sequence is one U+FFFD, and the next byte is decoded afresh.
char32_t next_code_point(std::string_view s, std::size_t& i);
// Columns a code point takes: 0, 1 or 2 (control characters 0).
int code_point_width(char32_t c);
// Columns a UTF-8 string takes.
int display_width(std::string_view text);

// The bidi isolates: left-to-right, right-to-left, first-strong; and their end.
inline constexpr std::string_view kLri = "\u2066";
inline constexpr std::string_view kRli = "\u2067";
inline constexpr std::string_view kFsi = "\u2068";
inline constexpr std::string_view kPdi = "\u2069";

enum class Direction { neutral, ltr, rtl };
// The direction of a paragraph: that of its first strong letter outside isolates (UAX #9 P2).
// Right-to-left letters come from Unicode's table; any other letter counts as left-to-right.
Direction base_direction(std::string_view text);

// The isolates opened in `text` and not closed by its end (their initiators, in order).
std::string open_isolates(std::string_view text);
// `text` with a PDI for every isolate it leaves open. An isolate left open at the end of a row
// would take the padding and the border after it into its run, where a bidi terminal reorders them.
std::string close_isolates(std::string_view text);

// Bytes of the longest start of `text` that fits in `width` columns. Marks and other zero-width
// characters stay with the character before them; a code point is never split.
std::size_t fit(std::string_view text, int width);
// Cuts `text` to at most `width` columns, ending in "…" when something was cut; isolates closed.
std::string truncate(std::string_view text, int width);
// `text` followed (pad_right) or preceded (pad_left) by spaces up to `width` columns.
std::string pad_right(std::string_view text, int width);
std::string pad_left(std::string_view text, int width);
// Word-wraps `text` into lines of at most `width` columns. An isolate that spans a break is
// closed at the end of the line and opened again at the start of the next, so that each line
// is whole for the bidi algorithm, which a terminal runs line by line.
std::vector<std::string> wrap(std::string_view text, int width);

}  // namespace till
