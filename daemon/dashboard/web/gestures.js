// The owner's gesture rules: a form that builds a rule without writing JSON, checked as the owner
// types by the same validation regularsctl gestures validate runs (the field at fault is named
// and marked), a dry run over the last N days, saving, switching rules on and off, and the ROI
// of each rule: offered against held out, with 95% intervals (Chart.js). Everything goes through
// the owner's `gestures` command (GET /dashboard/api/gestures, /roi; POST .../validate, dry-run,
// save, enable, disable).
"use strict";

const $ = (id) => document.getElementById(id);
const numberOrNothing = (text) => (text.trim() === "" ? undefined : Number(text));

// The conditions the form builds. Each: its inputs (name, type, options) and the condition made
// of their values. Their paths name the inputs in the validation's field names.
const CONDITIONS = {
  segment: { inputs: [["segment", "select", ["regular", "occasional", "new", "lapsed"]]], make: (v) => ({ segment: v.segment }) },
  tag: { inputs: [["tag", "text"]], make: (v) => ({ tag: v.tag }) },
  visit_nth: { inputs: [["visit.nth", "number"]], make: (v) => ({ visit: { nth: v["visit.nth"] } }) },
  visit_every: { inputs: [["visit.every", "number"]], make: (v) => ({ visit: { every: v["visit.every"] } }) },
  absent: { inputs: [["absent.days", "number"]], make: (v) => ({ absent: { days: v["absent.days"] } }) },
  birthday: { inputs: [["birthday.days_before", "number"], ["birthday.days_after", "number"]],
              make: (v) => ({ birthday: { days_before: v["birthday.days_before"], days_after: v["birthday.days_after"] } }) },
  spend: { inputs: [["spend.over", "number"], ["spend.days", "number"]], make: (v) => ({ spend: { over: v["spend.over"], days: v["spend.days"] } }) },
  bought: { inputs: [["bought.category", "text"], ["bought.member", "select", ["", "any"]]],
            make: (v) => ({ bought: { category: v["bought.category"], ...(v["bought.member"] ? { member: v["bought.member"] } : {}) } }) },
  not_in_basket: { inputs: [["not.in_basket.category", "text"]], make: (v) => ({ not: { in_basket: { category: v["not.in_basket.category"] } } }) },
  complaint: { inputs: [["complaint.within_days", "number"]], make: (v) => ({ complaint: { within_days: v["complaint.within_days"] } }) },
};

// The fields of each kind of gesture, beside the message every kind may carry.
const GESTURES = {
  message: [["cost", "number"]],
  free_item: [["sku", "text"], ["favourite.category", "text"], ["value", "number"]],
  discount: [["percent", "number"], ["max_value", "number"], ["amount", "number"]],
  task: [["task", "text"], ["cost", "number"]],
};

function labelled(text, input) {
  const label = document.createElement("label");
  label.append(Object.assign(document.createElement("span"), { textContent: text }), input);
  return label;
}

function inputFor(type, options, field, labelKey) {
  const input = document.createElement(type === "select" ? "select" : "input");
  if (type === "select")
    for (const o of options)
      input.append(Object.assign(document.createElement("option"), { value: o, textContent: Texts.formatOr(`${labelKey}.${o || "own"}`, o) }));
  else input.type = type;
  input.dataset.name = field;
  input.addEventListener("input", validateSoon);
  return input;
}

function conditionRow(kind = "segment") {
  const li = document.createElement("li");
  li.className = "condition";
  const select = document.createElement("select");
  for (const k of Object.keys(CONDITIONS))
    select.append(Object.assign(document.createElement("option"), { value: k, textContent: Texts.format(`gestures.cond.${k}`) }));
  select.value = kind;
  select.className = "condition-kind";
  const params = document.createElement("span");
  params.className = "params";
  const fill = () => {
    params.replaceChildren(...CONDITIONS[select.value].inputs.map(([name, type, options]) =>
      labelled(Texts.format(`gestures.param.${name}`), inputFor(type, options, name, `gestures.param.${name}`))));
    validateSoon();
  };
  select.addEventListener("change", fill);
  const remove = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: Texts.format("gestures.remove") });
  remove.addEventListener("click", () => { li.remove(); validateSoon(); });
  li.append(labelled(Texts.format("gestures.condition"), select), params, remove);
  fill();
  return li;
}

function gestureFields() {
  const kind = $("f-kind").value;
  $("gesture-fields").replaceChildren(...GESTURES[kind].map(([name, type]) =>
    labelled(Texts.format(`gestures.g.${name}`), inputFor(type, [], name, ""))));
  for (const input of $("gesture-fields").querySelectorAll("[data-name]")) input.dataset.field = `gesture.${input.dataset.name}`;
  validateSoon();
}

// The rule as the form says it; every condition row's inputs get the field names the validation
// uses for them (when.all[i]...), so an error can be pointed at.
function ruleFromForm() {
  const rule = { id: $("f-id").value.trim() };
  if ($("f-name").value.trim()) rule.name = $("f-name").value.trim();
  const priority = numberOrNothing($("f-priority").value);
  if (priority !== undefined) rule.priority = priority;
  const all = [];
  document.querySelectorAll("#conditions > li").forEach((li, i) => {
    const kind = li.querySelector(".condition-kind").value;
    const values = {};
    for (const input of li.querySelectorAll(".params [data-name]")) {
      input.dataset.field = `when.all[${i}].${input.dataset.name}`;
      values[input.dataset.name] = input.type === "number" ? numberOrNothing(input.value) : input.value.trim() || undefined;
    }
    all.push(CONDITIONS[kind].make(values));
  });
  if (all.length > 0) rule.when = { all };
  const gesture = { kind: $("f-kind").value };
  for (const input of $("gesture-fields").querySelectorAll("[data-name]")) {
    const value = input.type === "number" ? numberOrNothing(input.value) : input.value.trim() || undefined;
    if (value === undefined) continue;
    if (input.dataset.name === "favourite.category") gesture.favourite = { category: value };
    else if (input.dataset.name === "task") gesture.task = { en: value };
    else gesture[input.dataset.name] = value;
  }
  if ($("f-message-en").value.trim()) gesture.message = { en: $("f-message-en").value.trim() };
  rule.gesture = gesture;
  const limits = {};
  for (const input of document.querySelectorAll("[data-limit]")) {
    const value = numberOrNothing(input.value);
    if (value !== undefined) limits[input.dataset.limit] = value;
  }
  if (Object.keys(limits).length > 0) rule.limits = limits;
  const holdout = numberOrNothing($("f-holdout").value);
  if (holdout !== undefined) rule.holdout = holdout / 100;
  return rule;
}

// The input the validation's field names: the one whose field is the longest prefix of it.
function inputForField(field) {
  const path = field.replace(/^rule\./, "");
  let best = null;
  for (const el of document.querySelectorAll("#rule-form [data-field]")) {
    const f = el.dataset.field;
    const covers = path === f || path.startsWith(`${f}.`) || path.startsWith(`${f}[`);
    if (covers && (!best || f.length > best.dataset.field.length)) best = el;
  }
  return best;
}

function labelOf(input) {
  if (!input) return "";
  const label = input.closest("label") || document.querySelector(`label[for="${input.id}"]`);
  const span = label && label.querySelector("span");
  return ((span || label) ? (span || label).textContent : input.dataset.field).trim();
}

function showVerdict(error) {
  for (const el of document.querySelectorAll("#rule-form [aria-invalid]")) el.removeAttribute("aria-invalid");
  const verdict = $("verdict");
  verdict.classList.toggle("error", Boolean(error));
  if (!error) {
    verdict.textContent = Texts.format("gestures.valid");
    return;
  }
  const input = error.field ? inputForField(error.field) : null;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "verdict");
  }
  verdict.dataset.field = error.field || "";
  verdict.textContent = input ? Texts.format("gestures.invalid_field", { field: labelOf(input), message: error.message })
                              : Texts.format("gestures.invalid", { message: error.message });
}

// Posts a gesture action; resolves to the answer, or to { error } when the daemon refused it.
async function gestureAction(action, fields) {
  const r = await fetch(`/dashboard/api/gestures/${action}`, {
    method: "POST", credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": Page.csrf },
    body: new URLSearchParams(fields),
  });
  if (r.status === 401) location.assign("/dashboard/login");
  const body = await r.json();
  return r.ok ? body : { error: body.error };
}

let validation = { timer: 0, asked: 0 };

function validateSoon() {
  clearTimeout(validation.timer);
  Page.ready(false);
  validation.timer = setTimeout(validate, 250);
}

async function validate() {
  const asked = ++validation.asked;
  const answer = await gestureAction("validate", { rule: JSON.stringify(ruleFromForm()) });
  if (asked !== validation.asked) return;  // the owner has typed since: a newer check is on its way
  showVerdict(answer.error);
  Page.ready(true);
}

function showDryRun(title, answer) {
  $("dry-result").hidden = false;
  if (answer.error) {
    $("dry-title").textContent = Texts.format("gestures.invalid", { message: answer.error.message });
    $("dry-figures").replaceChildren();
    return;
  }
  $("dry-title").textContent = title;
  const figures = ["purchases", "eligible_visits", "offers", "customers", "held_out", "capped", "cost"];
  $("dry-figures").replaceChildren(...figures.map((k) => {
    const li = Object.assign(document.createElement("li"), { textContent: Texts.format(`gestures.dry.${k}`, { n: answer[k] }) });
    li.dataset.figure = k;
    li.dataset.value = String(answer[k]);
    return li;
  }));
}

async function dryRun(fields, title) {
  Page.ready(false);
  $("dry-result").hidden = false;
  $("dry-title").textContent = Texts.format("gestures.dry_running");
  $("dry-figures").replaceChildren();
  showDryRun(title, await Page.awaitJob(await gestureAction("dry-run", { ...fields, days: $("dry-days").value })));
  Page.ready(true);
}

async function save(event) {
  event.preventDefault();
  Page.ready(false);
  const answer = await gestureAction("save", { rule: JSON.stringify(ruleFromForm()) });
  if (answer.error) showVerdict(answer.error);
  else {
    $("verdict").classList.remove("error");
    $("verdict").textContent = Texts.format("gestures.saved", { id: answer.added });
    await Promise.all([loadRules(false), loadRoi()]);
  }
  Page.ready(true);
}

function summary(rule) {
  const g = rule.gesture;
  const cost = g.value ?? g.max_value ?? g.amount ?? g.cost ?? 0;
  return Texts.format("gestures.summary", { kind: Texts.format(`gestures.kind.${g.kind}`), cost });
}

function ruleRow(rule) {
  const tr = document.createElement("tr");
  tr.dataset.rule = rule.id;
  tr.dataset.enabled = String(rule.enabled);
  const cells = [rule.name ? `${rule.name} (${rule.id})` : rule.id, summary(rule), `${Texts.number(Math.round((rule.holdout || 0) * 100))}%`,
                 Texts.format(rule.enabled ? "gestures.on" : "gestures.off")];
  for (const text of cells) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
  const actions = document.createElement("td");
  const toggle = Object.assign(document.createElement("button"), { type: "button", className: "secondary toggle",
    textContent: Texts.format(rule.enabled ? "gestures.switch_off" : "gestures.switch_on") });
  toggle.addEventListener("click", async () => {
    Page.ready(false);
    const answer = await gestureAction(rule.enabled ? "disable" : "enable", { id: rule.id });
    if (answer.error) Page.showFailure("gestures.failed", new Error(answer.error.code));
    await loadRules();
  });
  const dry = Object.assign(document.createElement("button"), { type: "button", className: "secondary",
    textContent: Texts.format("gestures.dry_run_this") });
  dry.addEventListener("click", () => dryRun({ id: rule.id }, Texts.format("gestures.dry_title_rule", { id: rule.id, days: $("dry-days").value })));
  actions.append(toggle, " ", dry);
  tr.append(actions);
  return tr;
}

async function loadRules(done = true) {
  const answer = await Page.getJson("/dashboard/api/gestures");
  document.querySelector("#rules tbody").replaceChildren(...answer.rules.map(ruleRow));
  $("rules-empty").hidden = answer.rules.length > 0;
  if (done) Page.ready(true);
}

let roiRows = [];

// One difference (offered minus held out) with its 95% interval as a floating bar; 0 is marked.
function drawDifference(metric, diff) {
  const canvas = $(`roi-${metric}`);
  Chart.getChart(canvas)?.destroy();
  const ci = diff.ci95;
  const values = [diff.difference, ...(ci || []), 0];
  const span = Math.max(...values.map(Math.abs)) || 1;
  new Chart(canvas, {
    data: {
      labels: [Texts.format("gestures.roi.difference")],
      datasets: [
        { type: "bar", label: Texts.format("satisfaction.range_label"), data: [ci], backgroundColor: "rgba(11, 92, 173, 0.25)", barPercentage: 0.3 },
        { type: "line", label: Texts.format("gestures.roi.difference"), data: [diff.difference], borderColor: "#0b5cad",
          backgroundColor: "#0b5cad", pointRadius: 5, showLine: false },
      ],
    },
    options: { animation: false, locale: Texts.intl[Texts.locale], scales: { y: { min: -span * 1.1, max: span * 1.1 } },
               plugins: { legend: { rtl: document.dir === "rtl" }, tooltip: { rtl: document.dir === "rtl" } } },
  });
  canvas.setAttribute("aria-label", ci ? Texts.format("gestures.roi.range_label", { difference: diff.difference, low: ci[0], high: ci[1] })
                                       : Texts.format("gestures.roi.no_range", { difference: diff.difference }));
}

function showRoi() {
  const row = roiRows.find((r) => r.rule === $("roi-rule").value);
  $("roi-empty").hidden = Boolean(row);
  if (!row) return;
  $("roi-groups").textContent = Texts.format("gestures.roi.groups", {
    offered: row.offered.customers, offered_followed: row.offered.followed,
    held_out: row.held_out.customers, held_out_followed: row.held_out.followed, days: row.window_days });
  for (const metric of ["return_rate", "visits_per_customer", "spend_per_customer"]) drawDifference(metric, row.difference[metric]);
  $("roi-verdict").textContent = Shown.roiVerdict(row);
}

async function loadRoi() {
  const answer = await Page.awaitJob(await Page.getJson("/dashboard/api/gestures/roi"));
  if (answer.error) throw new Error(answer.error.code);
  roiRows = answer.rules;
  const select = $("roi-rule");
  const chosen = select.value;
  select.replaceChildren(...roiRows.map((r) => Object.assign(document.createElement("option"), { value: r.rule, textContent: r.name || r.rule })));
  if (roiRows.some((r) => r.rule === chosen)) select.value = chosen;
  showRoi();
}

(async () => {
  try {
    await Page.start("nav.gestures");
    $("placeholders").textContent = Texts.format("gestures.placeholders",
      { name_code: "{name|friend}", item_code: "{item}", member_code: "{member|the family}" });
    $("add-condition").addEventListener("click", () => $("conditions").append(conditionRow()));
    $("f-kind").addEventListener("change", gestureFields);
    for (const el of document.querySelectorAll("#rule-form input")) el.addEventListener("input", validateSoon);
    $("rule-form").addEventListener("submit", save);
    $("dry-run").addEventListener("click", () => dryRun({ rule: JSON.stringify(ruleFromForm()) },
      Texts.format("gestures.dry_title", { days: $("dry-days").value })));
    $("roi-rule").addEventListener("change", showRoi);
    $("conditions").append(conditionRow());
    gestureFields();
    await Promise.all([loadRules(false), loadRoi()]);
    await validate();
  } catch (e) {
    Page.showFailure("gestures.failed", e);
  }
})();
