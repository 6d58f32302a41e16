"use strict";
// The collaborative-network pages, under a policy that allows no inline script or handler.
//
// A form with data-confirm asks before it is sent (deleting a rule); without JavaScript it is sent at once.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) { return; }
  if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
});

// The Linked Account Rules page: a rule row dragged onto another takes its place, and the new order is
// sent with the #rules-order form (one `id` per rule), which the server checks as the API's PUT .../order
// does. The default rule's row is never draggable and stays last: a rule dropped on it goes just before it.
// Without JavaScript the Up and Down buttons do the same, one place at a time.
(function () {
  var table = document.getElementById("rules");
  var form = document.getElementById("rules-order");
  if (!table || !form || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var dragged = null;
  var marked = null;

  function ruleRows() {
    return Array.prototype.slice.call(body.querySelectorAll("tr[data-rule]"));
  }

  function rowAt(event) {
    var target = event.target instanceof Element ? event.target : null;
    return target ? target.closest("tr[data-rule], tr.default-rule") : null;
  }

  function unmark() {
    if (marked) { marked.classList.remove("drop-before", "drop-after"); marked = null; }
  }

  // Where the dragged row goes when dropped on `row`: it takes the row's place (after it when moving down,
  // before it when moving up), and before the default rule.
  function placement(row) {
    if (row.classList.contains("default-rule")) { return "before"; }
    var rows = ruleRows();
    return rows.indexOf(dragged) < rows.indexOf(row) ? "after" : "before";
  }

  body.addEventListener("dragstart", function (event) {
    var row = event.target instanceof Element ? event.target.closest("tr[data-rule][draggable='true']") : null;
    if (!row) { event.preventDefault(); return; }
    dragged = row;
    row.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.rule);
  });

  body.addEventListener("dragover", function (event) {
    var row = rowAt(event);
    if (!dragged || !row) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    unmark();
    if (row !== dragged) { marked = row; row.classList.add("drop-" + placement(row)); }
  });

  body.addEventListener("dragleave", function (event) {
    if (!body.contains(event.relatedTarget)) { unmark(); }
  });

  body.addEventListener("dragend", function () {
    unmark();
    if (dragged) { dragged.classList.remove("dragging"); dragged = null; }
  });

  body.addEventListener("drop", function (event) {
    var row = rowAt(event);
    if (!dragged || !row) { return; }
    event.preventDefault();
    unmark();
    var before = ruleRows().map(function (r) { return r.dataset.rule; }).join(",");
    if (row !== dragged) {
      body.insertBefore(dragged, placement(row) === "after" ? row.nextSibling : row);
    }
    var order = ruleRows().map(function (r) { return r.dataset.rule; });
    dragged.classList.remove("dragging");
    dragged = null;
    if (order.join(",") === before) { return; }
    form.querySelectorAll("input[name='id']").forEach(function (input) { input.remove(); });
    order.forEach(function (id) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "id";
      input.value = id;
      form.appendChild(input);
    });
    table.setAttribute("aria-busy", "true");
    form.submit();
  });
})();
