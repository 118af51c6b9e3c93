// The Today page: a thin view over GET /dashboard/api/today (the owner's `today` command, the
// same answer as the admin API's GET /v1/today). A figure with no data says how to get some.
"use strict";

// Shows `value` (a number, or null for "no data") in the figure `id`; its raw value stays in
// data-value for whoever checks the page against the API.
function showFigure(id, value, suffix = "") {
  const figure = document.getElementById(id);
  const card = figure.closest(".card");
  const empty = card.querySelector(".empty");
  figure.dataset.value = value === null ? "" : String(value);
  figure.textContent = value === null ? "–" : Texts.number(value) + suffix;
  if (empty) empty.hidden = !(value === null || value === 0);
}

function showDetail(id, text) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.hidden = text === "";
}

function render(today) {
  document.getElementById("title").textContent = Texts.format("today.title", { day: Texts.date(today.day) });
  const { visits, offers, satisfaction, followups, ideas } = today;
  showFigure("visits", visits.total);
  showFigure("returning-share", visits.returning_share, "%");
  showDetail("returning-detail", visits.total > 0 ? Texts.format("today.returning_detail", visits) : "");
  showFigure("offers-made", offers.made);
  showFigure("offers-accepted", offers.accepted);
  document.getElementById("nps-label").textContent = Texts.format("today.nps", satisfaction);
  document.getElementById("csat-label").textContent = Texts.format("today.csat", satisfaction);
  showFigure("nps", satisfaction.nps);
  showDetail("nps-detail", satisfaction.nps_responses > 0 ? Texts.format("today.responses", { count: satisfaction.nps_responses }) : "");
  showFigure("csat", satisfaction.csat, "%");
  showDetail("csat-detail", satisfaction.csat_responses > 0 ? Texts.format("today.responses", { count: satisfaction.csat_responses }) : "");
  showFigure("followups-open", followups.open);
  showDetail("followups-detail", followups.oldest_days === null ? "" : Texts.format("today.followups_oldest", { days: followups.oldest_days }));
  document.getElementById("ideas-label").textContent = Texts.format("today.ideas", ideas);
  showFigure("ideas-new", ideas.new);
  document.getElementById("cards").hidden = false;
}

(async () => {
  try {
    await Page.start("nav.today");
    render(await Page.getJson("/dashboard/api/today"));
    Page.ready(true);
  } catch (e) {
    Page.showFailure("today.failed", e);
  }
})();
