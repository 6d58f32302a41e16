// Header menus are <details> and work without this file; it only closes an open menu on Escape
// (giving focus back to its label) or on a click outside it.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = document.querySelector(".topbar details[open]");
  if (!open) return;
  open.removeAttribute("open");
  open.querySelector("summary").focus();
});
document.addEventListener("click", (event) => {
  for (const open of document.querySelectorAll(".topbar details[open]")) {
    if (!open.contains(event.target)) open.removeAttribute("open");
  }
});
