// Every word the dashboard shows comes from texts/<locale>.json (ICU MessageFormat; only plain
// {name} arguments are used so far), so the pages hold no text of their own.
"use strict";

const Texts = {
  table: {},

  async load(locale) {
    const r = await fetch(`/dashboard/assets/texts/${locale}.json`, { credentials: "same-origin" });
    if (!r.ok) throw new Error(`texts ${r.status}`);
    this.table = await r.json();
  },

  // The text for `key` with its {name} arguments filled in; the key itself when it is missing,
  // so a gap shows instead of an empty space.
  format(key, args = {}) {
    const pattern = this.table[key];
    if (pattern === undefined) return key;
    return pattern.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
  },

  // The text for `key`, or `otherwise` (a word from elsewhere, shown as it is) when there is none.
  formatOr(key, otherwise, args = {}) {
    return key in this.table ? this.format(key, args) : otherwise;
  },

  // Fills every element that names its text with data-text.
  fill(root = document) {
    for (const el of root.querySelectorAll("[data-text]")) el.textContent = this.format(el.dataset.text);
  },
};
