// The sockets a connection to regularsd runs on, the same calls on Linux (socket_posix.cpp)
// and Windows (socket_win.cpp, Winsock): connecting within a deadline, non-blocking reads and
// writes, and waiting for one of them to be possible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "deadline.hpp"

namespace regulars::plugin::net {

#ifdef _WIN32
using Socket = std::uintptr_t;  // SOCKET
inline constexpr Socket kNoSocket = ~Socket{0};
#else
using Socket = int;
inline constexpr Socket kNoSocket = -1;
#endif

// What a non-blocking call needs before it can go on.
enum class Want : unsigned char { nothing, read, write };

// Waits until `want` is possible on `s`, for at most `timeout_ms` (-1: no limit). 1 when it is
// (or when a signal interrupted the wait: the caller tries again), 0 on time-out, -1 on error.
int wait_until_ready(Socket s, Want want, int timeout_ms);

// A connected, non-blocking stream socket, or kNoSocket with `why` filled.
Socket connect_unix(const std::string& socket_path, std::string& why);
Socket connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline, std::string& why);

enum class Io : unsigned char { ok, would_block, closed, failed };
// Some of `len` bytes; `n` is how many on ok. SIGPIPE is never raised.
Io send_some(Socket s, const char* data, std::size_t len, std::size_t& n, std::string& why);
// Up to `cap` bytes; `n` is how many on ok.
Io recv_some(Socket s, char* buf, std::size_t cap, std::size_t& n, std::string& why);

// Ends both directions, so a thread waiting on the socket wakes up.
void shut_down(Socket s) noexcept;
void close_socket(Socket s) noexcept;

}  // namespace regulars::plugin::net
