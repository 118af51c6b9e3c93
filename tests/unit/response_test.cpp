// The answer envelope both ends share (sdk/wire/response.hpp): what the daemon writes, the plugin
// takes apart without parsing the result, and anything else goes to the full parse.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "wire/json_text.hpp"
#include "wire/response.hpp"

namespace {

using nlohmann::json;
using regulars::wire::ok_response_text;
using regulars::wire::split_ok_response;

TEST(OkResponse, IsWhatSerialisingTheWholeResponseWrites) {
  // The daemon's other answers are dumped whole; both ways must give the plugin the same text.
  const json result = {{"customer", {{"known", true}}}, {"hints", json::array({"a", "b"})}};
  const json whole = {{"id", 42}, {"ok", true}, {"result", result}};
  EXPECT_EQ(ok_response_text("42", result.dump()), regulars::wire::dump_json(whole));
}

TEST(OkResponse, SplitsBackIntoTheIdAndTheResultsOwnBytes) {
  const std::string result = "{\"b\": 1, \"a\": [1,  2]}";  // spacing and key order a re-dump would change
  const std::string text = ok_response_text("18446744073709551615", result);  // the views below point into it
  const auto ok = split_ok_response(text);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->id, 18446744073709551615ULL);
  EXPECT_EQ(ok->result, result);
}

TEST(OkResponse, AnythingElseIsLeftToTheFullParse) {
  const char* others[] = {
      "{\"id\":1,\"ok\":false,\"error\":{\"code\":\"internal\"}}",  // an error
      "{\"id\": 1, \"ok\": true, \"result\": {}}",                    // spaced
      "{\"id\":\"a\",\"ok\":true,\"result\":{}}",                     // a string id
      "{\"id\":01,\"ok\":true,\"result\":{}}",                        // a leading zero
      "{\"id\":18446744073709551616,\"ok\":true,\"result\":{}}",      // past 64 bits
      "{\"id\":,\"ok\":true,\"result\":{}}",                          // no id
      "{\"id\":1,\"ok\":true,\"result\":}",                           // no result
      "{\"id\":1,\"ok\":true,\"result\":[]",                          // no closing brace
      "{\"id\":1,\"ok\":true}",
      "",
  };
  for (const char* text : others) EXPECT_FALSE(split_ok_response(text).has_value()) << text;
}

}  // namespace
