// Staff ideas: what cashiers flagged from the tills, newest first, from GET /dashboard/api/ideas
// (the owner's `ideas` command). The owner marks each seen or done through
// POST /dashboard/api/idea (the `idea` command, as regularsctl idea runs it).
"use strict";

function whoText(idea) {
  const parts = [Texts.format("ideas.cashier", { cashier_id: idea.cashier })];
  if (idea.lane) parts.push(Texts.format("ideas.lane", { lane: idea.lane }));
  if (idea.updated) parts.push(Texts.format("ideas.reviewed", { day: Texts.date(idea.updated), by: idea.reviewed_by || "" }));
  return parts.join(" · ");
}

// One idea, written with textContent only: the text is a cashier's own words.
function renderIdea(idea) {
  const li = document.getElementById("idea-template").content.firstElementChild.cloneNode(true);
  Texts.fill(li);  // a template's contents were not in the page when the page's texts were filled
  li.dataset.idea = idea.idea;
  li.dataset.state = idea.state;
  li.querySelector(".kind").textContent = Texts.format(`ideas.kind.${idea.kind}`);
  li.querySelector(".when").textContent = Texts.date(idea.time);
  li.querySelector(".state").textContent = Texts.format(`ideas.state.${idea.state}`);
  li.querySelector(".text").textContent = idea.text;
  li.querySelector(".who").textContent = whoText(idea);
  for (const button of li.querySelectorAll("button[name=state]")) button.hidden = button.value === idea.state;
  li.querySelector("form.move").addEventListener("submit", (event) => mark(event, idea.idea));
  return li;
}

async function mark(event, idea) {
  event.preventDefault();
  await Page.change("/dashboard/api/idea", { idea, state: event.submitter.value }, load, "ideas.save_failed");
}

async function load() {
  const state = document.getElementById("state").value;
  const answer = await Page.getJson(`/dashboard/api/ideas?state=${encodeURIComponent(state)}`);
  Page.showList("ideas", answer.items, renderIdea, "empty", Texts.format(`ideas.empty.${state}`));
  Page.ready(true);
}

(async () => {
  try {
    await Page.start("nav.ideas");
    const filter = document.getElementById("state");
    filter.addEventListener("change", () => load().catch((e) => Page.showFailure("ideas.failed", e)));
    await load();
  } catch (e) {
    Page.showFailure("ideas.failed", e);
  }
})();
