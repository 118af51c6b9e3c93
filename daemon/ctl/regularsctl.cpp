// regularsctl: the owner's command line. Talks to a running regularsd over its socket.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "wire/frame.hpp"
#include "wire/json_text.hpp"

namespace {

using nlohmann::json;

// A blocking request/response client; enough for one-shot commands.
class CtlClient {
 public:
  explicit CtlClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot reach regularsd at " + path + ": " + std::strerror(errno) +
                               " (is it running? is --data-dir or --socket right?)");
    timeval tv{600, 0};  // a rebuild of a large store takes a while
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    call({{"op", "hello"}, {"protocol", regulars::wire::kProtocolVersion}, {"client", "regularsctl"}});
  }
  ~CtlClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  json call(json request) {
    request["id"] = ++next_id_;
    const std::string frame = regulars::wire::encode_frame(regulars::wire::dump_json(request));
    if (::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size()))
      throw std::runtime_error("lost the connection to regularsd");
    regulars::wire::FrameDecoder decoder(64u << 20);
    char buf[65536];
    for (;;) {
      if (auto payload = decoder.next()) {
        auto parsed = regulars::wire::parse_json(*payload, 256);
        if (auto* e = std::get_if<regulars::wire::Error>(&parsed)) throw std::runtime_error(e->describe());
        json response = std::get<json>(parsed);
        if (!response.value("ok", false)) {
          const auto& err = response["error"];
          throw std::runtime_error(err.value("code", "error") + ": " +
                                   (err.contains("field") ? err["field"].get<std::string>() + ": " : "") +
                                   err.value("message", ""));
        }
        return response["result"];
      }
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) throw std::runtime_error("regularsd closed the connection or did not answer in time");
      decoder.feed(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::uint64_t next_id_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"regularsctl — manage a Regulars daemon"};
  std::string data_dir = "/var/lib/regulars", socket;
  app.add_option("--data-dir", data_dir, "The daemon's data directory (to find its socket)");
  app.add_option("--socket", socket, "The daemon's socket (default DATA_DIR/regularsd.sock)");
  app.set_version_flag("--version", "regularsctl " REGULARS_VERSION_STRING);
  app.require_subcommand(1);
  auto* status = app.add_subcommand("status", "Show whether regularsd answers, and what its store holds");
  bool as_json = false;
  status->add_flag("--json", as_json, "Print the answer as JSON");
  auto* rebuild = app.add_subcommand("rebuild",
                                     "Recompute every projection from the event log and compare with what was stored");
  CLI11_PARSE(app, argc, argv);
  if (socket.empty()) socket = data_dir + "/regularsd.sock";

  try {
    CtlClient client(socket);
    if (*status) {
      const json st = client.call({{"op", "status"}});
      if (as_json) {
        std::cout << st.dump(2) << "\n";
      } else {
        std::cout << "regularsd " << st["version"].get<std::string>() << " is running\n"
                  << "  events     " << st["events"] << "\n"
                  << "  customers  " << st["customers"] << "\n"
                  << "  items      " << st["items"] << "\n";
      }
    }
    if (*rebuild) {
      std::cerr << "rebuilding projections from the event log...\n";
      const json r = client.call({{"op", "rebuild"}});
      std::cout << "replayed " << r["events"] << " events into " << r["customers"] << " customers\n";
      for (const auto& [table, n] : r["differences"].items())
        std::cout << "  " << table << std::string(table.size() < 22 ? 22 - table.size() : 1, ' ')
                  << (n.get<long long>() == 0 ? "identical" : std::to_string(n.get<long long>()) + " rows differed (rebuilt)")
                  << "\n";
      std::cout << (r["identical"].get<bool>() ? "projections match the event log\n"
                                               : "projections differed from the event log and were rebuilt\n");
      return r["identical"].get<bool>() ? 0 : 3;
    }
  } catch (const std::exception& e) {
    std::cerr << "regularsctl: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
