// Every word the dashboard shows comes from texts/<locale>.json (ICU MessageFormat; only plain
// {name} arguments are used), so the pages hold no text of their own. The locale is the owner's
// choice (kept in this browser), else the browser's language when the dashboard has it, else
// English. Numbers are written in the locale's own digits and dates in its calendar: Persian
// digits and the Solar Hijri calendar for fa, Arabic-Indic digits for ar.
"use strict";

const Texts = {
  locales: ["en", "fa", "ar"],
  // The Intl locale each catalogue formats numbers and dates with.
  intl: { en: "en", fa: "fa-IR-u-nu-arabext-ca-persian", ar: "ar-u-nu-arab" },
  locale: "en",
  table: {},

  // The locale to show: the one chosen here before, else the browser's first one we have.
  chosen() {
    const saved = localStorage.getItem("regulars.locale");
    if (this.locales.includes(saved)) return saved;
    const browser = (navigator.languages || [navigator.language]).map((l) => String(l).slice(0, 2));
    return browser.find((l) => this.locales.includes(l)) || "en";
  },

  choose(locale) {
    localStorage.setItem("regulars.locale", locale);
    location.reload();
  },

  async load(locale = this.chosen()) {
    const r = await fetch(`/dashboard/assets/texts/${locale}.json`, { credentials: "same-origin" });
    if (!r.ok) throw new Error(`texts ${r.status}`);
    this.table = await r.json();
    this.locale = locale;
    this.numbers = new Intl.NumberFormat(this.intl[locale], { maximumFractionDigits: 1 });
    this.dates = new Intl.DateTimeFormat(this.intl[locale], { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "UTC" });
    this.days = new Intl.DateTimeFormat(this.intl[locale], { month: "2-digit", day: "2-digit", timeZone: "UTC" });
    this.times = new Intl.DateTimeFormat(this.intl[locale], { year: "numeric", month: "2-digit", day: "2-digit",
                                                             hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "UTC" });
    document.documentElement.lang = locale;
    document.documentElement.dir = this.table.dir || "ltr";
  },

  // The text for `key` with its {name} arguments filled in (numbers in the locale's digits); the
  // key itself when it is missing, so a gap shows instead of an empty space.
  format(key, args = {}) {
    const pattern = this.table[key];
    if (pattern === undefined) return key;
    return pattern.replace(/\{(\w+)\}/g, (whole, name) => {
      if (!(name in args)) return whole;
      const value = args[name];
      return typeof value === "number" ? this.number(value) : String(value);
    });
  },

  // The text for `key`, or `otherwise` (a word from elsewhere, shown as it is) when there is none.
  formatOr(key, otherwise, args = {}) {
    return key in this.table ? this.format(key, args) : otherwise;
  },

  number(value) {
    return this.numbers.format(value);
  },

  // A day (an RFC 3339 time, or milliseconds) as the locale writes it: English keeps ISO
  // 2026-12-06; Persian is Solar Hijri. Times are UTC, as the daemon reports them.
  date(when) {
    const d = new Date(when);
    return this.locale === "en" ? d.toISOString().slice(0, 10) : this.dates.format(d);
  },

  // Month and day only, for a chart's axis.
  shortDate(when) {
    const d = new Date(when);
    return this.locale === "en" ? d.toISOString().slice(5, 10) : this.days.format(d);
  },

  dateTime(when) {
    const d = new Date(when);
    return this.locale === "en" ? d.toISOString().slice(0, 16).replace("T", " ") : this.times.format(d);
  },

  // Fills every element that names its text with data-text.
  fill(root = document) {
    for (const el of root.querySelectorAll("[data-text]")) el.textContent = this.format(el.dataset.text);
  },
};
