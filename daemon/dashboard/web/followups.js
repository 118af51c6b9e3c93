// The follow-up queue: unhappy answers, oldest first, from GET /dashboard/api/followups (the
// owner's `followups` command). Each can be marked contacted or resolved, with a note, through
// POST /dashboard/api/followup (the `followup` command, as regularsctl followup runs it).
"use strict";

function scoreText(item) {
  if (item.nps !== null) return Texts.format("followups.score.nps", { points: item.nps });
  if (item.csat !== null) return Texts.format("followups.score.csat", { points: item.csat });
  return Texts.format("followups.score.none");
}

function whoText(item) {
  const parts = [];
  if (item.cashier) parts.push(Texts.format("followups.cashier", { cashier_id: item.cashier }));
  if (item.lane) parts.push(Texts.format("followups.lane", { lane: item.lane }));
  if (item.touchpoint) parts.push(Texts.format("followups.touchpoint", { touchpoint: item.touchpoint }));
  parts.push(Texts.format("followups.opened", { opened: Texts.date(item.opened) }));
  return parts.join(" · ");
}

// One queue entry, written with textContent only: a comment is the customer's own words.
function renderItem(item) {
  const li = document.getElementById("item-template").content.firstElementChild.cloneNode(true);
  Texts.fill(li);  // a template's contents were not in the page when the page's texts were filled
  li.dataset.feedback = item.feedback;
  li.dataset.state = item.state;
  li.querySelector(".score").textContent = scoreText(item);
  li.querySelector(".age").textContent = Texts.format("followups.age", { days: item.age_days });
  li.querySelector(".state").textContent = Texts.format(`followups.state.${item.state}`);
  li.querySelector(".reasons").textContent = item.reasons.map((r) => r.replaceAll("_", " ")).join(", ");
  const comment = li.querySelector(".comment");
  comment.textContent = item.comment || "";
  comment.hidden = !item.comment;
  li.querySelector(".who").textContent = whoText(item);
  const notes = li.querySelector(".notes");
  for (const n of item.notes) {
    const entry = document.createElement("li");
    const day = Texts.date(n.time_ms);
    entry.textContent = Texts.format(n.note ? "followups.history_note" : "followups.history",
                                     { day, state: Texts.format(`followups.state.${n.state}`), by: n.by || "", note: n.note || "" });
    notes.append(entry);
  }
  for (const button of li.querySelectorAll("button[name=state]")) button.hidden = button.value === item.state;
  li.querySelector("form.move").addEventListener("submit", (event) => move(event, item.feedback));
  return li;
}

async function move(event, feedback) {
  event.preventDefault();
  const form = event.target;
  const fields = { feedback, state: event.submitter.value };
  const note = form.elements.note.value.trim();
  if (note) fields.note = note;
  await Page.change("/dashboard/api/followup", fields, load, "followups.save_failed");
}

async function load() {
  const state = document.getElementById("state").value;
  const answer = await Page.getJson(`/dashboard/api/followups?state=${encodeURIComponent(state)}`);
  Page.showList("queue", answer.items, renderItem, "empty", Texts.format(`followups.empty.${state}`));
  const more = document.getElementById("more");
  more.textContent = Texts.format("followups.more", { shown: answer.items.length, total: answer.total });
  more.hidden = answer.total <= answer.items.length;
  Page.ready(true);
}

(async () => {
  try {
    await Page.start("nav.followups");
    const filter = document.getElementById("state");
    const asked = new URLSearchParams(location.search).get("state");
    if (asked && [...filter.options].some((o) => o.value === asked)) filter.value = asked;
    filter.addEventListener("change", () => load().catch((e) => Page.showFailure("followups.failed", e)));
    await load();
  } catch (e) {
    Page.showFailure("followups.failed", e);
  }
})();
