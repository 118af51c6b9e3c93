#include "till.hpp"

#include "labels.hpp"

#include <functional>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

namespace till {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

// ---- time: RFC 3339 in and out, without the library's internals --------------------------------

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "YYYY-MM-DD" → days since 1970-01-01.
std::optional<std::int64_t> parse_date(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, m) || s[7] != '-' ||
      !digits(s, 8, 2, d) || m < 1 || m > 12 || d < 1 || d > 31)
    return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

// "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" → Unix milliseconds.
std::optional<std::int64_t> parse_time(std::string_view s) {
  const auto days = parse_date(s);
  int hh = 0, mm = 0, ss = 0;
  if (!days || s.size() < 20 || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hh) || s[13] != ':' ||
      !digits(s, 14, 2, mm) || s[16] != ':' || !digits(s, 17, 2, ss) || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (s[pos] == '.') {
    int scale = 100;
    const std::size_t start = ++pos;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) millis += (s[pos] - '0') * scale;
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
    // UTC
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + 4, 2, om)) return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  return (*days * 86400 + hh * 3600 + mm * 60 + std::min(ss, 59) - offset_min * 60) * 1000 + millis;
}

std::string format_time(std::int64_t ms) {
  const std::int64_t day = (ms >= 0 ? ms : ms - kDayMs + 1) / kDayMs;
  const std::int64_t rest = (ms - day * kDayMs) / 1000;
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(day, y, m, d);
  const auto secs = static_cast<unsigned>(rest);  // 0 .. 86399
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
  return buf;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- small text helpers -------------------------------------------------------------------------

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::string join(const std::vector<std::string>& words, std::size_t from, std::string_view sep = " ") {
  std::string out;
  for (std::size_t i = from; i < words.size(); ++i) {
    if (i > from) out += sep;
    out += words[i];
  }
  return out;
}

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 15) return false;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool parse_qty(std::string_view s, double& out) {
  if (s.empty() || s.size() > 12) return false;
  bool dot = false, any = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      any = true;
    } else {
      return false;
    }
  }
  if (!any) return false;
  out = std::stod(std::string(s));
  return true;
}

std::string money(std::int64_t minor) {
  const bool negative = minor < 0;
  const std::int64_t a = negative ? -minor : minor;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", negative ? "-" : "", static_cast<long long>(a / 100),
                static_cast<long long>(a % 100));
  return buf;
}

std::string qty_text(double q) {
  char buf[32];
  if (q == std::floor(q))
    std::snprintf(buf, sizeof buf, "%.0f", q);
  else
    std::snprintf(buf, sizeof buf, "%g", q);
  return buf;
}

std::string micros(long long us) { return std::to_string(us) + " µs"; }

std::string score_text(double s, Lang lang = Lang::en) { return decimal(lang, s, 2); }

// A ten-cell bar with eighth-block precision.
std::string bar(double score) {
  static const char* const kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  const double cells = std::clamp(score, 0.0, 1.0) * 10.0;
  const int full = static_cast<int>(cells);
  const int eighth = static_cast<int>(std::lround((cells - full) * 8.0));
  std::string out = repeat("█", full);
  int used = full;
  if (eighth == 8) {
    out += "█";
    ++used;
  } else if (eighth > 0) {
    out += kEighths[eighth];
    ++used;
  }
  return out + std::string(static_cast<std::size_t>(std::max(0, 10 - used)), ' ');
}

std::string mask(const std::string& kind, const std::string& value) {
  if (kind == "email") {
    const auto at = value.find('@');
    if (at != std::string::npos && at > 0) return value.substr(0, 1) + "•••" + value.substr(at);
  }
  if (value.size() <= 4) return value;
  return "••••" + value.substr(value.size() - 4);
}

std::string str(const json& j, const char* key, std::string fallback = {}) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

double num(const json& j, const char* key, double fallback = 0) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

bool flag(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

const json& member(const json& j, const char* key) {
  static const json empty = json::object();
  const auto it = j.find(key);
  return it != j.end() ? *it : empty;
}

// "consent remember ✓ personalize ✗", or "consent not asked yet"; in the panel's language.
std::string consent_text(const json& consent, Lang lang) {
  std::string out;
  for (const auto& [purpose, name] : {std::pair{"remember", Label::remember}, std::pair{"personalize", Label::personalize}}) {
    const auto it = consent.find(purpose);
    if (it == consent.end() || !it->is_boolean()) continue;
    out += " " + label(lang, name) + (it->get<bool>() ? " ✓" : " ✗");
  }
  return out.empty() ? label(lang, Label::consent_not_asked) : label(lang, Label::consent) + out;
}

std::pair<std::string_view, std::string_view> hint_look(const std::string& kind) {
  if (kind == "greeting") return {"★ ", tone::bold_green};
  if (kind == "usual_items") return {"↺ ", tone::bold_cyan};
  if (kind == "gesture" || kind == "household" || kind == "offer") return {"♥ ", tone::bold_magenta};
  if (kind == "recovery" || kind == "complaint" || kind == "apology") return {"! ", tone::bold_yellow};
  if (kind == "preference" || kind == "note") return {"✎ ", tone::bold};
  return {"• ", tone::bold};
}

// An `offer` hint repeats an offer's text: the panel shows it with the offers, numbered.
bool is_offer_hint(const json& answer, const json& hint) {
  if (str(hint, "kind") != "offer") return false;
  for (const auto& o : member(answer, "offers"))
    if (o.is_object() && str(o, "text") == str(hint, "text")) return true;
  return false;
}

bool no_hints_now(regulars_status s) { return s == REGULARS_UNAVAILABLE || s == REGULARS_TIMEOUT; }

// ---- options of a command: --name VALUE or --name=VALUE, anywhere after the verb ---------------

struct Option {
  std::string name, value;
  std::size_t after = 0;  // how many plain words came before it
};

// Splits `args` into plain words and the options named in `known`. Returns an error message, or
// an empty string.
std::string split_options(const std::vector<std::string>& args, const std::vector<std::string>& known,
                          std::vector<std::string>& words, std::vector<Option>& options) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() <= 2 || a.rfind("--", 0) != 0) {
      words.push_back(a);
      continue;
    }
    Option o;
    o.after = words.size();
    bool has_value = false;
    if (const auto eq = a.find('='); eq != std::string::npos) {
      o.name = a.substr(2, eq - 2);
      o.value = a.substr(eq + 1);
      has_value = true;
    } else {
      o.name = a.substr(2);
    }
    if (std::find(known.begin(), known.end(), o.name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "--" : ", --") + k;
      return "unknown option --" + o.name + " (known: " + list + ")";
    }
    if (!has_value && i + 1 < args.size()) o.value = args[++i];
    if (o.value.empty()) return "option --" + o.name + " needs a value";
    options.push_back(std::move(o));
  }
  return {};
}

// ---- offers ---------------------------------------------------------------------------------------

// What an offer gives, in a few words: "Salt & vinegar crisps for son", else its text.
std::string offer_what(const json& o) {
  const std::string item = str(o, "item"), who = str(o, "member");
  if (item.empty()) return str(o, "text", str(o, "offer_id"));
  return item + (who.empty() ? "" : " for " + who);
}

std::string offer_id_of(const json& o) { return o.is_object() ? str(o, "offer_id") : std::string(); }

}  // namespace

// ---- the lane ------------------------------------------------------------------------------------

Till::Till(const Plugin& plugin, const Style& style, Settings settings, int width)
    : plugin_(plugin), style_(style), settings_(std::move(settings)), width_(width) {}

Till::~Till() { close(); }

void Till::say(const std::string& text) const {
  if (!settings_.quiet) std::cout << text << '\n';
}

Till::Result Till::fail(std::string message) {
  error_ = std::move(message);
  return Result::error;
}

bool Till::open() {
  json options = {{"endpoint", settings_.endpoint}, {"budget_ms", settings_.budget_ms}};
  if (!settings_.spool.empty()) options["spool_dir"] = settings_.spool;
  if (!settings_.terminal.empty()) options["terminal"] = settings_.terminal;
  if (!settings_.cashier.empty()) options["cashier"] = settings_.cashier;
  if (!settings_.store.empty()) options["store"] = settings_.store;
  const auto t0 = Clock::now();
  const regulars_status s = plugin_.open(options.dump().c_str(), &client_);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  if (s != REGULARS_OK) {
    error_ = "regulars_open: " + plugin_.describe(s);
    client_ = nullptr;
    return false;
  }
  if (!settings_.quiet) {
    const std::string version = plugin_.version();
    std::cout << style_(tone::bold, "regulars-till") << style_(tone::dim, " — checkout simulator · ")
              << style_(tone::bold, settings_.terminal) << style_(tone::dim, " · plugin ") << version
              << style_(tone::dim, " (" + plugin_.path() + ")") << '\n';
    std::cout << style_(tone::dim, "  " + settings_.endpoint + " · budget " + std::to_string(settings_.budget_ms) +
                                       " ms · spool " + (settings_.spool.empty() ? "none" : settings_.spool) +
                                       " · regulars_open " + micros(us))
              << '\n';
    if (version.rfind(std::to_string(REGULARS_VERSION_MAJOR) + ".", 0) != 0)
      std::cout << style_(tone::yellow, "  warning: plugin " + version + " is not major version " +
                                            std::to_string(REGULARS_VERSION_MAJOR) + " of the header this till was built with")
                << '\n';
  }
  return true;
}

void Till::close() {
  if (client_ == nullptr) return;
  plugin_.close(client_);
  client_ = nullptr;
}

std::string Till::summary() const {
  const int events = consents_ + purchases_ + outcomes_ + feedback_ + ideas_;
  return "recorded " + std::to_string(events) + (events == 1 ? " event" : " events") + " for " +
         std::to_string(customers_.size()) + (customers_.size() == 1 ? " customer" : " customers") + " (" +
         std::to_string(consents_) + " consent, " + std::to_string(purchases_) +
         (purchases_ == 1 ? " purchase" : " purchases") +
         (outcomes_ == 0 ? std::string() : ", " + std::to_string(outcomes_) + (outcomes_ == 1 ? " offer outcome" : " offer outcomes")) +
         (feedback_ == 0 ? std::string() : ", " + std::to_string(feedback_) + " feedback") +
         (ideas_ == 0 ? std::string() : ", " + std::to_string(ideas_) + (ideas_ == 1 ? " staff idea" : " staff ideas")) +
         "; " + std::to_string(spooled_) + " spooled)";
}

std::string Till::customer_label() const {
  return customer_ ? customer_->kind + " " + mask(customer_->kind, customer_->value) : std::string("no customer");
}

std::int64_t Till::basket_total() const {
  double total = 0;
  for (const auto& l : basket_) total += l.qty * static_cast<double>(l.unit_price);
  return static_cast<std::int64_t>(std::llround(total));
}

Till::Result Till::execute(std::string_view command) {
  error_.clear();
  const auto words = split_words(command);
  if (words.empty()) return Result::ok;
  const std::string& verb = words[0];
  const std::vector<std::string> args(words.begin() + 1, words.end());
  try {
    if (verb == "customer") return cmd_customer(args);
    if (verb == "consent") return cmd_consent(args);
    if (verb == "scan") return cmd_scan(args);
    if (verb == "for") return cmd_for(args);
    if (verb == "pay") return cmd_pay();
    if (verb == "accept") return cmd_offer("accepted", args);
    if (verb == "decline") return cmd_offer("declined", args);
    if (verb == "redeem") return cmd_offer("redeemed", args);
    if (verb == "feedback") return cmd_feedback(args);
    if (verb == "idea") return cmd_idea(args);
    if (verb == "hints") return cmd_hints();
    if (verb == "time") return cmd_time(args);
    if (verb == "today") return cmd_today(args);
    if (verb == "item") return cmd_item(args);
    if (verb == "sleep") return cmd_sleep(args);
    if (verb == "cancel") return cmd_cancel();
    if (verb == "help" || verb == "?") return cmd_help();
    if (verb == "quit" || verb == "exit") return Result::quit;
  } catch (const std::exception& e) {
    return fail(verb + ": " + e.what());
  }
  return fail("unknown command '" + verb + "' (try: help)");
}

Till::Result Till::cmd_help() {
  std::cout << R"(commands (one per line; ';' separates commands; '#' starts a comment):
  customer KIND VALUE                identify the customer and show the hints
                                     (KIND: card, phone, email, app, payment_token)
  consent [PURPOSE|no-PURPOSE]...    record consent (default: remember personalize)
  scan SKU [QTY] [PRICE] [NAME...]   add a line (PRICE in minor units); hints follow the basket
  scan SKU SKU...                    scan several items from the price list
       options: --for MEMBER         the line is for a household member (e.g. --for son)
                --category CAT       the line's category (e.g. --category chips)
                                     (with several SKUs, options describe the SKU before them)
  for MEMBER                         the next line is for a household member (e.g. son)
  accept [N]                         the customer takes offer N of the last panel (default 1)
  decline [N]                        the customer says no to offer N
  redeem [N]                         offer N was given (the free item handed over, ...)
  pay                                record the purchase, show the total, end the visit
  feedback --nps N --csat N [--reason TAG]... [--touchpoint T] [COMMENT...]
                                     the customer's rating (NPS 0-10 and/or CSAT 1-5), for
                                     the current customer or the one who just paid, else
                                     anonymous; 'feedback declined': asked, did not answer
  idea [--kind problem] TEXT...      the cashier's idea (or a problem) for the owner
  hints                              show the hints now
  cancel                             drop the basket and the customer, record nothing
  item SKU PRICE NAME... [--category CAT]
                                     add an item to the till's price list
  time RFC3339 | time now            time stamped on the following events (seeding history)
  today YYYY-MM-DD                   the date a script was written for: its times move along
  sleep MS                           pause
  quit
)";
  return Result::ok;
}

// ---- commands -------------------------------------------------------------------------------------

// Asks for hints for the current customer and shows them with `show` (the full panel, or what
// changed after a scan), or says why there are none now.
Till::Result Till::show_hints_now(const std::function<void(const HintsCall&)>& show) {
  const HintsCall call = ask_hints();
  if (call.status == REGULARS_OK) {
    show(call);
    last_answer_ = call.answer;
    return Result::ok;
  }
  if (no_hints_now(call.status)) {
    show_unavailable(call);
    return Result::ok;
  }
  return fail("regulars_hints: " + call.detail);
}

Till::Result Till::cmd_customer(const std::vector<std::string>& args) {
  if (args.size() < 2) return fail("usage: customer KIND VALUE   (KIND: card, phone, email, app, payment_token)");
  customer_ = Customer{args[0], join(args, 1)};
  just_paid_.reset();
  last_answer_.reset();
  const Result r = show_hints_now([this](const HintsCall& call) { show_panel(call); });
  if (r != Result::ok) customer_.reset();
  return r;
}

Till::Result Till::cmd_consent(const std::vector<std::string>& args) {
  if (!customer_) return fail("consent: no customer yet (use: customer KIND VALUE)");
  json purposes = json::object();
  std::string listed;
  const std::vector<std::string> given = args.empty() ? std::vector<std::string>{"remember", "personalize"} : args;
  for (const auto& a : given) {
    const bool no = a.rfind("no-", 0) == 0 || a.rfind('!', 0) == 0;
    const std::string purpose = no ? a.substr(a[0] == '!' ? 1 : 3) : a;
    purposes[purpose] = !no;
    listed += (listed.empty() ? "" : ", ") + (no ? "no " + purpose : purpose);
  }
  json event = {{"type", "consent"},
                {"customer", {{"kind", customer_->kind}, {"value", customer_->value}}},
                {"purposes", purposes}};
  if (!record(std::move(event), "consent (" + listed + ")")) return Result::error;
  ++consents_;
  return Result::ok;
}

Till::Result Till::cmd_item(const std::vector<std::string>& all) {
  std::vector<std::string> args;
  std::vector<Option> options;
  if (auto e = split_options(all, {"category"}, args, options); !e.empty()) return fail("item: " + e);
  std::int64_t price = 0;
  if (args.size() < 3 || !parse_int(args[1], price))
    return fail("usage: item SKU PRICE_MINOR NAME... [--category CATEGORY]");
  catalogue_[args[0]] = Item{join(args, 2), price, options.empty() ? std::string() : options.back().value};
  return Result::ok;
}

Till::Result Till::cmd_scan(const std::vector<std::string>& all) {
  std::vector<std::string> args;
  std::vector<Option> options;
  if (auto e = split_options(all, {"for", "category"}, args, options); !e.empty()) return fail("scan: " + e);
  if (args.empty()) return fail("usage: scan SKU [QTY] [PRICE_MINOR] [NAME...] [--for MEMBER] [--category CATEGORY]");
  std::vector<Line> lines;
  const bool several = args.size() >= 2 && std::all_of(args.begin(), args.end(), [this](const std::string& a) {
                         return catalogue_.count(a) != 0;
                       });
  auto known_name = [this](const std::string& sku) -> std::string {
    if (auto it = catalogue_.find(sku); it != catalogue_.end()) return it->second.name;
    if (last_answer_)  // the daemon remembers names of items it has seen
      for (const auto& p : member(*last_answer_, "predictions"))
        if (str(p, "sku") == sku && !str(p, "name").empty()) return str(p, "name");
    return sku;
  };
  if (several) {
    for (const auto& sku : args) {
      const Item& item = catalogue_[sku];
      lines.push_back(Line{sku, item.name, {}, item.category, 1, item.unit_price});
    }
  } else {
    Line l;
    l.sku = args[0];
    std::size_t i = 1;
    if (i < args.size() && parse_qty(args[i], l.qty)) ++i;
    if (!(l.qty > 0) || l.qty > 100000) return fail("scan: QTY must be more than 0 and at most 100000");
    bool priced = false;
    if (i < args.size() && parse_int(args[i], l.unit_price)) {
      ++i;
      priced = true;
    }
    l.name = i < args.size() ? join(args, i) : known_name(l.sku);
    if (auto it = catalogue_.find(l.sku); it != catalogue_.end()) {
      if (!priced) l.unit_price = it->second.unit_price;
      l.category = it->second.category;
    }
    lines.push_back(std::move(l));
  }
  // An option describes the line of the SKU before it (with one line: that line, wherever it is).
  for (const auto& o : options) {
    Line& l = lines[std::min(lines.size(), std::max<std::size_t>(o.after, 1)) - 1];
    (o.name == "for" ? l.for_member : l.category) = o.value;
  }
  if (!pending_for_.empty()) {
    if (lines.front().for_member.empty()) lines.front().for_member = pending_for_;
    pending_for_.clear();
  }
  std::vector<std::string> scanned;
  for (auto& l : lines) {
    const std::int64_t amount = static_cast<std::int64_t>(std::llround(l.qty * static_cast<double>(l.unit_price)));
    say("  " + style_(tone::green, "+ ") + pad_right(l.name, 30) + pad_left(qty_text(l.qty), 4) + " × " +
        pad_left(money(l.unit_price), 7) + "  " + pad_left(money(amount), 8) +
        (l.for_member.empty() ? std::string() : style_(tone::magenta, "   for " + l.for_member)) +
        (l.category.empty() ? std::string() : style_(tone::dim, "   [" + l.category + "]")));
    scanned.push_back(l.sku);
    basket_.push_back(std::move(l));
  }
  say(style_(tone::dim, "    basket: " + std::to_string(basket_.size()) + (basket_.size() == 1 ? " line" : " lines") +
                            ", " + money(basket_total())));
  if (!customer_) return Result::ok;
  return show_hints_now([&](const HintsCall& call) { show_changes(call, scanned); });
}

Till::Result Till::cmd_for(const std::vector<std::string>& args) {
  if (args.empty()) return fail("usage: for MEMBER   (e.g. for son)");
  pending_for_ = join(args, 0);
  say(style_(tone::dim, "    next line is for: ") + style_(tone::magenta, pending_for_));
  return Result::ok;
}

const json& Till::last_offers() const {
  static const json none = json::array();
  if (!last_answer_) return none;
  const json& offers = member(*last_answer_, "offers");
  return offers.is_array() ? offers : none;
}

Till::Result Till::cmd_offer(const std::string& outcome, const std::vector<std::string>& args) {
  const std::string verb = outcome == "accepted" ? "accept" : outcome == "declined" ? "decline" : "redeem";
  std::int64_t n = 1;
  if (args.size() > 1 || (args.size() == 1 && (!parse_int(args[0], n) || n < 1)))
    return fail("usage: " + verb + " [N]   (N: the offer's number in the last hints panel, default 1)");
  if (!customer_) return fail(verb + ": no offer to answer — no customer yet (use: customer KIND VALUE)");
  const json& offers = last_offers();
  if (offers.empty()) return fail(verb + ": no offer to answer — the last hints for this customer had none");
  if (n > static_cast<std::int64_t>(offers.size()))
    return fail(verb + ": there is no offer " + std::to_string(n) + " — the last hints panel showed " +
                std::to_string(offers.size()) + (offers.size() == 1 ? " offer" : " offers"));
  const json& offer = offers[static_cast<std::size_t>(n - 1)];
  const std::string id = offer_id_of(offer);
  if (id.empty()) return fail(verb + ": offer " + std::to_string(n) + " has no offer_id to answer");
  if (str(offer, "status") == outcome) return fail(verb + ": offer " + std::to_string(n) + " is already " + outcome);
  const std::string what = "offer " + std::to_string(n) + " " + outcome + ": " + offer_what(offer);
  const json event = {{"type", "offer_outcome"}, {"offer_id", id}, {"outcome", outcome}};
  if (!record(event, what, "")) return Result::error;
  ++outcomes_;
  // The daemon answers this visit's next hints with the new status; until then, remember it here.
  if (last_answer_ && last_answer_->contains("offers"))
    (*last_answer_)["offers"][static_cast<std::size_t>(n - 1)]["status"] = outcome;
  return Result::ok;
}

// The daemon checks every field again (sdk/PROTOCOL.md, `feedback`); the checks here only give
// the cashier a plain message before anything is sent.
Till::Result Till::cmd_feedback(const std::vector<std::string>& all) {
  static const std::string usage =
      "usage: feedback --nps 0-10 --csat 1-5 [--reason TAG]... [--touchpoint T] [COMMENT...]   (or: feedback declined)";
  std::vector<std::string> words;
  std::vector<Option> options;
  if (auto e = split_options(all, {"nps", "csat", "reason", "touchpoint"}, words, options); !e.empty())
    return fail("feedback: " + e);
  json event = {{"type", "feedback"}, {"touchpoint", "till"}};
  const bool declined = words.size() == 1 && words[0] == "declined";
  for (const auto& o : options) {
    if (o.name == "touchpoint") {
      event["touchpoint"] = o.value;
    } else if (declined) {
      return fail("feedback declined: a customer who did not answer gives no --" + o.name);
    } else if (o.name == "reason") {
      event["reasons"].push_back(o.value);
    } else {
      const std::int64_t low = o.name == "nps" ? 0 : 1, high = o.name == "nps" ? 10 : 5;
      std::int64_t score = 0;
      if (!parse_int(o.value, score) || score < low || score > high)
        return fail("feedback: --" + o.name + " must be a whole number from " + std::to_string(low) + " to " +
                    std::to_string(high) + ", not '" + o.value + "'");
      event[o.name] = score;
    }
  }
  std::string scores;
  if (declined) {
    event["declined"] = true;
    scores = "declined";
  } else {
    if (!event.contains("nps") && !event.contains("csat")) return fail(usage);
    if (event.contains("nps")) scores = "NPS " + std::to_string(event["nps"].get<std::int64_t>());
    if (event.contains("csat"))
      scores += (scores.empty() ? "" : ", ") + std::string("CSAT ") + std::to_string(event["csat"].get<std::int64_t>());
    if (!words.empty()) event["comment"] = join(words, 0);
  }
  // Lane and cashier are the plugin's (its terminal and cashier options), as on every event.
  const std::optional<Customer>& who = customer_ ? customer_ : just_paid_;
  if (who) event["customer"] = {{"kind", who->kind}, {"value", who->value}};
  const std::string from = who ? who->kind + " " + mask(who->kind, who->value) : "anonymous";
  if (!record(std::move(event), "feedback (" + scores + ", " + from + ")")) return Result::error;
  ++feedback_;
  return Result::ok;
}

Till::Result Till::cmd_idea(const std::vector<std::string>& all) {
  std::vector<std::string> words;
  std::vector<Option> options;
  if (auto e = split_options(all, {"kind"}, words, options); !e.empty()) return fail("idea: " + e);
  const std::string kind = options.empty() ? "idea" : options.back().value;
  if (words.empty() || (kind != "idea" && kind != "problem"))
    return fail("usage: idea [--kind idea|problem] TEXT...");
  // The daemon refuses a staff idea that names no cashier; the plugin stamps the till's.
  if (settings_.cashier.empty())
    return fail("idea: a staff idea names the cashier who had it: start the till with --cashier NAME");
  const json event = {{"type", "staff_idea"}, {"kind", kind}, {"text", join(words, 0)}};
  if (!record(event, kind == "idea" ? "staff idea" : "problem report")) return Result::error;
  ++ideas_;
  return Result::ok;
}

Till::Result Till::cmd_hints() {
  if (!customer_) return fail("hints: no customer yet (use: customer KIND VALUE)");
  return show_hints_now([this](const HintsCall& call) { show_panel(call); });
}

Till::Result Till::cmd_pay() {
  if (basket_.empty()) {
    say(style_(tone::yellow, "  nothing scanned — nothing to pay"));
    return Result::ok;
  }
  if (last_answer_) {
    const auto missing = usual_missing(*last_answer_);
    if (!missing.empty()) {
      std::string names;
      for (const auto* p : missing) names += (names.empty() ? "" : ", ") + str(*p, "name", str(*p, "sku"));
      say("  " + style_(tone::bold_yellow, "! usual, not in today's basket: " + names));
    }
    int n = 0;
    for (const auto& o : last_offers()) {
      ++n;
      if (str(o, "status", "offered") == "offered")
        say("  " + style_(tone::bold_magenta, "♥ offer " + std::to_string(n) + " not answered yet: ") + str(o, "text") +
            style_(tone::dim, "  (accept " + std::to_string(n) + " / decline " + std::to_string(n) + ")"));
    }
  }
  Panel receipt(style_, std::min(width_, 64));
  receipt.title("Receipt", settings_.terminal + " · " + customer_label());
  for (const auto& l : basket_) {
    const std::int64_t amount = static_cast<std::int64_t>(std::llround(l.qty * static_cast<double>(l.unit_price)));
    const int name_w = receipt.inner_width() - 24;
    receipt.row({{pad_right(l.name + (l.for_member.empty() ? "" : " (for " + l.for_member + ")"), name_w), tone::plain},
                 {pad_left(qty_text(l.qty), 4) + " × " + pad_left(money(l.unit_price), 7), tone::dim},
                 {pad_left(money(amount), 10), tone::plain}});
  }
  receipt.separator("");
  receipt.row({{pad_right("TOTAL", receipt.inner_width() - 10), tone::bold},
               {pad_left(money(basket_total()), 10), tone::bold}});
  if (!settings_.quiet) std::cout << receipt.render();

  if (customer_) {
    json lines = json::array();
    for (const auto& l : basket_) {
      json line = {{"sku", l.sku}, {"name", l.name}, {"qty", l.qty}, {"unit_price", l.unit_price}};
      if (l.qty == std::floor(l.qty)) line["qty"] = static_cast<std::int64_t>(l.qty);
      if (!l.for_member.empty()) line["for"] = l.for_member;
      if (!l.category.empty()) line["category"] = l.category;
      lines.push_back(std::move(line));
    }
    json event = {{"type", "purchase"},
                  {"customer", {{"kind", customer_->kind}, {"value", customer_->value}}},
                  {"lines", std::move(lines)}};
    const std::size_t n = basket_.size();
    if (!record(std::move(event), "purchase (" + std::to_string(n) + (n == 1 ? " line, " : " lines, ") +
                                      money(basket_total()) + ")"))
      return Result::error;
    ++purchases_;
    just_paid_ = customer_;
  } else {
    say(style_(tone::dim, "  anonymous sale — nothing to remember"));
  }
  end_visit();
  return Result::ok;
}

Till::Result Till::cmd_cancel() {
  just_paid_.reset();
  end_visit();
  return Result::ok;
}

void Till::end_visit() {
  basket_.clear();
  customer_.reset();
  pending_for_.clear();
  last_answer_.reset();
  say(style_(tone::dim, "  ── visit ended " + repeat("─", std::max(0, width_ - 18))));
}

Till::Result Till::cmd_time(const std::vector<std::string>& args) {
  if (args.size() != 1) return fail("usage: time 2026-11-01T10:00:00Z   (or: time now)");
  if (args[0] == "now") {
    event_time_ms_.reset();
    say(style_(tone::dim, "    events are stamped with the real time again"));
    return Result::ok;
  }
  const auto t = parse_time(args[0]);
  if (!t) return fail("time: '" + args[0] + "' is not an RFC 3339 time such as 2026-11-01T10:00:00Z");
  event_time_ms_ = *t + shift_ms_;
  std::string note = "    events now stamped " + format_time(*event_time_ms_);
  if (shift_ms_ != 0) note += " (" + args[0] + " moved " + std::to_string(shift_ms_ / kDayMs) + " days)";
  if (*event_time_ms_ > now_ms()) note += " — in the future!";
  say(style_(tone::dim, note));
  return Result::ok;
}

Till::Result Till::cmd_today(const std::vector<std::string>& args) {
  const auto day = args.size() == 1 ? parse_date(args[0]) : std::nullopt;
  if (!day || args[0].size() != 10) return fail("usage: today YYYY-MM-DD");
  const std::int64_t today = now_ms() / kDayMs;
  shift_ms_ = (today - *day) * kDayMs;
  say(style_(tone::dim, "    script written for " + args[0] + "; today is " + format_time(today * kDayMs).substr(0, 10) +
                            ": times move " + std::to_string(today - *day) + " days"));
  return Result::ok;
}

Till::Result Till::cmd_sleep(const std::vector<std::string>& args) {
  std::int64_t ms = 0;
  if (args.size() != 1 || !parse_int(args[0], ms) || ms > 600'000) return fail("usage: sleep MILLISECONDS");
  std::cout.flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return Result::ok;
}

// ---- talking to the plugin --------------------------------------------------------------------------

Till::HintsCall Till::ask_hints() {
  HintsCall call;
  json basket = json::array();
  for (const auto& l : basket_) basket.push_back({{"sku", l.sku}});
  const json request = {{"customer", {{"kind", customer_->kind}, {"value", customer_->value}}},
                        {"basket", std::move(basket)},
                        {"locale", settings_.locale}};
  const std::string text = request.dump();
  char* response = nullptr;
  const auto t0 = Clock::now();
  call.status = plugin_.hints(client_, text.c_str(), &response);
  call.micros = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  if (call.status != REGULARS_OK) {
    call.detail = plugin_.describe(call.status);
    plugin_.free(response);  // NULL on failure; harmless
    return call;
  }
  json answer = json::parse(response != nullptr ? response : "", nullptr, false);
  plugin_.free(response);
  if (answer.is_discarded() || !answer.is_object()) {
    call.status = REGULARS_PROTOCOL;
    call.detail = "the hints answer is not a JSON object";
    return call;
  }
  call.answer = std::move(answer);
  return call;
}

std::uint64_t Till::spool_bytes() const {
  // Only to tell the cashier that an event went to the spool: regulars_record says OK either way.
  std::uint64_t total = 0;
  if (settings_.spool.empty()) return 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(settings_.spool, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) {
      const auto size = it->file_size(fec);
      if (!fec) total += size;
    }
  }
  return total;
}

bool Till::record(json event, std::string_view what, std::string_view done) {
  if (event_time_ms_) event["time"] = format_time(*event_time_ms_);
  const std::string text = event.dump();
  const std::uint64_t spool_before = spool_bytes();
  const auto t0 = Clock::now();
  const regulars_status s = plugin_.record(client_, text.c_str());
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  if (s != REGULARS_OK) {
    if (s == REGULARS_UNAVAILABLE && settings_.spool.empty())
      error_ = "regulars_record: " + plugin_.describe(s) + " — event NOT kept (run with --spool DIR to keep it)";
    else
      error_ = "regulars_record: " + plugin_.describe(s);
    return false;
  }
  if (customer_) customers_.insert(customer_->kind + ":" + customer_->value);
  const bool spooled = spool_bytes() > spool_before;
  if (spooled) {
    ++spooled_;
    say("  " + style_(tone::bold_yellow, "⚠ regularsd unavailable — checkout continues; event spooled") +
        style_(tone::dim, "  " + std::string(what) + " · regulars_record " + micros(us)));
  } else {
    say("  " + style_(tone::green, "✓ ") + std::string(what) + std::string(done) +
        style_(tone::dim, " · durable · regulars_record " + micros(us)));
  }
  return true;
}

// ---- showing hints ----------------------------------------------------------------------------------

std::vector<const json*> Till::usual_missing(const json& answer) const {
  // "Usual" items: predictions named in the usual-items hint (names are not translated), or,
  // without such a hint, bought on most visits.
  std::string usual_text;
  for (const auto& h : member(answer, "hints"))
    if (str(h, "kind") == "usual_items") usual_text += str(h, "text") + "\n";
  std::vector<const json*> out;
  for (const auto& p : member(answer, "predictions")) {
    const std::string name = str(p, "name", str(p, "sku"));
    const bool usual = usual_text.empty() ? num(p, "score") >= 0.75 : usual_text.find(name) != std::string::npos;
    if (usual) out.push_back(&p);
  }
  return out;
}

void Till::show_unavailable(const HintsCall& call) {
  const std::string head = call.status == REGULARS_TIMEOUT ? "⚠ regularsd too slow — no hints now; checkout continues"
                                                           : "⚠ regularsd unavailable — no hints now; checkout continues";
  say("  " + style_(tone::bold_yellow, head) + style_(tone::dim, " · regulars_hints " + micros(call.micros)));
  say(style_(tone::dim, "    " + call.detail));
}

// The panel is in the answer's language (its `locale`): the daemon's hints as they come, and the
// simulator's own words, counts and dates from labels.hpp. Only the frame's title (who, and the
// call's latency) is the operator's, and stays as it is.
void Till::show_panel(const HintsCall& call) {
  if (settings_.quiet) return;
  const json& a = *call.answer;
  const json& c = member(a, "customer");
  const Lang lang = lang_of(str(a, "locale", settings_.locale));
  const std::string kind = kind_name(lang, customer_->kind);
  // Names of items and members from the data: isolated in a right-to-left panel.
  auto name_of = [lang](const json& j, const char* key, const std::string& fallback = {}) {
    return isolate(lang, str(j, key, fallback));
  };
  Panel p(style_, width_);
  p.title("Regulars · " + customer_label(), "regulars_hints " + micros(call.micros));

  if (!flag(c, "known")) {
    p.text(label(lang, Label::not_recognised, {kind}), tone::bold_yellow, "○ ", tone::yellow);
    p.text(label(lang, Label::first_visit, {kind}), tone::dim, "", "", 2);
  } else {
    const auto visits = static_cast<long long>(num(c, "visits"));
    std::string facts = label(lang, Label::known) + " · " + count(lang, visits, Noun::visit);
    if (c.contains("last_seen"))
      facts += " · " + label(lang, Label::last_seen, {digits(lang, str(c, "last_seen").substr(0, 10))});
    facts += " · " + consent_text(member(c, "consent"), lang);
    p.text(facts, tone::dim);
    if (!flag(c, "personalized")) {
      p.text(label(lang, Label::no_consent), tone::bold, "● ", tone::bold);
      p.text(label(lang, Label::ask_consent), tone::dim, "", "", 2);
    }
    for (const auto& h : member(a, "hints")) {
      if (is_offer_hint(a, h)) continue;  // shown numbered under "Offers"
      const auto [bullet, sgr] = hint_look(str(h, "kind"));
      p.text(str(h, "text"), sgr, bullet, sgr);
      if (const std::string why = str(h, "why"); !why.empty()) p.text(why, tone::dim, "", "", 4);
    }
    const auto missing = usual_missing(a);
    if (!missing.empty() && !basket_.empty()) {
      std::string names;
      for (const auto* m : missing)
        names += (names.empty() ? "" : std::string(list_separator(lang))) + name_of(*m, "name", str(*m, "sku"));
      p.text(label(lang, Label::not_in_basket, {names}), tone::yellow, "! ", tone::bold_yellow);
    }
  }
  const json& predictions = member(a, "predictions");
  if (!predictions.empty()) {
    p.separator(label(lang, Label::likely_today));
    int rank = 0;
    const int name_w = 24;
    for (const auto& pr : predictions) {
      if (++rank > 5) break;
      const double score = num(pr, "score");
      // A left-to-right row in every language (the bar grows to the right); the name is isolated
      // and padded outside its isolate, so that a bidi terminal keeps it in its column.
      p.row({{pad_left(number(lang, rank), 2) + " ", tone::dim},
             {pad_right(name_of(pr, "name", str(pr, "sku")), name_w) + " ", tone::plain},
             {bar(score) + " ", score >= 0.5 ? tone::green : tone::yellow},
             {score_text(score, lang) + "  ", tone::bold},
             {str(pr, "reason"), tone::dim}});
    }
  }
  const json& offers = member(a, "offers");
  if (offers.is_array() && !offers.empty()) {
    p.separator(label(lang, offers.size() == 1 ? Label::offer_one : Label::offer_many));
    int n = 0;
    for (const auto& o : offers) {
      if (!o.is_object()) continue;
      ++n;
      p.text(str(o, "text", offer_id_of(o)), tone::bold_magenta, number(lang, n) + " ♥ ", tone::bold_magenta);
      // The item (and for whom), then why, dimmed; and the answer once there is one.
      std::string item;
      if (const std::string name = str(o, "item"); !name.empty()) item = label(lang, Label::item, {isolate(lang, name)});
      if (const std::string who = str(o, "member"); !who.empty())
        item += (item.empty() ? "" : " · ") + label(lang, Label::for_member, {isolate(lang, who)});
      if (!item.empty()) p.text(item, tone::plain, "", "", 4);
      if (const std::string why = str(o, "why"); !why.empty()) p.text(why, tone::dim, "", "", 4);
      if (const std::string status = str(o, "status", "offered"); status != "offered")
        p.text(status_name(lang, status), status == "declined" ? tone::yellow : tone::green, "→ ", tone::dim, 4);
    }
  }
  if (flag(a, "ask_feedback")) p.text(label(lang, Label::ask_feedback), tone::bold, "☺ ", tone::bold);
  std::cout << p.render();
}

void Till::show_changes(const HintsCall& call, const std::vector<std::string>& scanned) {
  if (settings_.quiet) return;
  const json& a = *call.answer;
  const std::string head = "  " + style_(tone::cyan, "↻ ") + style_(tone::dim, "regulars_hints " + micros(call.micros));
  const json& c = member(a, "customer");
  if (!flag(c, "known")) {
    say(head + style_(tone::dim, " · not recognised"));
    return;
  }
  if (!flag(c, "personalized")) {
    say(head + style_(tone::dim, " · no consent to personalise"));
    return;
  }
  std::vector<std::string> notes;
  // Predicted items that were just scanned.
  if (last_answer_) {
    for (const auto& sku : scanned)
      for (const auto& p : member(*last_answer_, "predictions"))
        if (str(p, "sku") == sku)
          notes.push_back(style_(tone::green, "✓ predicted: ") + str(p, "name", sku) +
                          style_(tone::dim, " (" + score_text(num(p, "score")) + ")"));
    // Hints that appeared or went away.
    auto texts = [](const json& answer) {
      std::vector<std::string> out;
      for (const auto& h : member(answer, "hints"))
        if (!is_offer_hint(answer, h)) out.push_back(str(h, "text"));
      return out;
    };
    const auto before = texts(*last_answer_), after = texts(a);
    for (const auto& t : after)
      if (std::find(before.begin(), before.end(), t) == before.end())
        notes.push_back(style_(tone::bold, "+ ") + t);
    for (const auto& t : before)
      if (std::find(after.begin(), after.end(), t) == after.end())
        notes.push_back(style_(tone::dim, "− " + t));
    // Offers that appeared or went away: then every offer again, with its number now.
    auto ids = [](const json& answer) {
      std::vector<std::string> out;
      for (const auto& o : member(answer, "offers")) out.push_back(offer_id_of(o));
      return out;
    };
    const auto offers_before = ids(*last_answer_), offers_after = ids(a);
    if (offers_before != offers_after) {
      for (const auto& o : member(*last_answer_, "offers"))
        if (std::find(offers_after.begin(), offers_after.end(), offer_id_of(o)) == offers_after.end())
          notes.push_back(style_(tone::dim, "− offer (" + str(o, "status", "offered") + "): " + str(o, "text")));
      int n = 0;
      for (const auto& o : member(a, "offers")) {
        const std::string label = "♥ offer " + std::to_string(++n) + ": ";
        const bool fresh = std::find(offers_before.begin(), offers_before.end(), offer_id_of(o)) == offers_before.end();
        notes.push_back(style_(tone::bold_magenta, label) + str(o, "text") +
                        style_(tone::dim, fresh ? "  (new: accept " + std::to_string(n) + " / decline " + std::to_string(n) + ")"
                                                : "  (" + str(o, "status", "offered") + ")"));
      }
    }
  }
  const auto missing = usual_missing(a);
  if (!missing.empty()) {
    std::string names;
    for (const auto* m : missing)
      names += (names.empty() ? "" : ", ") + str(*m, "name", str(*m, "sku")) + style_(tone::dim, " (" + score_text(num(*m, "score")) + ")");
    notes.push_back(style_(tone::bold_yellow, "! usual, not in basket yet: ") + names);
  }
  if (notes.empty()) {
    say(head + style_(tone::dim, " · no change"));
    return;
  }
  say(head);
  for (const auto& n : notes) say("    " + n);
}

}  // namespace till
