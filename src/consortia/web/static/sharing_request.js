// Contact rows of the case-sharing request page: add and remove rows, renumbering their labels.
(function () {
  var list = document.getElementById("contact-rows");
  if (!list) { return; }
  var add = document.getElementById("add-contact-button");
  var template = document.getElementById("contact-row-template");
  var status = document.getElementById("contact-rows-status");
  var maxRows = parseInt(list && list.getAttribute("data-max-rows"), 10) || 1;
  if (!list || !add || !template || !("content" in template)) { return; }
  function rows() { return list.querySelectorAll(".contact-row"); }
  function renumber() {
    rows().forEach(function (row, index) {
      var n = index + 1;
      row.querySelectorAll("label[data-label]").forEach(function (label) {
        var field = label.nextElementSibling;
        field.id = (field.tagName === "SELECT" ? "contact-institution-" : "contact-primary-id-") + n;
        label.htmlFor = field.id;
        label.textContent = "Contact " + n + ": " + label.getAttribute("data-label");
      });
      var remove = row.querySelector(".remove-contact");
      remove.textContent = "Remove contact " + n;
      remove.hidden = false;
    });
    add.disabled = rows().length >= maxRows;
  }
  add.hidden = false;
  renumber();
  add.addEventListener("click", function () {
    var row = template.content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    renumber();
    row.querySelector("select").focus();
    status.textContent = "Contact " + rows().length + " added.";
  });
  list.addEventListener("click", function (event) {
    var button = event.target.closest(".remove-contact");
    if (!button) { return; }
    var row = button.closest(".contact-row");
    var next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumber();
    (next ? next.querySelector("input") : add).focus();
    status.textContent = "Contact removed; " + rows().length + " left.";
  });
})();
