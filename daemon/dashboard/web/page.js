// What every signed-in page shares: reading the dashboard's JSON (a 401 goes back to sign-in), the
// session's CSRF token for posts, and a failure shown in the page's status line.
"use strict";

const Page = {
  csrf: "",

  async getJson(path) {
    const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    return this.answer(r);
  },

  // A form post with the session's CSRF token, answered with JSON.
  async post(path, fields) {
    const r = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": this.csrf },
      body: new URLSearchParams(fields),
    });
    return this.answer(r);
  },

  // A long task (a dry run, an erasure): its post answered {job}; the result is fetched until it
  // is there. Resolves to the command's answer, or to {error} when it refused.
  async awaitJob(first) {
    let answer = first;
    while (answer && answer.job !== undefined) {
      await new Promise((done) => setTimeout(done, 200));
      const r = await fetch(`/dashboard/api/jobs/${answer.job}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (r.status === 401) {
        location.assign("/dashboard/login");
        throw new Error("signed_out");
      }
      const body = await r.json();
      if (r.status === 202) continue;
      answer = r.ok ? body : { error: body.error || { code: `http_${r.status}`, message: "" } };
    }
    return answer;
  },

  // A post whose work is a long task: the command's answer, thrown as an Error when refused.
  async postJob(path, fields) {
    const answer = await this.awaitJob(await this.post(path, fields));
    if (answer.error) throw new Error(answer.error.code);
    return answer;
  },

  async answer(r) {
    if (r.status === 401) {
      location.assign("/dashboard/login");
      throw new Error("signed_out");
    }
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.code : `http_${r.status}`);
    return body;
  },

  // Loads the texts and the session; `title` names the page in the window's title.
  async start(title) {
    for (const link of document.querySelectorAll("nav a"))
      if (new URL(link.href).pathname === location.pathname) link.setAttribute("aria-current", "page");
    await Texts.load();
    Texts.fill();
    const picker = document.getElementById("locale");
    picker.value = Texts.locale;
    picker.addEventListener("change", () => Texts.choose(picker.value));
    document.title = `${Texts.format(title)} · ${Texts.format("app.name")}`;
    const session = await this.getJson("/dashboard/api/session");
    this.csrf = session.csrf;
    document.getElementById("csrf").value = session.csrf;
  },

  // Posts a change, then shows the page again with `reload`; a refusal goes to the status line.
  async change(path, fields, reload, failureKey) {
    this.ready(false);
    try {
      await this.post(path, fields);
      await reload();
    } catch (e) {
      this.showFailure(failureKey, e);
      this.ready(true);
    }
  },

  // Shows `items` in the list `listId`, each made by `render`; with none, `emptyId` says `emptyText`.
  showList(listId, items, render, emptyId, emptyText) {
    document.getElementById(listId).replaceChildren(...items.map(render));
    const empty = document.getElementById(emptyId);
    if (emptyText !== undefined) empty.textContent = emptyText;
    empty.hidden = items.length > 0;
  },

  showFailure(key, error) {
    const status = document.getElementById("status");
    status.textContent = Texts.format(key, { code: error.message });
    status.hidden = false;
  },

  ready(yes) {
    document.body.dataset.ready = yes ? "true" : "false";
  },
};

// What the pages showing scores share (satisfaction, gestures, chain): a table cell, a score, its
// 95% range, the mark on a row of few answers, and what a gesture's ROI says in words.
const Shown = {
  FEW: 30,  // below this many answers a score's range is wide: the row says so

  cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  },

  score(value) {
    return value === null || value === undefined ? "–" : Texts.number(value);
  },

  range(interval) {
    return interval ? Texts.format("satisfaction.range", { low: Texts.number(interval[0]), high: Texts.number(interval[1]) }) : "–";
  },

  // Marks the row `tr` of a report row with fewer than FEW answers, NPS and CSAT together.
  markFew(tr, row) {
    if (row.nps_responses + row.csat_responses >= this.FEW) return;
    tr.classList.add("few");
    tr.firstChild.append(" ", Object.assign(document.createElement("span"), { className: "badge", textContent: Texts.format("satisfaction.few") }));
  },

  // An ROI row (the gestures command's, or a store's or the chain's) in words.
  roiVerdict(row) {
    const rate = row.difference.return_rate;
    if (row.offered.followed < 2 || row.held_out.followed < 2 || !rate.ci95) return Texts.format("gestures.roi.too_small");
    const [low, high] = rate.ci95;
    if (low <= 0 && high >= 0) return Texts.format("gestures.roi.cannot_tell");
    return Texts.format(low > 0 ? "gestures.roi.more" : "gestures.roi.less");
  },
};
