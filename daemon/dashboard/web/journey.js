// A customer's journey: looked up by an identifier that goes only in a POST body (never a URL),
// hashed by regularsd and kept nowhere; their timeline across touchpoints, from the owner's
// `journey` command, and their export or erasure (`export`, `erase`), with the erasure's receipt.
"use strict";

let current = null;  // { kind, value } of the customer shown; dropped once they are erased

function identifier() {
  return { kind: document.getElementById("kind").value, value: document.getElementById("value").value.trim() };
}

function detailOf(step) {
  if (step.lines !== undefined) return Texts.format("journey.lines", { lines: step.lines });
  const parts = [];
  if (step.nps !== undefined) parts.push(`NPS ${Texts.number(step.nps)}`);
  if (step.csat !== undefined) parts.push(`CSAT ${Texts.number(step.csat)}`);
  if (step.declined) parts.push(Texts.format("journey.declined"));
  if (step.reasons) parts.push(step.reasons.join(", ").replaceAll("_", " "));
  return parts.join(" · ");
}

function stepRow(step) {
  const tr = document.createElement("tr");
  tr.dataset.type = step.type;
  const cells = [Texts.dateTime(step.time), Texts.formatOr(`journey.touchpoint.${step.touchpoint || "till"}`, step.touchpoint),
                 Texts.formatOr(`journey.type.${step.type}`, step.type), detailOf(step), [step.cashier, step.store].filter(Boolean).join(" · ")];
  for (const text of cells) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
  return tr;
}

async function lookUp(event) {
  event.preventDefault();
  current = identifier();
  document.getElementById("receipt").hidden = true;
  Page.ready(false);
  try {
    const journey = await Page.post("/dashboard/api/journey", current);
    document.getElementById("summary").textContent = Texts.format("journey.summary", { steps: journey.steps.length });
    document.querySelector("#steps tbody").replaceChildren(...journey.steps.map(stepRow));
    document.getElementById("result").hidden = false;
    document.getElementById("status").hidden = true;
  } catch (e) {
    document.getElementById("result").hidden = true;
    Page.showFailure(e.message === "not_found" ? "journey.unknown" : "journey.failed", e);
  }
  Page.ready(true);
}

async function exportRecord() {
  Page.ready(false);
  try {
    const record = await Page.post("/dashboard/api/export", current);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([JSON.stringify(record, null, 2)], { type: "application/json" }));
    link.download = "regulars-customer-record.json";
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (e) {
    Page.showFailure("journey.failed", e);
  }
  Page.ready(true);
}

async function erase() {
  if (!confirm(Texts.format("journey.confirm_erase"))) return;
  Page.ready(false);
  try {
    const receipt = await Page.postJob("/dashboard/api/erase", current);
    current = null;
    document.getElementById("value").value = "";
    document.getElementById("result").hidden = true;
    document.getElementById("receipt-id").textContent = Texts.format("journey.receipt_id", { id: receipt.receipt_id });
    const counts = Object.entries(receipt.erased.events || {}).map(([type, n]) =>
      Object.assign(document.createElement("li"), { textContent: Texts.format("journey.erased_events", { type: Texts.format(`journey.type.${type}`), n }) }));
    document.getElementById("receipt-counts").replaceChildren(...counts);
    document.getElementById("receipt").hidden = false;
  } catch (e) {
    Page.showFailure("journey.failed", e);
  }
  Page.ready(true);
}

(async () => {
  try {
    await Page.start("nav.journey");
    document.getElementById("lookup").addEventListener("submit", lookUp);
    document.getElementById("export").addEventListener("click", exportRecord);
    document.getElementById("erase").addEventListener("click", erase);
    Page.ready(true);
  } catch (e) {
    Page.showFailure("journey.failed", e);
  }
})();
