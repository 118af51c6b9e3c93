#include "labels.hpp"

#include <cmath>
#include <cstdio>

namespace till {

namespace {

// One label in each language. Words to the cashier; in Arabic neutral wording (verbal nouns, no
// guess at the customer's gender), as in the daemon's phrasebook (daemon/locales). Command words
// stay as the cashier types them, isolated. \u200C is the ZERO WIDTH NON-JOINER of Persian words.
struct Words {
  const char* en;
  const char* fa;
  const char* ar;
};

constexpr Words kLabels[] = {
    // known
    {"known", "مشتری آشنا", "عميل معروف"},
    // last_seen
    {"last {0}", "آخرین بار {0}", "آخر زيارة {0}"},
    // consent
    {"consent", "رضایت", "الموافقة"},
    // consent_not_asked
    {"consent not asked yet", "رضایت هنوز پرسیده نشده", "لم تُطلب الموافقة بعد"},
    // remember
    {"remember", "به\u200Cخاطرسپاری", "الحفظ"},
    // personalize
    {"personalize", "شخصی\u200Cسازی", "التخصيص"},
    // not_recognised
    {"Not recognised — no history for this {0}.", "ناشناس — سابقه\u200Cای با این {0} نیست.",
     "غير معروف — لا سجل لهذا المعرّف ({0})."},
    // first_visit
    {"A first visit, or a new {0}: offer to remember them (consent).",
     "اولین مراجعه، یا {0} تازه: پیشنهاد دهید مشتری را به خاطر بسپاریم (\u2068consent\u2069).",
     "زيارة أولى أو معرّف جديد ({0}): اقتراح حفظ بيانات العميل (\u2068consent\u2069)."},
    // no_consent
    {"Known customer, no hints: no consent to personalise.",
     "مشتری آشنا، بدون نکته: رضایتی برای شخصی\u200Cسازی نیست.",
     "عميل معروف، بلا تلميحات: لا موافقة على التخصيص."},
    // ask_consent
    {"Ask once if they would like personal service (consent personalize).",
     "یک بار بپرسید آیا خدمات شخصی می\u200Cخواهند (\u2068consent personalize\u2069).",
     "اقتراح: سؤال واحد عن الرغبة في خدمة شخصية (\u2068consent personalize\u2069)."},
    // not_in_basket
    {"Not in today's basket yet: {0}", "هنوز در سبد امروز نیست: {0}", "خارج سلة اليوم حتى الآن: {0}"},
    // likely_today
    {"Likely today", "احتمالاً امروز", "المرجّح اليوم"},
    // offer_one
    {"Offer · accept, decline or redeem", "پیشنهاد · \u2068accept\u2069، \u2068decline\u2069 یا \u2068redeem\u2069",
     "عرض · \u2068accept\u2069 أو \u2068decline\u2069 أو \u2068redeem\u2069"},
    // offer_many
    {"Offers · accept, decline or redeem N",
     "پیشنهادها · \u2068accept\u2069، \u2068decline\u2069 یا \u2068redeem\u2069 با شمارهٔ پیشنهاد",
     "عروض · \u2068accept\u2069 أو \u2068decline\u2069 أو \u2068redeem\u2069 مع رقم العرض"},
    // item
    {"item: {0}", "کالا: {0}", "الصنف: {0}"},
    // for_member
    {"for {0}", "برای {0}", "لصالح {0}"},
    // ask_feedback
    {"Ask for feedback now: one tap on the customer display.",
     "اکنون نظرش را بپرسید: یک لمس روی نمایشگر مشتری.",
     "طلب الرأي الآن: لمسة واحدة على شاشة العميل."},
};
static_assert(sizeof kLabels / sizeof kLabels[0] == static_cast<std::size_t>(Label::count_),
              "one row of kLabels for every Label, in order");

struct Named {
  const char* key;
  Words words;
};

// As the daemon's phrasebook names them (kind.card, ...).
constexpr Named kKinds[] = {
    {"card", {"card", "کارت", "البطاقة"}},
    {"phone", {"phone", "تلفن", "الهاتف"}},
    {"email", {"email", "ایمیل", "البريد الإلكتروني"}},
    {"app", {"app", "اپلیکیشن", "التطبيق"}},
    {"payment_token", {"payment_token", "کارت بانکی", "بطاقة الدفع"}},
};

constexpr Named kStatuses[] = {
    {"accepted", {"accepted", "پذیرفته شد", "تم القبول"}},
    {"declined", {"declined", "رد شد", "تم الرفض"}},
    {"redeemed", {"redeemed", "داده شد", "تم التسليم"}},
};

// A noun after a count; {0} is the number. English: one, other. Persian: one form (the noun stays
// singular). Arabic: zero, one, two, few (n % 100 in 3–10), many (n % 100 in 11–99), other.
struct NounForms {
  const char* en_one;
  const char* en_other;
  const char* fa;
  const char* ar[6];
};

constexpr NounForms kNouns[] = {
    // visit
    {"{0} visit", "{0} visits", "{0} مراجعه", {"لا زيارات", "زيارة واحدة", "زيارتان", "{0} زيارات", "{0} زيارة", "{0} زيارة"}},
};

const char* pick(const Words& w, Lang lang) {
  switch (lang) {
    case Lang::fa: return w.fa;
    case Lang::ar: return w.ar;
    case Lang::en: break;
  }
  return w.en;
}

std::string fill(std::string_view pattern, std::initializer_list<std::string_view> args) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{' && i + 2 < pattern.size() && pattern[i + 2] == '}' && pattern[i + 1] >= '0' &&
        pattern[i + 1] <= '9') {
      const auto k = static_cast<std::size_t>(pattern[i + 1] - '0');
      if (k < args.size()) out += *(args.begin() + k);
      i += 2;
      continue;
    }
    out += pattern[i];
  }
  return out;
}

std::string named(const Named* table, std::size_t n, Lang lang, std::string_view key) {
  for (std::size_t i = 0; i < n; ++i)
    if (key == table[i].key) return pick(table[i].words, lang);
  return isolate(lang, key);
}

// The index of Arabic's plural category of n: zero, one, two, few, many, other.
int arabic_plural(long long n) {
  if (n == 0) return 0;
  if (n == 1) return 1;
  if (n == 2) return 2;
  const long long r = (n < 0 ? -n : n) % 100;
  if (r >= 3 && r <= 10) return 3;
  if (r >= 11 && r <= 99) return 4;
  return 5;
}

}  // namespace

Lang lang_of(std::string_view locale) {
  const std::string_view language = locale.substr(0, locale.find_first_of("-_.@"));
  if (language.size() == 2 && (language[0] | 0x20) == 'f' && (language[1] | 0x20) == 'a') return Lang::fa;
  if (language.size() == 2 && (language[0] | 0x20) == 'a' && (language[1] | 0x20) == 'r') return Lang::ar;
  return Lang::en;
}

bool right_to_left(Lang lang) { return lang != Lang::en; }

std::string label(Lang lang, Label which, std::initializer_list<std::string_view> args) {
  return fill(pick(kLabels[static_cast<std::size_t>(which)], lang), args);
}

std::string kind_name(Lang lang, std::string_view kind) {
  return named(kKinds, sizeof kKinds / sizeof kKinds[0], lang, kind);
}

std::string status_name(Lang lang, std::string_view status) {
  return named(kStatuses, sizeof kStatuses / sizeof kStatuses[0], lang, status);
}

std::string count(Lang lang, long long n, Noun noun) {
  const NounForms& f = kNouns[static_cast<std::size_t>(noun)];
  const char* form = lang == Lang::fa   ? f.fa
                     : lang == Lang::ar ? f.ar[arabic_plural(n)]
                     : n == 1           ? f.en_one
                                        : f.en_other;
  return fill(form, {number(lang, n)});
}

std::string digits(Lang lang, std::string_view ascii) {
  if (lang == Lang::en) return std::string(ascii);
  // ۰ U+06F0 (EXTENDED ARABIC-INDIC DIGIT ZERO) for Persian, ٠ U+0660 for Arabic: two UTF-8
  // bytes each, the second the one that counts up.
  const char lead = lang == Lang::fa ? '\xDB' : '\xD9';
  const unsigned char zero = lang == Lang::fa ? 0xB0 : 0xA0;
  std::string out;
  for (const char c : ascii) {
    if (c >= '0' && c <= '9') {
      out += lead;
      out += static_cast<char>(zero + (c - '0'));
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(Lang lang, long long n) { return digits(lang, std::to_string(n)); }

std::string decimal(Lang lang, double value, int places) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", places, std::isfinite(value) ? value : 0.0);
  std::string text = digits(lang, buf);
  if (lang != Lang::en)
    if (const auto dot = text.find('.'); dot != std::string::npos) text.replace(dot, 1, "\u066B");
  return text;
}

std::string isolate(Lang lang, std::string_view text) {
  if (!right_to_left(lang) || text.empty()) return std::string(text);
  return "\u2068" + std::string(text) + "\u2069";
}

std::string_view list_separator(Lang lang) { return lang == Lang::en ? ", " : "\u060C "; }

}  // namespace till
