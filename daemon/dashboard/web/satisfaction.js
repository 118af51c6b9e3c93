// The satisfaction page: NPS and CSAT week by week over the last twelve weeks (Chart.js, from
// Debian's libjs-chart.js, embedded as assets/chart.js), a breakdown by cashier, lane, store or
// touchpoint, and what customers wrote, filtered by tag. All of it from the owner's `report` and
// `comments` commands, through GET /dashboard/api/report and /dashboard/api/comments. Every score
// shows its number of answers and its 95% range beside it.
"use strict";

const WEEKS = 12;
const DAY_MS = 86400000;

// Monday 00:00 UTC of the first week shown (the report's weeks start on Mondays, in UTC).
function firstMonday() {
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const monday = today.getTime() - ((today.getUTCDay() + 6) % 7) * DAY_MS;
  return new Date(monday - (WEEKS - 1) * 7 * DAY_MS);
}

function weeksFrom(start) {
  return Array.from({ length: WEEKS }, (_, i) => new Date(start.getTime() + i * 7 * DAY_MS).toISOString().slice(0, 10));
}

// One score week by week (Chart.js): the score as a line, its 95% range as a floating bar, and
// the number of answers under each week. Returns how many weeks had answers.
function drawChart(id, weeks, rowsByWeek, score, [low, high]) {
  const rows = weeks.map((w) => rowsByWeek.get(w));
  const has = (r) => r !== undefined && r[score] !== null;
  const canvas = document.getElementById(id);
  Chart.getChart(canvas)?.destroy();
  new Chart(canvas, {
    data: {
      labels: weeks.map((w, i) => [Texts.shortDate(w), has(rows[i]) ? Texts.format("satisfaction.n", { n: rows[i][`${score}_responses`] }) : ""]),
      datasets: [
        { type: "line", label: Texts.format(`satisfaction.${score}`), data: rows.map((r) => (has(r) ? r[score] : null)),
          borderColor: "#0b5cad", backgroundColor: "#0b5cad", pointRadius: 4, spanGaps: true },
        { type: "bar", label: Texts.format("satisfaction.range_label"), data: rows.map((r) => (has(r) ? r[`${score}_interval`] : null)),
          backgroundColor: "rgba(11, 92, 173, 0.25)", barPercentage: 0.25 },
      ],
    },
    options: {
      animation: false,
      locale: Texts.intl[Texts.locale],
      scales: { x: { ticks: { autoSkip: false, maxRotation: 0, font: { size: 10 } } }, y: { min: low, max: high } },
      plugins: { legend: { rtl: document.dir === "rtl" }, tooltip: { rtl: document.dir === "rtl", callbacks: { footer: (items) => {
        const r = rows[items[0].dataIndex];
        return has(r) ? Texts.format("satisfaction.answers", { n: r[`${score}_responses`] }) : "";
      } } } },
    },
  });
  const shown = rows.filter(has).length;
  canvas.setAttribute("aria-label", Texts.format(`satisfaction.${score}_label`, { weeks: shown }));
  return shown;
}

function breakdownRow(row) {
  const tr = document.createElement("tr");
  tr.dataset.key = row.key;
  tr.append(Shown.cell(row.key === "(none)" ? Texts.format("satisfaction.none") : row.key),
            Shown.cell(Shown.score(row.nps), "nps"), Shown.cell(Shown.range(row.nps_interval), "nps-range"),
            Shown.cell(String(row.nps_responses), "nps-n"), Shown.cell(Shown.score(row.csat), "csat"),
            Shown.cell(Shown.range(row.csat_interval), "csat-range"), Shown.cell(String(row.csat_responses), "csat-n"));
  Shown.markFew(tr, row);
  return tr;
}

async function loadBreakdown(from) {
  const by = document.getElementById("by").value;
  document.getElementById("by-heading").textContent = Texts.format(`satisfaction.by.${by}`);
  const report = await Page.getJson(`/dashboard/api/report?by=${by}&from=${encodeURIComponent(from)}`);
  const rows = report.rows.map(breakdownRow);
  const total = breakdownRow({ ...report.total, key: Texts.format("satisfaction.total") });
  total.classList.add("total");
  document.querySelector("#breakdown tbody").replaceChildren(...rows, total);
}

function commentItem(c) {
  const li = document.createElement("li");
  li.className = "card item";
  const head = document.createElement("p");
  head.className = "item-head";
  const scores = [];
  if (c.nps !== null) scores.push(Texts.format("satisfaction.comment_nps", { points: c.nps }));
  if (c.csat !== null) scores.push(Texts.format("satisfaction.comment_csat", { points: c.csat }));
  head.textContent = [Texts.date(c.time), ...scores, c.reasons.map((r) => r.replaceAll("_", " ")).join(", ")].filter(Boolean).join(" · ");
  const text = document.createElement("blockquote");
  text.className = "comment";
  text.textContent = c.comment;  // the customer's own words: text, never markup
  const who = document.createElement("p");
  who.className = "detail";
  who.textContent = [c.cashier, c.lane, c.touchpoint].filter(Boolean).join(" · ");
  li.append(head, text, who);
  return li;
}

async function loadComments(from, refreshTags) {
  const tag = document.getElementById("tag");
  const reason = tag.value;
  const answer = await Page.getJson(`/dashboard/api/comments?from=${encodeURIComponent(from)}${reason ? `&reason=${encodeURIComponent(reason)}` : ""}`);
  if (refreshTags) {
    const any = tag.options[0];
    tag.replaceChildren(any, ...answer.tags.map((t) => Object.assign(document.createElement("option"), {
      value: t.tag, textContent: Texts.format("satisfaction.tag_option", { tag: t.tag.replaceAll("_", " "), count: t.comments }) })));
  }
  document.getElementById("comments").replaceChildren(...answer.items.map(commentItem));
  document.getElementById("comments-empty").hidden = answer.items.length > 0;
}

async function loadTrend(from, weeks) {
  const report = await Page.getJson(`/dashboard/api/report?by=week&from=${encodeURIComponent(from)}`);
  const byWeek = new Map(report.rows.map((r) => [r.key, r]));
  const shown = drawChart("nps-chart", weeks, byWeek, "nps", [-100, 100]) + drawChart("csat-chart", weeks, byWeek, "csat", [0, 100]);
  document.getElementById("trend-empty").hidden = shown > 0;
}

// Runs `work`, marking the page busy until it is done; a failure is shown, not thrown.
async function busy(work) {
  Page.ready(false);
  try {
    await work();
  } catch (e) {
    Page.showFailure("satisfaction.failed", e);
  }
  Page.ready(true);
}

(async () => {
  try {
    await Page.start("nav.satisfaction");
  } catch (e) {
    return Page.showFailure("satisfaction.failed", e);
  }
  const start = firstMonday();
  const from = start.toISOString();
  const weeks = weeksFrom(start);
  document.getElementById("period").textContent = Texts.format("satisfaction.period", { from: Texts.date(weeks[0]), weeks: WEEKS });
  document.getElementById("by").addEventListener("change", () => busy(() => loadBreakdown(from)));
  document.getElementById("tag").addEventListener("change", () => busy(() => loadComments(from, false)));
  await busy(() => Promise.all([loadTrend(from, weeks), loadBreakdown(from), loadComments(from, true)]));
})();
