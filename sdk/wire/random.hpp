// Ids that must not collide (event, offer and erasure receipt ids, spool file names), drawn from
// the kernel. Not OpenSSL: the plugin does not link it (it loads libssl only for TLS). Keys and
// secrets in the daemon stay on OpenSSL's RAND_bytes.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace regulars::wire {

// Fills `out` from getrandom(2) (BCryptGenRandom on Windows), retrying on EINTR and short reads.
// Throws std::system_error when the system gives no randomness (ENOSYS before Linux 3.17, or a
// seccomp filter that refuses the call); never falls back to a weaker source, because a weak id
// collides silently.
void random_bytes(std::span<unsigned char> out);

// `prefix` then 2 * bytes lower-case hex digits of fresh randomness: random_id("erasure-", 8).
// Throws as random_bytes does.
std::string random_id(std::string_view prefix, std::size_t bytes);

// `prefix`, the system clock in microseconds since the Unix epoch as 14 hex digits, '-', then
// 2 * bytes hex digits of randomness: "ev-0641a2b3c4d5e6-9f8e7d6c5b4a3928". Ids made later sort
// later, so new rows land at the end of an index instead of dirtying a random page of it.
// Throws as random_bytes does.
std::string time_ordered_id(std::string_view prefix, std::size_t bytes);

}  // namespace regulars::wire
