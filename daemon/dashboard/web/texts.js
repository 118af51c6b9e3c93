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

  // Fills every element that names its text with data-text.
  fill(root = document) {
    for (const el of root.querySelectorAll("[data-text]")) el.textContent = this.format(el.dataset.text);
  },
};
