// The one-time login link: the code travels after '#', so it never reaches a server log or a
// Referer header. This posts it, and takes it out of the address bar and the history first.
"use strict";

(async () => {
  const code = location.hash.slice(1);
  history.replaceState(null, "", location.pathname);
  await Texts.load();
  Texts.fill();
  document.title = Texts.format("app.name");
  if (!/^[0-9a-f]{64}$/.test(code)) {
    const missing = document.getElementById("missing");
    missing.textContent = Texts.format("link.missing");
    missing.hidden = false;
    return;
  }
  document.getElementById("code").value = code;
  document.getElementById("link-form").submit();
})();
