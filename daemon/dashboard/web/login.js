// The sign-in page: its words, and the reason the last try failed (the server names it in
// <body data-error>).
"use strict";

(async () => {
  await Texts.load();
  Texts.fill();
  document.title = Texts.format("app.name");
  const code = document.body.dataset.error;
  if (code) {
    const error = document.getElementById("error");
    error.textContent = Texts.format(`login.error.${code}`);
    error.hidden = false;
  }
  document.getElementById("token").focus();
})();
