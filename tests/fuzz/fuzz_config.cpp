// fuzz_config: the bytes are a regularsd config file (JSON with comments). parse_config_text must
// answer with a Config or a typed error naming the key, never throw; every value it accepts is
// within its documented range, and finish_config copes with whatever it produced.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "base/config.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace regulars;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const daemon::Config defaults;
  const auto parsed = daemon::parse_config_text(text, defaults);
  if (const auto* err = std::get_if<wire::Error>(&parsed)) {
    fuzz::check_error_answer(*err);
    return 0;
  }
  daemon::Config c = std::get<daemon::Config>(parsed);
  FUZZ_CHECK(c.io_threads >= 1 && c.io_threads <= 64);
  FUZZ_CHECK(c.max_frame_bytes >= 1024 && c.max_frame_bytes <= (64u << 20));
  FUZZ_CHECK(c.max_depth >= 4 && c.max_depth <= 256);
  FUZZ_CHECK(c.max_connections >= 1 && c.max_connections <= 100000);
  FUZZ_CHECK(c.max_in_flight >= 1 && c.max_in_flight <= 65536);
  FUZZ_CHECK(c.idle_timeout_s >= 1 && c.idle_timeout_s <= 86400 * 7);
  FUZZ_CHECK(c.group_commit_max >= 1 && c.group_commit_max <= 100000);
  FUZZ_CHECK(c.max_hints >= 0 && c.max_hints <= 20);
  FUZZ_CHECK(c.max_predictions >= 0 && c.max_predictions <= 50);
  FUZZ_CHECK(c.socket_mode <= 0777u);
  FUZZ_CHECK(!c.log_level.empty() && !c.log_format.empty() && !c.default_locale.empty());

  if (c.data_dir.empty()) c.data_dir = "/tmp/regulars-fuzz";
  const auto finished = daemon::finish_config(c);
  if (const auto* err = std::get_if<wire::Error>(&finished)) {
    fuzz::check_error_answer(*err);
  } else {
    FUZZ_CHECK(!std::get<daemon::Config>(finished).socket_path.empty());
  }
  return 0;
}
