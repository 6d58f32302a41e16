"use strict";
// The collaborative-network pages: a form with data-confirm asks before it is sent (deleting a rule).
// Without JavaScript the form is sent at once, as the pages' policy allows no inline handler.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) { return; }
  if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
});
