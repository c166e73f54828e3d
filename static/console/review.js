/* Review page shortcuts (desktop): j / k move between answers, a accepts, r writes a rejection reason,
 * c opens the correction, ? shows the list. Ignored while typing in a field. */
(function () {
  "use strict";
  const cards = Array.from(document.querySelectorAll("#answers .console-answer"));
  if (!cards.length) return;
  let current = 0;
  function focus(i) {
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach((c, n) => c.classList.toggle("console-current", n === current));
    cards[current].scrollIntoView({ block: "nearest" });
  }
  focus(0);
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const card = cards[current];
    if (e.key === "j") focus(current + 1);
    else if (e.key === "k") focus(current - 1);
    else if (e.key === "a") card.querySelector("button[value=accept]").click();
    else if (e.key === "r") { e.preventDefault(); card.querySelector("textarea[name=reason]").focus(); }
    else if (e.key === "c") {
      e.preventDefault();
      const details = card.querySelector("details.console-correct");
      details.open = true;
      details.querySelector("textarea").focus();
    } else if (e.key === "?") document.getElementById("review-help").hidden = !document.getElementById("review-help").hidden;
    else return;
    e.preventDefault();
  });
})();
