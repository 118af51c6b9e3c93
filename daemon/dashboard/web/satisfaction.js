// The satisfaction page: NPS and CSAT week by week over the last twelve weeks, a breakdown by
// cashier, lane, store or touchpoint, and what customers wrote, filtered by tag. All of it from
// the owner's `report` and `comments` commands, through GET /dashboard/api/report and
// /dashboard/api/comments. Every score shows its number of answers and its 95% range beside it.
"use strict";

const WEEKS = 12;
const FEW = 30;  // below this many answers a score's range is wide: the row says so
const DAY_MS = 86400000;
const numbers = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
const SVG = "http://www.w3.org/2000/svg";

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

function svg(name, attributes, parent) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  if (parent) parent.append(el);
  return el;
}

// One score's weekly line: a dot per week with answers, its 95% range as a whisker, and the
// number of answers in the dot's title (hover) and under the axis.
function drawChart(id, weeks, rowsByWeek, score, [low, high]) {
  const chart = document.getElementById(id);
  chart.replaceChildren();
  const width = 520, height = 220, left = 40, right = 10, top = 10, bottom = 40;
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const x = (i) => left + (i + 0.5) * ((width - left - right) / weeks.length);
  const y = (v) => top + (high - v) / (high - low) * (height - top - bottom);
  for (const v of [low, (low + high) / 2, high]) {
    svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }, chart);
    svg("text", { x: left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, chart).textContent = numbers.format(v);
  }
  const points = [];
  weeks.forEach((week, i) => {
    if (i % 2 === 0) svg("text", { x: x(i), y: height - 22, class: "axis", "text-anchor": "middle" }, chart).textContent = week.slice(5);
    const row = rowsByWeek.get(week);
    const n = row ? row[`${score}_responses`] : 0;
    svg("text", { x: x(i), y: height - 6, class: "count", "text-anchor": "middle" }, chart).textContent = n > 0 ? `n=${n}` : "";
    if (!row || row[score] === null) return;
    const [lo, hi] = row[`${score}_interval`];
    svg("line", { x1: x(i), x2: x(i), y1: y(lo), y2: y(hi), class: "range" }, chart);
    points.push(`${x(i)},${y(row[score])}`);
    const dot = svg("circle", { cx: x(i), cy: y(row[score]), r: 4, class: "dot", "data-week": week, "data-value": row[score], "data-n": n }, chart);
    svg("title", {}, dot).textContent = Texts.format("satisfaction.point", { week, value: numbers.format(row[score]), n, low: lo, high: hi });
  });
  // The line joining the weeks goes under the ranges and dots.
  if (points.length > 1) chart.insertBefore(svg("polyline", { points: points.join(" "), class: "trend" }), chart.querySelector(".range"));
  chart.setAttribute("aria-label", Texts.format(`satisfaction.${score}_label`, { weeks: points.length }));
  return points.length;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function rangeText(interval) {
  return interval ? Texts.format("satisfaction.range", { low: numbers.format(interval[0]), high: numbers.format(interval[1]) }) : "–";
}

function scoreText(value) {
  return value === null ? "–" : numbers.format(value);
}

function breakdownRow(row) {
  const tr = document.createElement("tr");
  tr.dataset.key = row.key;
  const few = row.nps_responses + row.csat_responses < FEW;
  if (few) tr.className = "few";
  tr.append(cell(row.key === "(none)" ? Texts.format("satisfaction.none") : row.key),
            cell(scoreText(row.nps), "nps"), cell(rangeText(row.nps_interval), "nps-range"), cell(String(row.nps_responses), "nps-n"),
            cell(scoreText(row.csat), "csat"), cell(rangeText(row.csat_interval), "csat-range"), cell(String(row.csat_responses), "csat-n"));
  if (few) tr.firstChild.append(" ", Object.assign(document.createElement("span"), { className: "badge", textContent: Texts.format("satisfaction.few") }));
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
  head.textContent = [c.time.slice(0, 10), ...scores, c.reasons.map((r) => r.replaceAll("_", " ")).join(", ")].filter(Boolean).join(" · ");
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
  document.getElementById("period").textContent = Texts.format("satisfaction.period", { from: weeks[0], weeks: WEEKS });
  document.getElementById("by").addEventListener("change", () => busy(() => loadBreakdown(from)));
  document.getElementById("tag").addEventListener("change", () => busy(() => loadComments(from, false)));
  await busy(() => Promise.all([loadTrend(from, weeks), loadBreakdown(from), loadComments(from, true)]));
})();
