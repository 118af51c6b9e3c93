#include "store/prepared_event.hpp"

#include "memory/projector.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon {

using nlohmann::json;

PreparedEvent prepare_event(json event, const IdentityKey& key) {
  // Taken by value: a caller done with its event moves it in, and the body is not copied.
  PreparedEvent p;
  p.event_id = event.at("event_id").get<std::string>();
  p.type = event.at("type").get<std::string>();
  if (const auto customer = event.find("customer"); customer != event.end()) {  // absent: anonymous
    p.id_kind = customer->at("kind").get<std::string>();
    p.id_hash = key.hash(p.id_kind, wire::normalize_identifier(p.id_kind, customer->at("value").get<std::string>()));
    event.erase(customer);  // the raw identifier never reaches the log
    if (!p.id_kind.empty()) event["customer_kind"] = p.id_kind;
  }
  const auto t = event.find("time");
  p.time_ms = t != event.end() ? wire::parse_time_ms(t->get<std::string>()).value_or(wire::now_ms()) : wire::now_ms();
  // Link and merge name a second identifier: the log keeps its keyed hash only.
  for (const char* field : {"identifier", "other"}) {
    const auto id = event.find(field);
    if (id == event.end()) continue;
    const std::string kind = id->at("kind").get<std::string>();
    const std::string hash = to_hex(key.hash(kind, wire::normalize_identifier(kind, id->at("value").get<std::string>())));
    *id = {{"kind", kind}, {"hash", hash}};
  }
  p.body = std::move(event);
  complete_prepared(p);
  return p;
}

void complete_prepared(PreparedEvent& p) {
  p.body_text = wire::dump_json(p.body);
  if (p.type == "purchase" || p.type == "return") {
    auto lines = std::make_shared<BasketLines>(basket_lines(p.body));
    p.value = p.type == "return" ? -lines->value : lines->value;
    p.lines = std::move(lines);
  }
}

}  // namespace regulars::daemon
