// A real regularsd listening for lanes on other machines (TCP with TLS), with certificates made by
// the shipped packaging/make-tls.sh and lane tokens issued by the real regularsctl. Shared by the
// TLS lane tests and the Windows till's tests.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fixture.hpp"

namespace regulars::test {

class TlsDaemonTest : public DaemonTest {
 protected:
  std::vector<std::string> daemon_args() override {
    make_certs(dir_.sub("tls"));
    return tls_config();
  }
  // The daemon's arguments for a TLS listener on the certificates in dir_/tls.
  std::vector<std::string> tls_config() {
    const std::string tls = dir_.sub("tls");
    return with_config(json{{"listen", {{"tls", {{"address", "127.0.0.1"}, {"port", 0}, {"cert", tls + "/server.crt"},
                                                  {"key", tls + "/server.key"}}}}}}.dump());
  }
  static void make_certs(const std::string& dir) {
    std::string out;
    const int rc = run_command("bash " REGULARS_SOURCE_DIR "/packaging/make-tls.sh " + dir + " localhost 127.0.0.1", out);
    if (rc != 0) throw std::runtime_error("make-tls.sh failed: " + out);
  }
  // The TLS port of the running daemon (any free one: it changes at each start).
  int port() {
    std::string endpoint;
    std::getline(std::ifstream(daemon_->data_dir() + "/tls.endpoint"), endpoint);
    EXPECT_EQ(endpoint.rfind("tls:127.0.0.1:", 0), 0u) << endpoint;
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  }
  std::string ca() const { return dir_.sub("tls") + "/ca.crt"; }
  // Issues a token with the real regularsctl; returns {token_id, token}.
  std::pair<std::string, std::string> issue(const std::string& terminal) {
    std::string out;
    EXPECT_EQ(ctl("tokens issue --terminal " + terminal + " --json", out), 0) << out;
    const json r = json::parse(out, nullptr, false);
    if (!r.is_object()) return {};
    return {r["token_id"].get<std::string>(), r["token"].get<std::string>()};
  }
};

}  // namespace regulars::test
