#include "ctl/ctl_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "wire/frame.hpp"
#include "wire/json_text.hpp"

namespace regulars::ctl {

using nlohmann::json;

CtlClient::CtlClient(const std::string& path) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot reach regularsd at " + path + ": " + std::strerror(errno) +
                             " (is it running? is --data-dir or --socket right?)");
  timeval tv{600, 0};  // a rebuild of a large store takes a while
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  call({{"op", "hello"}, {"protocol", wire::kProtocolVersion}, {"client", "regularsctl"}});
}

CtlClient::~CtlClient() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// "code: field: message" of an error answer.
std::string describe_error(const json& err) {
  return err.value("code", "error") + ": " + (err.contains("field") ? err["field"].get<std::string>() + ": " : "") +
         err.value("message", "");
}

}  // namespace

json CtlClient::call(json request) {
  request["id"] = ++next_id_;
  const std::string frame = wire::encode_frame(wire::dump_json(request));
  if (::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size()))
    throw std::runtime_error("lost the connection to regularsd");
  wire::FrameDecoder decoder(64u << 20);
  char buf[65536];
  for (;;) {
    if (auto payload = decoder.next()) {
      auto parsed = wire::parse_json(*payload, 256);
      if (auto* e = std::get_if<wire::Error>(&parsed)) throw std::runtime_error(e->describe());
      json response = std::get<json>(parsed);
      if (!response.value("ok", false)) throw std::runtime_error(describe_error(response["error"]));
      return response["result"];
    }
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("regularsd closed the connection or did not answer in time");
    decoder.feed(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace regulars::ctl
