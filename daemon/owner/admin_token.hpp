// The owner token: DATA_DIR/admin.token (mode 0600), made at regularsd's first start. Whoever
// holds it is the owner on the admin API; regularsctl and the owner read it from the file.
#pragma once

#include <string>

namespace regulars::daemon {

// Reads the token, creating it when missing, and returns its SHA-256 in hex: the daemon keeps
// only the hash in memory. Throws std::runtime_error saying what to do when the file is unusable.
std::string load_or_create_admin_token(const std::string& data_dir);

}  // namespace regulars::daemon
