#include "response.hpp"

#include <limits>

namespace regulars::wire {

namespace {
constexpr std::string_view kHead = "{\"id\":";
constexpr std::string_view kOk = ",\"ok\":true,\"result\":";
}  // namespace

std::string ok_response_text(std::string_view id_json, std::string_view result_json) {
  std::string out;
  out.reserve(kHead.size() + id_json.size() + kOk.size() + result_json.size() + 1);
  out.append(kHead).append(id_json).append(kOk).append(result_json).push_back('}');
  return out;
}

std::optional<OkResponse> split_ok_response(std::string_view payload) noexcept {
  if (payload.size() < kHead.size() + 1 + kOk.size() + 2 || payload.substr(0, kHead.size()) != kHead ||
      payload.back() != '}')
    return std::nullopt;
  std::size_t pos = kHead.size();
  std::uint64_t id = 0;
  const std::size_t digits_from = pos;
  while (pos < payload.size() && payload[pos] >= '0' && payload[pos] <= '9') {
    const auto digit = static_cast<std::uint64_t>(payload[pos] - '0');
    if (id > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    id = id * 10 + digit;
    ++pos;
  }
  const std::size_t digits = pos - digits_from;
  if (digits == 0 || (digits > 1 && payload[digits_from] == '0')) return std::nullopt;  // JSON has no leading zeros
  if (payload.substr(pos, kOk.size()) != kOk) return std::nullopt;
  pos += kOk.size();
  if (pos >= payload.size() - 1) return std::nullopt;  // no result before the closing brace
  return OkResponse{id, payload.substr(pos, payload.size() - 1 - pos)};
}

}  // namespace regulars::wire
