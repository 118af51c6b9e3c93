// regularsd's config file: JSON with comments; errors name the key at fault.
#include "base/config.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <variant>

namespace {

using regulars::daemon::Config;
using regulars::daemon::finish_config;
using regulars::daemon::parse_config_text;
using regulars::wire::Error;

Config config_of(const std::variant<Config, Error>& r) {
  if (const auto* e = std::get_if<Error>(&r)) {
    ADD_FAILURE() << "unexpected config error: " << e->describe();
    return Config{};
  }
  return std::get<Config>(r);
}

Error error_of(const std::variant<Config, Error>& r) {
  if (const auto* e = std::get_if<Error>(&r)) return *e;
  ADD_FAILURE() << "expected a config error";
  return Error{};
}

TEST(ParseConfigText, FullFileWithComments) {
  const std::string text = R"(// regularsd example configuration
{
  // where the store lives
  "data_dir": "/var/lib/regulars",
  "io_threads": 4,            // one per core is plenty
  "io_spin_us": 0,            // sleep as soon as the requests stop
  "listen": {"socket": "/run/regulars/regularsd.sock", "socket_mode": "0600"},
  "limits": {
    "max_frame_bytes": 65536,
    "max_depth": 16,
    "max_connections": 64,
    "max_in_flight": 32,
    "idle_timeout_s": 120,
    "max_future_seconds": 900
  },
  /* block comments work too */
  "store": {"group_commit_max": 512, "checkpoint_pages": 2000},
  "log": {"level": "debug", "format": "text"},
  "hints": {"max_hints": 3, "max_predictions": 7, "default_locale": "fa", "currency": "IRR"},
  "privacy": {"personalize_requires_consent": false}
}
)";
  const Config c = config_of(parse_config_text(text, Config{}));
  EXPECT_EQ(c.data_dir, "/var/lib/regulars");
  EXPECT_EQ(c.io_threads, 4);
  EXPECT_EQ(c.io_spin_us, 0);
  EXPECT_EQ(Config{}.io_spin_us, 150);
  EXPECT_EQ(c.socket_path, "/run/regulars/regularsd.sock");
  EXPECT_EQ(c.socket_mode, 0600u);
  EXPECT_EQ(c.max_frame_bytes, 65536u);
  EXPECT_EQ(c.max_depth, 16);
  EXPECT_EQ(c.max_connections, 64);
  EXPECT_EQ(c.max_in_flight, 32);
  EXPECT_EQ(c.max_future_seconds, 900);
  EXPECT_EQ(c.idle_timeout_s, 120);
  EXPECT_EQ(c.group_commit_max, 512);
  EXPECT_EQ(c.checkpoint_pages, 2000);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.max_hints, 3);
  EXPECT_EQ(c.max_predictions, 7);
  EXPECT_EQ(c.default_locale, "fa");
  EXPECT_EQ(c.currency, "IRR");
  EXPECT_FALSE(c.personalize_requires_consent);
}

TEST(ParseConfigText, UnsetKeysKeepTheIncomingValues) {
  Config base;
  base.data_dir = "/from/flags";
  base.max_depth = 20;
  const Config c = config_of(parse_config_text(R"({"limits": {"max_connections": 10}} // tail)", base));
  EXPECT_EQ(c.data_dir, "/from/flags");
  EXPECT_EQ(c.max_depth, 20);
  EXPECT_EQ(c.max_connections, 10);
  EXPECT_EQ(c.max_frame_bytes, Config{}.max_frame_bytes);
  EXPECT_EQ(c.socket_mode, 0660u);
  const Config empty = config_of(parse_config_text("{}", base));
  EXPECT_EQ(empty.data_dir, "/from/flags");
}

TEST(ParseConfigText, UnknownKeysAreNamed) {
  const Error e1 = error_of(parse_config_text(R"({"limits": {"max_frame_byte": 4096}})", Config{}));
  EXPECT_EQ(e1.field, "limits.max_frame_byte");
  EXPECT_FALSE(e1.message.empty());
  EXPECT_EQ(error_of(parse_config_text(R"({"colour": "red"})", Config{})).field, "colour");
  EXPECT_EQ(error_of(parse_config_text(R"({"log": {"file": "/tmp/x"}})", Config{})).field, "log.file");
  EXPECT_EQ(error_of(parse_config_text(R"({"privacy": {"consent": true}})", Config{})).field, "privacy.consent");
}

struct ConfigCase {
  const char* name;
  const char* text;
  const char* field;
};
// Names the case in test listings (ctest shows the parameter), instead of its bytes.
void PrintTo(const ConfigCase& c, std::ostream* os) { *os << c.name; }

class ConfigWrongValues : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ConfigWrongValues, NameTheKey) {
  const Error e = error_of(parse_config_text(GetParam().text, Config{}));
  EXPECT_EQ(e.field, GetParam().field) << GetParam().text << " -> " << e.describe();
  EXPECT_FALSE(e.message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    ParseConfigText, ConfigWrongValues,
    ::testing::Values(
        ConfigCase{"io_threads_string", R"({"io_threads": "4"})", "io_threads"},
        ConfigCase{"io_threads_zero", R"({"io_threads": 0})", "io_threads"},
        ConfigCase{"io_spin_negative", R"({"io_spin_us": -1})", "io_spin_us"},
        ConfigCase{"io_spin_too_long", R"({"io_spin_us": 10001})", "io_spin_us"},
        ConfigCase{"io_threads_fraction", R"({"io_threads": 2.5})", "io_threads"},
        ConfigCase{"data_dir_number", R"({"data_dir": 7})", "data_dir"},
        ConfigCase{"data_dir_empty", R"({"data_dir": ""})", "data_dir"},
        ConfigCase{"limits_not_object", R"({"limits": 5})", "limits"},
        ConfigCase{"max_depth_low", R"({"limits": {"max_depth": 2}})", "limits.max_depth"},
        ConfigCase{"max_depth_high", R"({"limits": {"max_depth": 100000}})", "limits.max_depth"},
        ConfigCase{"max_frame_bytes_low", R"({"limits": {"max_frame_bytes": 100}})", "limits.max_frame_bytes"},
        ConfigCase{"max_frame_bytes_4g", R"({"limits": {"max_frame_bytes": 4294967296}})", "limits.max_frame_bytes"},
        ConfigCase{"max_frame_bytes_string", R"({"limits": {"max_frame_bytes": "1M"}})", "limits.max_frame_bytes"},
        ConfigCase{"socket_mode_number", R"({"listen": {"socket_mode": 660}})", "listen.socket_mode"},
        ConfigCase{"socket_mode_not_octal", R"({"listen": {"socket_mode": "0999"}})", "listen.socket_mode"},
        ConfigCase{"socket_mode_letters", R"({"listen": {"socket_mode": "rw"}})", "listen.socket_mode"},
        ConfigCase{"socket_array", R"({"listen": {"socket": ["a"]}})", "listen.socket"},
        ConfigCase{"group_commit_negative", R"({"store": {"group_commit_max": -1}})", "store.group_commit_max"},
        ConfigCase{"checkpoint_pages_small", R"({"store": {"checkpoint_pages": 10}})", "store.checkpoint_pages"},
        ConfigCase{"log_level_empty", R"({"log": {"level": ""}})", "log.level"},
        ConfigCase{"max_hints_high", R"({"hints": {"max_hints": 21}})", "hints.max_hints"},
        ConfigCase{"default_locale_null", R"({"hints": {"default_locale": null}})", "hints.default_locale"},
        ConfigCase{"currency_lower_case", R"({"hints": {"currency": "eur"}})", "hints.currency"},
        ConfigCase{"currency_symbol", R"({"hints": {"currency": "€"}})", "hints.currency"},
        ConfigCase{"consent_string", R"({"privacy": {"personalize_requires_consent": "yes"}})", "privacy.personalize_requires_consent"}),
    [](const ::testing::TestParamInfo<ConfigCase>& p) { return std::string(p.param.name); });

TEST(ParseConfigText, TopLevelMustBeAnObject) {
  const Error e = error_of(parse_config_text("[1, 2]", Config{}));
  EXPECT_EQ(e.field, "(top level)");
}

TEST(ParseConfigText, NotJsonIsAnErrorNotAnException) {
  for (const char* text : {"", "{", "data_dir = /var/lib", "{\"io_threads\": 4,}", "{\"a\": 1e999}",
                           "{\"io_threads\": 1e400}"}) {
    std::variant<Config, Error> r;
    ASSERT_NO_THROW(r = parse_config_text(text, Config{})) << text;
    const Error e = error_of(r);
    EXPECT_NE(e.message.find("not valid JSON"), std::string::npos) << text << " -> " << e.message;
  }
}

TEST(FinishConfig, DerivesTheSocketAndChecksValues) {
  Config c;
  c.data_dir = "/tmp/regulars-data";
  const Config done = config_of(finish_config(c));
  EXPECT_EQ(done.socket_path, "/tmp/regulars-data/regularsd.sock");

  EXPECT_EQ(error_of(finish_config(Config{})).field, "data_dir");
  Config bad_level = c;
  bad_level.log_level = "verbose";
  EXPECT_EQ(error_of(finish_config(bad_level)).field, "log.level");
  Config bad_format = c;
  bad_format.log_format = "xml";
  EXPECT_EQ(error_of(finish_config(bad_format)).field, "log.format");
  Config long_socket = c;
  long_socket.socket_path = "/" + std::string(120, 's');
  EXPECT_EQ(error_of(finish_config(long_socket)).field, "listen.socket");
}

}  // namespace

namespace {

// Issue 19, item 5: the connection-slot limits are settings, range-checked, with the defaults
// packaging/regularsd.conf documents.
TEST(ParseConfigText, ConnectionSlotLimits) {
  const Config defaults;
  EXPECT_EQ(defaults.max_connections_per_uid, 64);
  EXPECT_EQ(defaults.reserved_for_owner, 8);
  EXPECT_EQ(defaults.tls_handshake_timeout_s, 3);
  EXPECT_EQ(defaults.tls_max_unauthenticated, 32);
  EXPECT_EQ(defaults.tls_max_unauthenticated_per_address, 4);
  const Config c = config_of(parse_config_text(
      R"({"limits": {"max_connections_per_uid": 5, "reserved_for_owner": 2},
          "listen": {"tls": {"cert": "c.pem", "key": "k.pem", "max_unauthenticated": 9,
                             "max_unauthenticated_per_address": 3}}})",
      Config{}));
  EXPECT_EQ(c.max_connections_per_uid, 5);
  EXPECT_EQ(c.reserved_for_owner, 2);
  EXPECT_EQ(c.tls_max_unauthenticated, 9);
  EXPECT_EQ(c.tls_max_unauthenticated_per_address, 3);
  EXPECT_EQ(error_of(parse_config_text(R"({"limits": {"max_connections_per_uid": 0}})", Config{})).field,
            "limits.max_connections_per_uid");
  EXPECT_EQ(error_of(parse_config_text(R"({"limits": {"reserved_for_owner": -1}})", Config{})).field,
            "limits.reserved_for_owner");
  EXPECT_EQ(error_of(parse_config_text(
                R"({"listen": {"tls": {"cert": "c", "key": "k", "max_unauthenticated_per_address": "4"}}})", Config{}))
                .field,
            "listen.tls.max_unauthenticated_per_address");
}

}  // namespace

namespace {

TEST(ParseConfigText, AChainSectionNamesTheHubAndThisStore) {
  const Config c = config_of(parse_config_text(
      R"({"chain": {"hub": "host=hub.example dbname=regulars user=store_a", "store_id": "north-1", "ca_file": "/etc/regulars/hub-ca.pem", "poll_ms": 100}})",
      Config{}));
  EXPECT_EQ(c.chain_hub, "host=hub.example dbname=regulars user=store_a");
  EXPECT_EQ(c.chain_store_id, "north-1");
  EXPECT_EQ(c.chain_ca_file, "/etc/regulars/hub-ca.pem");
  EXPECT_EQ(c.chain_poll_ms, 100);
  EXPECT_TRUE(config_of(parse_config_text("{}", Config{})).chain_hub.empty()) << "no section, no chain";
}

TEST(ParseConfigText, ABadChainSectionNamesItsKey) {
  EXPECT_EQ(error_of(parse_config_text(R"({"chain": {"store_id": "a"}})", Config{})).field, "chain.hub");
  EXPECT_EQ(error_of(parse_config_text(R"({"chain": {"hub": "host=h"}})", Config{})).field, "chain.store_id");
  EXPECT_EQ(error_of(parse_config_text(R"({"chain": {"hub": "host=h", "store_id": "a b"}})", Config{})).field, "chain.store_id");
  EXPECT_EQ(error_of(parse_config_text(R"({"chain": {"hub": "host=h", "store_id": "a", "poll_ms": 1}})", Config{})).field,
            "chain.poll_ms");
  EXPECT_EQ(error_of(parse_config_text(R"({"chain": {"hub": "host=h", "store_id": "a", "tls": true}})", Config{})).field,
            "chain.tls");
}

}  // namespace
