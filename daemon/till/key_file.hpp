// Writing the daemon's spool key files (spool_key.cpp, rsa_spool_key.cpp) so a crash leaves the
// old file or the new one, never a torn one, and the new one survives a power cut.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace regulars::daemon {

// Writes `path` whole through PATH.tmp (created with `mode`, flushed) renamed over it, then
// flushes the folder, so the rename holds too. Throws std::runtime_error, naming the file.
void write_key_file(const std::string& path, std::string_view bytes, mode_t mode);

}  // namespace regulars::daemon
