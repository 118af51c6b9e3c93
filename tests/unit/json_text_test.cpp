// Bounded JSON: the nesting-depth pre-scan, parse_json's typed errors, dump_json.
#include "wire/json_text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <variant>

namespace {

using nlohmann::json;
using regulars::wire::Error;
using regulars::wire::ErrorCode;
using regulars::wire::json_nesting_depth;
using regulars::wire::kDefaultMaxDepth;
using regulars::wire::parse_json;

// The error parse_json returned; fails the test when it returned a value.
Error error_of(const std::variant<json, Error>& r) {
  if (const auto* e = std::get_if<Error>(&r)) return *e;
  ADD_FAILURE() << "expected an error, got " << std::get<json>(r).dump();
  return Error{};
}

std::string nested_arrays(int depth) { return std::string(static_cast<std::size_t>(depth), '[') +
                                              std::string(static_cast<std::size_t>(depth), ']'); }

TEST(JsonNestingDepth, CountsArraysAndObjects) {
  EXPECT_EQ(json_nesting_depth("1", 32), 0);
  EXPECT_EQ(json_nesting_depth("\"text\"", 32), 0);
  EXPECT_EQ(json_nesting_depth("[]", 32), 1);
  EXPECT_EQ(json_nesting_depth(R"({"a":[{}],"b":{}})", 32), 3);
  EXPECT_EQ(json_nesting_depth("[[],[[]],[]]", 32), 3);
}

TEST(JsonNestingDepth, IgnoresBracketsInsideStrings) {
  EXPECT_EQ(json_nesting_depth(R"(["[[[[{{{{"])", 2), 1);
  EXPECT_EQ(json_nesting_depth(R"({"k[[[":"]]]{{{"})", 2), 1);
  // An escaped quote does not end the string, an escaped backslash does not escape the quote.
  EXPECT_EQ(json_nesting_depth(R"(["\"[[[[", 1])", 2), 1);
  EXPECT_EQ(json_nesting_depth(R"(["\\", [[1]]])", 8), 3);
}

TEST(JsonNestingDepth, StopsAsSoonAsTheLimitIsExceeded) {
  const std::string deep(100000, '[');
  EXPECT_GT(json_nesting_depth(deep, 32), 32);
  EXPECT_EQ(json_nesting_depth(nested_arrays(32), 32), 32);
}

TEST(ParseJson, ParsesAnObject) {
  const auto r = parse_json(R"({"op":"ping","id":7,"list":[1,2,{"x":null}]})");
  ASSERT_TRUE(std::holds_alternative<json>(r)) << std::get<Error>(r).message;
  const json& j = std::get<json>(r);
  EXPECT_EQ(j.at("op"), "ping");
  EXPECT_EQ(j.at("id"), 7);
  EXPECT_TRUE(j.at("list").at(2).at("x").is_null());
}

TEST(ParseJson, HundredThousandLevelsAreRefusedAsTooDeep) {
  const std::string open_only(100000, '[');
  const Error e1 = error_of(parse_json(open_only));
  EXPECT_EQ(e1.code, ErrorCode::too_deep);

  const Error e2 = error_of(parse_json(nested_arrays(100000)));
  EXPECT_EQ(e2.code, ErrorCode::too_deep);

  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1";
  objects += std::string(100000, '}');
  EXPECT_EQ(error_of(parse_json(objects)).code, ErrorCode::too_deep);
}

TEST(ParseJson, DepthLimitIsInclusive) {
  EXPECT_TRUE(std::holds_alternative<json>(parse_json(nested_arrays(kDefaultMaxDepth))));
  const Error e = error_of(parse_json(nested_arrays(kDefaultMaxDepth + 1)));
  EXPECT_EQ(e.code, ErrorCode::too_deep);
  EXPECT_NE(e.message.find(std::to_string(kDefaultMaxDepth)), std::string::npos) << e.message;
  // A caller-chosen limit.
  EXPECT_TRUE(std::holds_alternative<json>(parse_json("[[[1]]]", 3)));
  EXPECT_EQ(error_of(parse_json("[[[1]]]", 2)).code, ErrorCode::too_deep);
}

TEST(ParseJson, BracketsInsideStringsDoNotCountTowardsDepth) {
  const std::string text = R"({"name":")" + std::string(1000, '[') + std::string(1000, '{') + R"("})";
  const auto r = parse_json(text, 1);
  ASSERT_TRUE(std::holds_alternative<json>(r)) << std::get<Error>(r).message;
  EXPECT_EQ(std::get<json>(r).at("name").get<std::string>().size(), 2000u);
}

TEST(ParseJson, InvalidUtf8IsRefusedAsInvalidJson) {
  const char* bad[] = {
      "\"\xff\"",                     // never valid in UTF-8
      "{\"name\":\"caf\xe9\"}",       // Latin-1 é
      "\"\xc0\xaf\"",                 // overlong encoding of '/'
      "\"\xe2\x82\"",                 // truncated 3-byte sequence
      "\"\xed\xa0\x80\"",             // UTF-16 surrogate encoded in UTF-8
      "\"\\ud800\"",                  // lone surrogate escape
      "{\"k\xfe\":1}",                // bad byte in a key
  };
  for (const char* text : bad) {
    const Error e = error_of(parse_json(text));
    EXPECT_EQ(e.code, ErrorCode::invalid_json) << text;
  }
}

TEST(ParseJson, ValidUtf8IsKept) {
  // Persian and Arabic names, an emoji as an escaped surrogate pair.
  const auto r = parse_json(R"({"fa":"سلام","ar":"مرحبا","e":"\ud83d\ude00"})");
  ASSERT_TRUE(std::holds_alternative<json>(r)) << std::get<Error>(r).message;
  EXPECT_EQ(std::get<json>(r).at("fa"), "سلام");
  EXPECT_EQ(std::get<json>(r).at("e"), "\xf0\x9f\x98\x80");
}

TEST(ParseJson, SyntaxErrorsAreInvalidJsonWithAPosition) {
  for (const char* text : {"", "{", "nul", "{\"a\":1,}", "[1 2]", "{'a':1}", "\x01\x02\x03", "{} {}"}) {
    const Error e = error_of(parse_json(text));
    EXPECT_EQ(e.code, ErrorCode::invalid_json) << text;
    EXPECT_NE(e.message.find("not valid JSON"), std::string::npos) << e.message;
  }
}

TEST(ParseJson, NumberOverflowIsInvalidJsonNotAnException) {
  // nlohmann reports 1e400 as out_of_range (not parse_error); it must still be a typed error.
  for (const char* text : {"1e400", "[-1e999]", R"({"qty":1e309})"}) {
    std::variant<json, Error> r;
    ASSERT_NO_THROW(r = parse_json(text)) << text;
    EXPECT_EQ(error_of(r).code, ErrorCode::invalid_json) << text;
  }
}

TEST(DumpJson, ReplacesInvalidUtf8InsteadOfThrowing) {
  json j = {{"message", std::string("unknown op 'ab\xe2\x82")}};
  std::string text;
  ASSERT_NO_THROW(text = regulars::wire::dump_json(j));
  const auto back = parse_json(text);
  ASSERT_TRUE(std::holds_alternative<json>(back)) << text;
  EXPECT_EQ(std::get<json>(back).at("message"), "unknown op 'ab\xef\xbf\xbd");
}

}  // namespace
