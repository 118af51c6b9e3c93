// The chain page: where this store stands with its chain's hub, NPS, CSAT and visits for each
// store and for the chain, and each gesture rule's ROI across the chain. A thin view over the
// owner's `chain` command (GET /dashboard/api/chain, /chain/report and /chain/roi), whose figures
// come from the hub (daemon/chain/CHAIN.md). A store in no chain says how to join one.
"use strict";

const WEEKS = 12;
const DAY_MS = 86400000;

const $ = (id) => document.getElementById(id);

function showLink(status) {
  $("store-id").textContent = status.store_id;
  const hub = $("hub-state");
  hub.textContent = Texts.format(status.connected ? "chain.connected" : "chain.not_connected");
  hub.dataset.connected = String(status.connected);
  if (status.failure) hub.textContent += ` ${Texts.format("chain.failure", { error: status.failure.error })}`;
  $("out").textContent = Texts.format("chain.out_detail", { waiting: status.out.waiting, published: status.out.published_events });
  const lag = status.in.last_lag_ms === undefined ? "" : ` ${Texts.format("chain.lag", { ms: status.in.last_lag_ms })}`;
  $("in").textContent = Texts.format("chain.in_detail", { behind: status.in.behind, applied: status.in.applied_events }) + lag;
  $("link").hidden = false;
}

function reportRow(row, label) {
  const tr = document.createElement("tr");
  tr.dataset.store = row.key;
  tr.append(Shown.cell(label, "label"), Shown.cell(Shown.score(row.nps), "nps"), Shown.cell(Shown.range(row.nps_interval), "nps-range"),
            Shown.cell(String(row.nps_responses), "nps-n"), Shown.cell(Shown.score(row.csat), "csat"),
            Shown.cell(Shown.range(row.csat_interval), "csat-range"), Shown.cell(String(row.csat_responses), "csat-n"),
            Shown.cell(Texts.number(row.visits), "visits"), Shown.cell(Texts.number(row.customers), "customers"));
  Shown.markFew(tr, row);
  return tr;
}

async function loadReport() {
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const from = new Date(today.getTime() - (WEEKS * 7 - 1) * DAY_MS);
  $("period").textContent = Texts.format("chain.period", { weeks: WEEKS, from: Texts.date(from.toISOString().slice(0, 10)) });
  const report = await Page.getJson(`/dashboard/api/chain/report?from=${encodeURIComponent(from.toISOString())}`);
  const total = reportRow(report.chain, Texts.format("chain.whole_chain"));
  total.classList.add("total");
  document.querySelector("#report tbody").replaceChildren(...report.stores.map((s) => reportRow(s, s.key)), total);
  $("report-panel").hidden = false;
}

// offered − held out, with its 95% range when the groups are big enough for one.
function differenceText(diff, scale = 1) {
  const value = Texts.number(Math.round((diff.difference / scale) * 1000) / 1000);
  if (!diff.ci95) return value;
  return Texts.format("chain.difference", { difference: value, range: Shown.range(diff.ci95.map((x) => Math.round((x / scale) * 1000) / 1000)) });
}

function roiRow(row, label, store) {
  const tr = document.createElement("tr");
  tr.dataset.store = store;
  const d = row.difference;
  tr.append(Shown.cell(label, "label"), Shown.cell(Texts.number(row.offers), "offers"), Shown.cell(Texts.number(row.offered.followed), "offered"),
            Shown.cell(Texts.number(row.held_out.followed), "held-out"), Shown.cell(differenceText(d.return_rate), "return-rate"),
            Shown.cell(differenceText(d.visits_per_customer), "visits"), Shown.cell(differenceText(d.spend_per_customer, 100), "spend"));
  return tr;
}

const ROI_COLUMNS = ["chain.col.store", "chain.roi.offers", "chain.roi.offered", "chain.roi.held_out", "gestures.roi.return_rate",
                     "gestures.roi.visits_per_customer", "chain.roi.spend"];

function roiTable(rule) {
  const section = document.createElement("section");
  section.className = "card item";
  section.dataset.rule = rule.rule;
  const title = document.createElement("h3");
  const named = rule.stores.find((s) => s.name);
  title.textContent = named ? `${named.name} (${rule.rule})` : rule.rule;
  const table = document.createElement("table");
  const head = document.createElement("tr");
  head.append(...ROI_COLUMNS.map((key) => Object.assign(document.createElement("th"), { textContent: Texts.format(key) })));
  const thead = document.createElement("thead");
  thead.append(head);
  const chain = roiRow(rule.chain, Texts.format("chain.whole_chain"), "");
  chain.classList.add("total");
  const body = document.createElement("tbody");
  body.append(chain, ...rule.stores.map((s) => roiRow(s, Texts.format("chain.as_of", { store: s.store, time: Texts.dateTime(s.as_of) }), s.store)));
  table.append(thead, body);
  const words = document.createElement("p");
  words.className = "verdict";
  words.textContent = Shown.roiVerdict(rule.chain);
  section.append(title, table, words);
  return section;
}

async function loadRoi() {
  const answer = await Page.getJson("/dashboard/api/chain/roi");
  $("roi-intro").textContent = Texts.format("chain.roi_intro", { days: answer.window_days });
  $("roi-rules").replaceChildren(...answer.rules.map(roiTable));
  $("roi-empty").hidden = answer.rules.length > 0;
  $("roi-refused").replaceChildren(...answer.refused.map((why) => Object.assign(document.createElement("li"), {
    textContent: Texts.format("chain.refused", { why }) })));
  $("roi-panel").hidden = false;
}

(async () => {
  try {
    await Page.start("nav.chain");
    const status = await Page.getJson("/dashboard/api/chain");
    if (!status.configured) {
      const note = $("not-in-chain");
      note.textContent = Texts.format("chain.none");
      note.hidden = false;
    } else {
      showLink(status);
      await Promise.all([loadReport(), loadRoi()]);
    }
    Page.ready(true);
  } catch (e) {
    Page.showFailure("chain.failed", e);
    Page.ready(true);
  }
})();
