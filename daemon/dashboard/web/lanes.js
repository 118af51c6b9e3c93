// Lane tokens: what lets a till on another machine reach regularsd over TLS. Listed from
// GET /dashboard/api/tokens, issued and revoked through POST /dashboard/api/tokens/issue and
// /revoke (the owner's `tokens` command, as regularsctl tokens runs it). A new token is shown
// once, here, and kept nowhere by the page.
"use strict";

function tokenRow(t) {
  const tr = document.createElement("tr");
  tr.dataset.tokenId = t.token_id;
  const cells = [t.terminal, t.token_id, Texts.dateTime(t.created),
                 t.revoked ? Texts.format("lanes.revoked", { day: Texts.date(t.revoked) }) : Texts.format("lanes.in_force")];
  for (const text of cells) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
  const action = document.createElement("td");
  if (!t.revoked) {
    const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary revoke",
      textContent: Texts.format("lanes.revoke") });
    button.setAttribute("aria-label", Texts.format("lanes.revoke_label", { terminal: t.terminal, token_id: t.token_id }));
    button.addEventListener("click", () => revoke(t));
    action.append(button);
  }
  tr.append(action);
  return tr;
}

async function load() {
  const answer = await Page.getJson("/dashboard/api/tokens");
  Page.showList("token-rows", answer.tokens, tokenRow, "empty");
  Page.ready(true);
}

async function revoke(t) {
  if (!confirm(Texts.format("lanes.confirm_revoke", { terminal: t.terminal }))) return;
  await Page.change("/dashboard/api/tokens/revoke", { token_id: t.token_id }, load, "lanes.save_failed");
}

async function issue(event) {
  event.preventDefault();
  const terminal = document.getElementById("terminal");
  Page.ready(false);
  try {
    const issued = await Page.post("/dashboard/api/tokens/issue", { terminal: terminal.value.trim() });
    document.getElementById("new-token").textContent = issued.token;
    document.getElementById("issued").hidden = false;
    terminal.value = "";
    await load();
  } catch (e) {
    Page.showFailure("lanes.save_failed", e);
    Page.ready(true);
  }
}

(async () => {
  try {
    await Page.start("nav.lanes");
    document.getElementById("issue").addEventListener("submit", issue);
    await load();
  } catch (e) {
    Page.showFailure("lanes.failed", e);
  }
})();
