// Strict validation of events and hints requests: exact field paths, typed codes, card numbers.
#include "wire/validate.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace {

using nlohmann::json;
using regulars::wire::Error;
using regulars::wire::ErrorCode;
using regulars::wire::validate_customer;
using regulars::wire::validate_event;
using regulars::wire::validate_hints_request;

json purchase() {
  return json::parse(R"({
    "type": "purchase", "event_id": "ev-0001", "time": "2026-11-23T10:15:00Z",
    "store": "store-1", "terminal": "lane-1", "cashier": "c.07", "touchpoint": "checkout",
    "currency": "EUR",
    "customer": {"kind": "card", "value": "4000123"},
    "lines": [
      {"sku": "oat-milk", "name": "Oat milk", "qty": 1, "unit_price": 199},
      {"sku": "chips-sv", "name": "Salt & vinegar chips", "qty": 2, "unit_price": 149, "for": "son",
       "category": "snacks"}
    ]})");
}

json consent() {
  return json::parse(R"({
    "type": "consent", "event_id": "ev-0002", "time": "2026-11-23T13:45:00.250+03:30",
    "customer": {"kind": "phone", "value": "+98 912 123-4567"},
    "purposes": {"remember": true, "personalize": false}})");
}

json hints_request() {
  return json::parse(R"({
    "customer": {"kind": "card", "value": "4000123"},
    "basket": [{"sku": "bread"}, {"sku": "eggs", "name": "Eggs", "qty": 12}],
    "locale": "fa-IR", "max_hints": 5, "max_predictions": 10})");
}

// The error, or a failed test with a readable reason when validation passed.
Error expect_error(const std::optional<Error>& e, const json& input) {
  if (e) return *e;
  ADD_FAILURE() << "expected a validation error for " << input.dump();
  return Error{};
}

std::string describe(const std::optional<Error>& e) { return e ? e->describe() : std::string("(no error)"); }

TEST(ValidateEvent, PurchaseIsAccepted) {
  const json e = purchase();
  EXPECT_FALSE(validate_event(e).has_value()) << describe(validate_event(e));
}

TEST(ValidateEvent, MinimalPurchaseIsAccepted) {
  const json e = json::parse(R"({"type":"purchase","event_id":"e1","customer":{"kind":"app","value":"qr-77"},
                                 "lines":[{"sku":"bread"}]})");
  EXPECT_FALSE(validate_event(e).has_value()) << describe(validate_event(e));
}

TEST(ValidateEvent, ConsentIsAccepted) {
  const json e = consent();
  EXPECT_FALSE(validate_event(e).has_value()) << describe(validate_event(e));
}

struct FieldCase {
  const char* name;
  const char* patch;     // JSON Patch (RFC 6902) applied to purchase()
  const char* field;     // expected Error::field
  ErrorCode code;
};
// Names the case in test listings (ctest shows the parameter), instead of its bytes.
void PrintTo(const FieldCase& c, std::ostream* os) { *os << c.name; }

class PurchaseFieldErrors : public ::testing::TestWithParam<FieldCase> {};

TEST_P(PurchaseFieldErrors, NameTheExactField) {
  const FieldCase& c = GetParam();
  const json e = purchase().patch(json::parse(c.patch));
  const Error err = expect_error(validate_event(e), e);
  EXPECT_EQ(err.field, c.field) << err.describe();
  EXPECT_EQ(err.code, c.code) << err.describe();
  EXPECT_FALSE(err.message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    ValidateEvent, PurchaseFieldErrors,
    ::testing::Values(
        FieldCase{"missing_event_id", R"([{"op":"remove","path":"/event_id"}])", "event.event_id", ErrorCode::invalid_event},
        FieldCase{"event_id_number", R"([{"op":"replace","path":"/event_id","value":42}])", "event.event_id", ErrorCode::invalid_event},
        FieldCase{"event_id_space", R"([{"op":"replace","path":"/event_id","value":"ev 1"}])", "event.event_id", ErrorCode::invalid_event},
        FieldCase{"event_id_empty", R"([{"op":"replace","path":"/event_id","value":""}])", "event.event_id", ErrorCode::invalid_event},
        FieldCase{"missing_type", R"([{"op":"remove","path":"/type"}])", "event.type", ErrorCode::invalid_event},
        FieldCase{"type_number", R"([{"op":"replace","path":"/type","value":1}])", "event.type", ErrorCode::invalid_event},
        FieldCase{"missing_customer", R"([{"op":"remove","path":"/customer"}])", "event.customer", ErrorCode::invalid_event},
        FieldCase{"customer_string", R"([{"op":"replace","path":"/customer","value":"4000123"}])", "event.customer", ErrorCode::invalid_event},
        FieldCase{"customer_kind_unknown", R"([{"op":"replace","path":"/customer/kind","value":"passport"}])", "event.customer.kind", ErrorCode::invalid_event},
        FieldCase{"customer_value_number", R"([{"op":"replace","path":"/customer/value","value":4000123}])", "event.customer.value", ErrorCode::invalid_event},
        FieldCase{"customer_value_blank", R"([{"op":"replace","path":"/customer/value","value":"   "}])", "event.customer.value", ErrorCode::invalid_event},
        FieldCase{"customer_extra_key", R"([{"op":"add","path":"/customer/name","value":"Sara"}])", "event.customer.name", ErrorCode::invalid_event},
        FieldCase{"missing_lines", R"([{"op":"remove","path":"/lines"}])", "event.lines", ErrorCode::invalid_event},
        FieldCase{"empty_lines", R"([{"op":"replace","path":"/lines","value":[]}])", "event.lines", ErrorCode::invalid_event},
        FieldCase{"lines_object", R"([{"op":"replace","path":"/lines","value":{"sku":"x"}}])", "event.lines", ErrorCode::invalid_event},
        FieldCase{"line_not_object", R"([{"op":"replace","path":"/lines/1","value":"bread"}])", "event.lines[1]", ErrorCode::invalid_event},
        FieldCase{"line_missing_sku", R"([{"op":"remove","path":"/lines/1/sku"}])", "event.lines[1].sku", ErrorCode::invalid_event},
        FieldCase{"qty_string", R"([{"op":"replace","path":"/lines/0/qty","value":"1"}])", "event.lines[0].qty", ErrorCode::invalid_event},
        FieldCase{"qty_zero", R"([{"op":"replace","path":"/lines/0/qty","value":0}])", "event.lines[0].qty", ErrorCode::invalid_event},
        FieldCase{"qty_negative", R"([{"op":"replace","path":"/lines/1/qty","value":-2}])", "event.lines[1].qty", ErrorCode::invalid_event},
        FieldCase{"price_fraction", R"([{"op":"replace","path":"/lines/0/unit_price","value":1.99}])", "event.lines[0].unit_price", ErrorCode::invalid_event},
        FieldCase{"price_negative", R"([{"op":"replace","path":"/lines/0/unit_price","value":-1}])", "event.lines[0].unit_price", ErrorCode::invalid_event},
        FieldCase{"price_huge_unsigned", R"([{"op":"replace","path":"/lines/0/unit_price","value":18446744073709551615}])", "event.lines[0].unit_price", ErrorCode::invalid_event},
        FieldCase{"name_number", R"([{"op":"replace","path":"/lines/1/name","value":7}])", "event.lines[1].name", ErrorCode::invalid_event},
        FieldCase{"name_control_char", R"([{"op":"replace","path":"/lines/0/name","value":"Oat\nmilk"}])", "event.lines[0].name", ErrorCode::invalid_event},
        // A C1 control (here U+009B, CSI) drives terminals as ESC [ does: regularsctl prints names and notes as stored.
        FieldCase{"name_c1_control_char", R"([{"op":"replace","path":"/lines/0/name","value":"Oat\u009b2Jmilk"}])", "event.lines[0].name", ErrorCode::invalid_event},
        FieldCase{"time_garbage", R"([{"op":"replace","path":"/time","value":"yesterday"}])", "event.time", ErrorCode::invalid_event},
        FieldCase{"time_number", R"([{"op":"replace","path":"/time","value":1795428900000}])", "event.time", ErrorCode::invalid_event},
        FieldCase{"store_bad_chars", R"([{"op":"replace","path":"/store","value":"store 1"}])", "event.store", ErrorCode::invalid_event},
        FieldCase{"currency_lower", R"([{"op":"replace","path":"/currency","value":"eur"}])", "event.currency", ErrorCode::invalid_event},
        FieldCase{"unknown_field", R"([{"op":"add","path":"/colour","value":"red"}])", "event.colour", ErrorCode::invalid_event},
        FieldCase{"unknown_line_field", R"([{"op":"add","path":"/lines/0/discount","value":10}])", "event.lines[0].discount", ErrorCode::invalid_event},
        FieldCase{"consent_field_in_purchase", R"([{"op":"add","path":"/purposes","value":{"remember":true}}])", "event.purposes", ErrorCode::invalid_event},
        FieldCase{"card_number_in_name", R"([{"op":"replace","path":"/lines/0/name","value":"paid with 4111 1111 1111 1111"}])", "event.lines[0].name", ErrorCode::card_number_refused},
        FieldCase{"card_number_as_card", R"([{"op":"replace","path":"/customer/value","value":"4111111111111111"}])", "event.customer.value", ErrorCode::card_number_refused},
        FieldCase{"card_number_as_phone", R"([{"op":"replace","path":"/customer","value":{"kind":"phone","value":"4111-1111-1111-1111"}}])", "event.customer.value", ErrorCode::card_number_refused},
        FieldCase{"card_number_as_token", R"([{"op":"replace","path":"/customer","value":{"kind":"payment_token","value":"4111111111111111"}}])", "event.customer.value", ErrorCode::card_number_refused}),
    [](const ::testing::TestParamInfo<FieldCase>& p) { return std::string(p.param.name); });

TEST(ValidateEvent, UnknownTypeIsNamed) {
  json e = purchase();
  e["type"] = "refund";
  const Error err = expect_error(validate_event(e), e);
  EXPECT_EQ(err.code, ErrorCode::invalid_event);
  EXPECT_EQ(err.field, "event.type");
  EXPECT_NE(err.message.find("refund"), std::string::npos) << err.message;
}

TEST(ValidateEvent, NotAnObject) {
  for (const char* text : {"[]", "null", "\"purchase\"", "42"}) {
    const json e = json::parse(text);
    const Error err = expect_error(validate_event(e), e);
    EXPECT_EQ(err.code, ErrorCode::invalid_event);
    EXPECT_EQ(err.field, "event");
  }
}

TEST(ValidateEvent, PathPrefixIsTheCallersPath) {
  json e = purchase();
  e["lines"][0]["qty"] = "one";
  const Error err = expect_error(validate_event(e, "batch[3]"), e);
  EXPECT_EQ(err.field, "batch[3].lines[0].qty");
}

TEST(ValidateEvent, PaymentTokenWithOpaqueTokenIsAccepted) {
  json e = purchase();
  e["customer"] = {{"kind", "payment_token"}, {"value", "tok_1N3xYz2eZvKYlo2CrTq8bDxa"}};
  EXPECT_FALSE(validate_event(e).has_value()) << describe(validate_event(e));
}

TEST(ValidateEvent, ShortDigitRunsAreNotCardNumbers) {
  json e = purchase();
  e["lines"][0]["name"] = "Pack of 12, barcode 4006381333931";  // an EAN-13 that fails the Luhn check
  EXPECT_FALSE(validate_event(e).has_value()) << describe(validate_event(e));
}

TEST(ValidateEvent, ConsentFieldErrors) {
  {
    json e = consent();
    e["purposes"]["remember"] = "yes";
    const Error err = expect_error(validate_event(e), e);
    EXPECT_EQ(err.field, "event.purposes.remember");
    EXPECT_EQ(err.code, ErrorCode::invalid_event);
  }
  {
    json e = consent();
    e.erase("purposes");
    EXPECT_EQ(expect_error(validate_event(e), e).field, "event.purposes");
  }
  {
    json e = consent();
    e["purposes"] = json::object();
    EXPECT_EQ(expect_error(validate_event(e), e).field, "event.purposes");
  }
  {
    json e = consent();
    e["purposes"]["Marketing"] = true;
    EXPECT_EQ(expect_error(validate_event(e), e).field, "event.purposes.Marketing");
  }
  {
    json e = consent();
    e["lines"] = json::array({{{"sku", "x"}}});  // a purchase field in a consent event
    EXPECT_EQ(expect_error(validate_event(e), e).field, "event.lines");
  }
}

TEST(ValidateCustomer, UsesTheGivenPath) {
  const json c = {{"kind", "email"}, {"value", 5}};
  const Error err = expect_error(validate_customer(c, "x.customer"), c);
  EXPECT_EQ(err.field, "x.customer.value");
  EXPECT_FALSE(validate_customer({{"kind", "email"}, {"value", " Sara@Example.com "}}, "c").has_value());
}

TEST(ValidateHintsRequest, FullRequestIsAccepted) {
  const json r = hints_request();
  EXPECT_FALSE(validate_hints_request(r).has_value()) << describe(validate_hints_request(r));
}

TEST(ValidateHintsRequest, CustomerOnlyIsAccepted) {
  const json r = {{"customer", {{"kind", "email"}, {"value", "sara@example.com"}}}};
  EXPECT_FALSE(validate_hints_request(r).has_value()) << describe(validate_hints_request(r));
}

TEST(ValidateHintsRequest, BoundsAreInclusive) {
  json r = hints_request();
  r["max_hints"] = 20;
  r["max_predictions"] = 0;
  r["basket"] = json::array();
  EXPECT_FALSE(validate_hints_request(r).has_value()) << describe(validate_hints_request(r));
}

class HintsRequestFieldErrors : public ::testing::TestWithParam<FieldCase> {};

TEST_P(HintsRequestFieldErrors, NameTheExactField) {
  const FieldCase& c = GetParam();
  const json r = hints_request().patch(json::parse(c.patch));
  const Error err = expect_error(validate_hints_request(r), r);
  EXPECT_EQ(err.field, c.field) << err.describe();
  EXPECT_EQ(err.code, c.code) << err.describe();
}

INSTANTIATE_TEST_SUITE_P(
    ValidateHintsRequest, HintsRequestFieldErrors,
    ::testing::Values(
        FieldCase{"missing_customer", R"([{"op":"remove","path":"/customer"}])", "request.customer", ErrorCode::invalid_request},
        FieldCase{"customer_kind_wrong", R"([{"op":"replace","path":"/customer/kind","value":"name"}])", "request.customer.kind", ErrorCode::invalid_request},
        FieldCase{"customer_value_missing", R"([{"op":"remove","path":"/customer/value"}])", "request.customer.value", ErrorCode::invalid_request},
        FieldCase{"customer_card_number", R"([{"op":"replace","path":"/customer/value","value":"4111 1111 1111 1111"}])", "request.customer.value", ErrorCode::card_number_refused},
        FieldCase{"basket_object", R"([{"op":"replace","path":"/basket","value":{"sku":"bread"}}])", "request.basket", ErrorCode::invalid_request},
        FieldCase{"basket_item_string", R"([{"op":"replace","path":"/basket/0","value":"bread"}])", "request.basket[0]", ErrorCode::invalid_request},
        FieldCase{"basket_item_no_sku", R"([{"op":"remove","path":"/basket/1/sku"}])", "request.basket[1].sku", ErrorCode::invalid_request},
        FieldCase{"basket_sku_number", R"([{"op":"replace","path":"/basket/1/sku","value":12}])", "request.basket[1].sku", ErrorCode::invalid_request},
        FieldCase{"basket_item_extra", R"([{"op":"add","path":"/basket/0/price","value":1}])", "request.basket[0].price", ErrorCode::invalid_request},
        FieldCase{"locale_space", R"([{"op":"replace","path":"/locale","value":"en US"}])", "request.locale", ErrorCode::invalid_request},
        FieldCase{"locale_empty", R"([{"op":"replace","path":"/locale","value":""}])", "request.locale", ErrorCode::invalid_request},
        FieldCase{"max_hints_high", R"([{"op":"replace","path":"/max_hints","value":21}])", "request.max_hints", ErrorCode::invalid_request},
        FieldCase{"max_hints_negative", R"([{"op":"replace","path":"/max_hints","value":-1}])", "request.max_hints", ErrorCode::invalid_request},
        FieldCase{"max_predictions_string", R"([{"op":"replace","path":"/max_predictions","value":"5"}])", "request.max_predictions", ErrorCode::invalid_request},
        FieldCase{"unknown_field", R"([{"op":"add","path":"/op","value":"hints"}])", "request.op", ErrorCode::invalid_request}),
    [](const ::testing::TestParamInfo<FieldCase>& p) { return std::string(p.param.name); });

TEST(ValidateHintsRequest, NotAnObject) {
  const json r = json::array();
  const Error err = expect_error(validate_hints_request(r), r);
  EXPECT_EQ(err.field, "request");
  EXPECT_EQ(err.code, ErrorCode::invalid_request);
}

}  // namespace

namespace {
// EAN-13 barcodes are ordinary SKUs; about one in ten passes the Luhn check like a card number.
TEST(ValidateEvent, BarcodeSkusThatPassLuhnAreAccepted) {
  ASSERT_TRUE(regulars::wire::contains_card_number("5449000000996"));
  const auto event = nlohmann::json::parse(R"({"type":"purchase","event_id":"e1","customer":{"kind":"card","value":"4000123"},
    "lines":[{"sku":"5449000000996","name":"Cola 1.5 l"}]})");
  EXPECT_FALSE(regulars::wire::validate_event(event).has_value());
  const auto request = nlohmann::json::parse(R"({"customer":{"kind":"card","value":"4000123"},"basket":[{"sku":"5901234123457"}]})");
  EXPECT_FALSE(regulars::wire::validate_hints_request(request).has_value());
}
}  // namespace

namespace {

json feedback() {
  return json::parse(R"({"type": "feedback", "event_id": "fb-1", "customer": {"kind": "card", "value": "4000123"},
                          "nps": 3, "csat": 2, "reasons": ["slow_service"], "comment": "Waited too long",
                          "cashier": "c.07", "lane": "lane-1", "touchpoint": "till", "visit": "ev-0001"})");
}

std::optional<std::string> field_of(const json& ev) {
  const auto e = validate_event(ev);
  if (!e) return std::nullopt;
  return e->field;
}

TEST(ValidateFeedback, FullAnonymousAndDeclinedAreAccepted) {
  EXPECT_EQ(validate_event(feedback()), std::nullopt);
  json anonymous = feedback();
  anonymous.erase("customer");
  EXPECT_EQ(validate_event(anonymous), std::nullopt);
  EXPECT_EQ(validate_event(json::parse(R"({"type": "feedback", "event_id": "f", "declined": true,
                                           "customer": {"kind": "phone", "value": "+989120000000"}})")),
            std::nullopt);
}

TEST(ValidateFeedback, EachBadFieldIsNamed) {
  auto with = [](const char* key, json value) {
    json ev = feedback();
    ev[key] = std::move(value);
    return ev;
  };
  EXPECT_EQ(field_of(with("nps", 11)), "event.nps");
  EXPECT_EQ(field_of(with("nps", 2.5)), "event.nps");
  EXPECT_EQ(field_of(with("csat", 0)), "event.csat");
  EXPECT_EQ(field_of(with("csat", "5")), "event.csat");
  EXPECT_EQ(field_of(with("cashier", "ana smith!")), "event.cashier");
  EXPECT_EQ(field_of(with("reasons", json::array({"Slow"}))), "event.reasons[0]");
  EXPECT_EQ(field_of(with("comment", std::string(2001, 'x'))), "event.comment");
  EXPECT_EQ(field_of(with("declined", true)), "event.declined");  // a decline carries no scores
  json none = feedback();
  none.erase("nps");
  none.erase("csat");
  EXPECT_EQ(field_of(none), "event.nps");
  const auto card = validate_event(with("comment", "my card 4111 1111 1111 1111"));
  ASSERT_TRUE(card);
  EXPECT_EQ(card->code, ErrorCode::card_number_refused);
}

TEST(ValidateIdeaReview, StateIdeaAndNoCustomer) {
  EXPECT_EQ(validate_event(json::parse(R"({"type": "idea_review", "event_id": "r1", "idea": "s1", "state": "done", "by": "owner"})")),
            std::nullopt);
  EXPECT_EQ(field_of(json::parse(R"({"type": "idea_review", "event_id": "r1", "idea": "s1", "state": "resolved"})")), "event.state");
  EXPECT_EQ(field_of(json::parse(R"({"type": "idea_review", "event_id": "r1", "state": "seen"})")), "event.idea");
  EXPECT_EQ(field_of(json::parse(R"({"type": "idea_review", "event_id": "r1", "idea": "s1", "state": "seen", "note": "x"})")),
            "event.note");
  EXPECT_EQ(field_of(json::parse(R"({"type": "idea_review", "event_id": "r1", "idea": "s1", "state": "seen",
                                     "customer": {"kind": "card", "value": "1"}})")),
            "event.customer");
}

TEST(ValidateFollowupAndStaffIdea, RequiredFieldsAndNoCustomer) {
  EXPECT_EQ(validate_event(json::parse(R"({"type": "followup", "event_id": "u1", "feedback": "fb-1", "state": "resolved",
                                           "note": "called back", "by": "owner"})")),
            std::nullopt);
  EXPECT_EQ(field_of(json::parse(R"({"type": "followup", "event_id": "u1", "feedback": "fb-1", "state": "done"})")),
            "event.state");
  EXPECT_EQ(field_of(json::parse(R"({"type": "followup", "event_id": "u1", "state": "open"})")), "event.feedback");
  EXPECT_EQ(field_of(json::parse(R"({"type": "followup", "event_id": "u1", "feedback": "f", "state": "open",
                                     "customer": {"kind": "card", "value": "1"}})")),
            "event.customer");
  EXPECT_EQ(validate_event(json::parse(R"({"type": "staff_idea", "event_id": "s1", "cashier": "c.07", "kind": "problem",
                                           "text": "Lane 2 scanner is slow"})")),
            std::nullopt);
  EXPECT_EQ(field_of(json::parse(R"({"type": "staff_idea", "event_id": "s1", "text": "x"})")), "event.cashier");
  EXPECT_EQ(field_of(json::parse(R"({"type": "staff_idea", "event_id": "s1", "cashier": "c", "kind": "rant", "text": "x"})")),
            "event.kind");
  // Every other event still needs its customer.
  EXPECT_EQ(field_of(json::parse(R"({"type": "note", "event_id": "n1", "text": "hello"})")), "event.customer");
}

}  // namespace

namespace {

// Issue 19, item 8: every free-text field of every event refuses a card number in each of the
// forms that used to get through, and names the field it found it in.
struct TextField {
  const char* field;  // where validate_event reports it
  const char* event;  // the event, with @ where the text goes
};

const TextField kTextFields[] = {
    {"event.text", R"({"type":"note","event_id":"n1","customer":{"kind":"card","value":"4000123"},"text":@})"},
    {"event.value", R"({"type":"preference","event_id":"p1","customer":{"kind":"card","value":"4000123"},"key":"bag","value":@})"},
    {"event.for", R"({"type":"preference","event_id":"p1","customer":{"kind":"card","value":"4000123"},"key":"bag","value":"paper","for":@})"},
    {"event.name", R"({"type":"profile","event_id":"pr1","customer":{"kind":"card","value":"4000123"},"name":@})"},
    {"event.household[0].name", R"({"type":"profile","event_id":"pr1","customer":{"kind":"card","value":"4000123"},"household":[{"member":"son","name":@}]})"},
    {"event.household[0].member", R"({"type":"profile","event_id":"pr1","customer":{"kind":"card","value":"4000123"},"household":[{"member":@}]})"},
    {"event.do_not_mention[0]", R"({"type":"profile","event_id":"pr1","customer":{"kind":"card","value":"4000123"},"do_not_mention":[@]})"},
    {"event.lines[0].name", R"({"type":"purchase","event_id":"b1","customer":{"kind":"card","value":"4000123"},"lines":[{"sku":"x","name":@}]})"},
    {"event.lines[0].category", R"({"type":"purchase","event_id":"b1","customer":{"kind":"card","value":"4000123"},"lines":[{"sku":"x","category":@}]})"},
    {"event.lines[0].for", R"({"type":"return","event_id":"b1","customer":{"kind":"card","value":"4000123"},"lines":[{"sku":"x","for":@}]})"},
    {"event.comment", R"({"type":"feedback","event_id":"f1","nps":3,"comment":@})"},
    {"event.note", R"({"type":"followup","event_id":"u1","feedback":"f1","state":"contacted","note":@})"},
    {"event.text", R"({"type":"staff_idea","event_id":"s1","cashier":"c.07","text":@})"},
};

// The forms from the issue, as JSON strings.
const char* const kCardForms[] = {
    R"("ref 7 4111 1111 1111 1111")",
    R"("\u06f4\u06f1\u06f1\u06f1 \u06f1\u06f1\u06f1\u06f1 \u06f1\u06f1\u06f1\u06f1 \u06f1\u06f1\u06f1\u06f1")",
    R"("\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11")",
    R"("4111.1111.1111.1111")",
    R"("4111  1111  1111  1111")",
    R"("4111/1111/1111/1111")",
    R"("4111\u00a01111\u00a01111\u00a01111")",
};

TEST(ValidateEvent, EveryFreeTextFieldRefusesEveryFormOfACardNumber) {
  for (const auto& f : kTextFields) {
    for (const char* form : kCardForms) {
      std::string text = f.event;
      text.replace(text.find('@'), 1, form);
      const json event = json::parse(text);
      const auto err = validate_event(event);
      ASSERT_TRUE(err.has_value()) << "accepted: " << event.dump();
      EXPECT_EQ(err->code, ErrorCode::card_number_refused) << err->describe();
      EXPECT_EQ(err->field, f.field) << err->describe();
    }
    // The same field takes ordinary text.
    std::string text = f.event;
    text.replace(text.find('@'), 1, R"("back 12.05.2026, call 0912 345 6789")");
    EXPECT_FALSE(validate_event(json::parse(text)).has_value()) << describe(validate_event(json::parse(text)));
  }
}

// Feedback reason tags allow digits and dashes, so they are long enough to carry a card.
TEST(ValidateEvent, FeedbackReasonTagsRefuseACardNumber) {
  const json e = json::parse(R"({"type":"feedback","event_id":"f1","nps":3,"reasons":["slow","4111-1111-1111-1111"]})");
  const Error err = expect_error(validate_event(e), e);
  EXPECT_EQ(err.code, ErrorCode::card_number_refused);
  EXPECT_EQ(err.field, "event.reasons[1]");
}

}  // namespace
