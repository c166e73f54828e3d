/* Preview as contributor: media task types ask /assets/assignments/<id>/media/ for signed URLs; in a
 * preview there is no assignment, so point them at the preview's media endpoint (runs before them). */
(function () {
  "use strict";
  const el = document.getElementById("preview-config");
  if (!el) return;
  const cfg = JSON.parse(el.textContent) || {};
  if (!cfg.mediaUrl) return;
  document.querySelectorAll("[data-media-url]").forEach((node) => { node.dataset.mediaUrl = cfg.mediaUrl; });
})();
