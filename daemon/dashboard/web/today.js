// The Today page: a thin view over GET /dashboard/api/today (the owner's `today` command, the
// same answer as the admin API's GET /v1/today). A figure with no data says how to get some.
"use strict";

const numbers = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

async function getJson(path) {
  const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (r.status === 401) {
    location.assign("/dashboard/login");
    throw new Error("signed_out");
  }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.code : `http_${r.status}`);
  return body;
}

// Shows `value` (a number, or null for "no data") in the figure `id`; its raw value stays in
// data-value for whoever checks the page against the API.
function showFigure(id, value, suffix = "") {
  const figure = document.getElementById(id);
  const card = figure.closest(".card");
  const empty = card.querySelector(".empty");
  figure.dataset.value = value === null ? "" : String(value);
  figure.textContent = value === null ? "–" : numbers.format(value) + suffix;
  if (empty) empty.hidden = !(value === null || value === 0);
}

function showDetail(id, text) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.hidden = text === "";
}

function render(today) {
  document.getElementById("title").textContent = Texts.format("today.title", { day: today.day });
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
  await Texts.load("en");
  Texts.fill();
  document.title = `${Texts.format("nav.today")} · ${Texts.format("app.name")}`;
  try {
    const session = await getJson("/dashboard/api/session");
    document.getElementById("csrf").value = session.csrf;
    render(await getJson("/dashboard/api/today"));
    document.body.dataset.ready = "true";
  } catch (e) {
    const status = document.getElementById("status");
    status.textContent = Texts.format("today.failed", { code: e.message });
    status.hidden = false;
  }
})();
