/* Dataset view: page and "all matching" selection, the selected count, and keyboard shortcuts
 * (/ search, j / k move, x select, o open, ? help), ignored while typing in a field. */
(function () {
  "use strict";
  const form = document.getElementById("dataset-selection");
  const rows = Array.from(document.querySelectorAll("#dataset-items .dataset-row"));
  const boxes = () => Array.from(document.querySelectorAll("#dataset-items input[name=items]"));
  const pageBox = document.getElementById("select-page");
  const allBox = document.getElementById("select-all");
  const count = document.getElementById("selected-count");
  const msg = (name) => (document.querySelector(`[data-msg="${name}"]`) || {}).textContent || "";

  function update() {
    if (!count) return;
    const n = boxes().filter((b) => b.checked).length;
    count.textContent = allBox && allBox.checked ? "" : (n ? `${n} ${msg("selected")}` : "");
    if (pageBox) pageBox.checked = n > 0 && n === boxes().length;
  }
  if (pageBox) pageBox.addEventListener("change", () => {
    boxes().forEach((b) => { b.checked = pageBox.checked; });
    update();
  });
  if (allBox) allBox.addEventListener("change", () => {
    // "All matching" covers every page: the ticks of this page are implied.
    boxes().forEach((b) => { b.checked = allBox.checked; b.disabled = allBox.checked; });
    update();
  });
  boxes().forEach((b) => b.addEventListener("change", update));
  if (form) form.addEventListener("submit", (e) => {
    if (!(allBox && allBox.checked) && !boxes().some((b) => b.checked)) {
      e.preventDefault();
      if (count) count.textContent = msg("nothing");
    }
  });

  const help = document.getElementById("dataset-help");
  const toggleHelp = () => { if (help) help.hidden = !help.hidden; };
  const helpButton = document.querySelector("[data-role=help-toggle]");
  if (helpButton) helpButton.addEventListener("click", toggleHelp);

  let current = -1;
  function focus(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, n) => r.classList.toggle("console-current", n === current));
    rows[current].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) && e.target.type !== "checkbox") {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const row = rows[current];
    if (e.key === "/") {
      const q = document.querySelector("#dataset-filters input[name=q]");
      if (q) { q.closest("details").open = true; q.focus(); q.select(); }
    } else if (e.key === "j") focus(current + 1);
    else if (e.key === "k") focus(current - 1);
    else if (e.key === "x" && row) {
      const box = row.querySelector("input[name=items]");
      if (box && !box.disabled) { box.checked = !box.checked; update(); }
    } else if ((e.key === "o" || e.key === "Enter") && row) row.querySelector("a.dataset-open").click();
    else if (e.key === "?") toggleHelp();
    else return;
    e.preventDefault();
  });
  update();
})();
