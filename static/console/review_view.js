/*
 * The review item page's read-only views: the item and every answer drawn by the task type's OWN labelling
 * module (window.TaskTypes[key], the script the labelling page runs), never as JSON.
 *
 * Each view is an iframe (web.review.views.item_panel) holding the type's labelling template and scripts
 * alone, as a labelling page does, so the type's module state never mixes two answers. In the frame this
 * script calls render(area, payload, config, view, assignment) with the identity view (responses in their
 * original order), restore(answer) with the answer as the server mapped it (TaskType.review_answer), and
 * the type's optional readOnly(area, answer, context) for what a labeller never sees (the chosen response
 * marked, a diff against the draft); then it makes every control read-only and tells the parent page its
 * height. Media: the type's data-media-url points at the item's review media endpoint, the "assignment id"
 * being the answer's id, so the view gets signed URLs for the item's media and that answer's recording.
 * On the parent page the same script sizes each frame to the height its view reports.
 */
(function () {
  "use strict";
  const cfgEl = document.getElementById("readonly-config");
  if (!cfgEl) {
    // Parent: the review item page.
    const frames = Array.from(document.querySelectorAll("iframe.readonly-frame"));
    window.addEventListener("message", (e) => {
      if (e.origin !== window.location.origin || !e.data || typeof e.data.readonlyHeight !== "number") return;
      const frame = frames.find((f) => f.dataset.frame === e.data.frame);
      if (frame) frame.style.height = `${Math.ceil(e.data.readonlyHeight) + 4}px`;
    });
    return;
  }
  const cfg = JSON.parse(cfgEl.textContent);
  window.TaskChoiceLabels = cfg.choiceLabels || {};
  const type = (window.TaskTypes || {})[cfg.taskType];
  const area = document.getElementById("task-area");

  function freeze() {
    area.querySelectorAll("input, textarea, select").forEach((el) => {
      if (el.type === "radio" || el.type === "checkbox" || el.tagName === "SELECT" || el.type === "file") el.disabled = true;
      else el.readOnly = true;
    });
    // Buttons that change an answer are off and hidden; view-only ones (zoom, play) carry data-readonly-ok.
    area.querySelectorAll("button").forEach((b) => { if (!b.closest("[data-readonly-ok]")) b.disabled = true; });
    // An answer's empty optional text (no rationale, no note) is left out rather than shown as an empty box.
    if (cfg.answer) area.querySelectorAll("textarea").forEach((t) => { if (!t.value.trim()) (t.closest("label, .field") || t).hidden = true; });
    area.querySelectorAll("textarea").forEach((t) => {
      // A read-only text box grows to its text: nothing hidden behind a scrollbar.
      t.rows = Math.max(2, Math.min(40, (t.value.match(/\n/g) || []).length + 1 + Math.floor(t.value.length / 50)));
    });
  }

  function report() {
    if (window.parent === window) return;
    // The content's own extent: documentElement.scrollHeight never drops below the frame's current height.
    const bottom = Math.max(...Array.from(document.body.children).map((el) => el.getBoundingClientRect().bottom + window.scrollY));
    window.parent.postMessage({ frame: cfg.frame, readonlyHeight: bottom + 8 }, window.location.origin);
  }

  area.querySelectorAll('[data-role="shortcuts-help"]').forEach((el) => el.remove());
  area.querySelectorAll("[data-media-url]").forEach((el) => { el.dataset.mediaUrl = cfg.mediaUrl; });
  const form = document.querySelector("form.readonly-task");
  form.addEventListener("submit", (e) => e.preventDefault());
  form.classList.toggle("has-answer", !!cfg.answer);
  try {
    if (!type) throw new Error(`no page module for ${cfg.taskType}`);
    const assignment = { id: cfg.annotation || 0, item: { id: cfg.itemId, payload: cfg.item } };
    type.render(area, cfg.item, cfg.config, {}, assignment);
    if (cfg.answer && type.restore) type.restore(cfg.answer);
    if (type.readOnly) type.readOnly(area, cfg.answer || null, { item: cfg.item, config: cfg.config, extra: cfg.extra || {} });
    freeze();
  } catch (err) {
    // A legacy answer the page cannot restore: say so; the parent lists the stored fields.
    document.getElementById("readonly-failed").hidden = false;
    area.hidden = true;
    console.warn("read-only view", err);
  }
  new ResizeObserver(report).observe(document.body);
  report();
})();
