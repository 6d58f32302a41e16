"use strict";
// The Share Case dialog of the case page: a modal <dialog> when the browser has one (the form works without).
(function () {
  var button = document.getElementById("share-case-button");
  var dialog = document.getElementById("share-case-dialog");
  if (!button || !dialog || typeof dialog.showModal !== "function") { return; }
  if (dialog.hasAttribute("open")) { dialog.removeAttribute("open"); dialog.showModal(); }
  button.addEventListener("click", function (event) {
    event.preventDefault();
    dialog.showModal();
    document.getElementById("share-case-select").focus();
  });
  document.getElementById("share-case-cancel").addEventListener("click", function (event) {
    event.preventDefault();
    dialog.close();
    button.focus();
  });
})();
