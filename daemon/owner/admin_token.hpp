// The owner token: DATA_DIR/admin.token (mode 0600), made at regularsd's first start. Whoever
// holds it is the owner on the admin API; regularsctl and the owner read it from the file.
// The metrics token, DATA_DIR/metrics.token, is made the same way: it opens only the monitoring
// routes (/metrics, /healthz), so it can be copied to a Prometheus server on another machine
// without giving it the owner's powers.
#pragma once

#include <string>

namespace regulars::daemon {

// Reads the token, creating it when missing, and returns its SHA-256 in hex: the daemon keeps
// only the hash in memory. Throws std::runtime_error saying what to do when the file is unusable.
std::string load_or_create_admin_token(const std::string& data_dir);
// The same for DATA_DIR/metrics.token.
std::string load_or_create_metrics_token(const std::string& data_dir);

}  // namespace regulars::daemon
