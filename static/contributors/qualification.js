/*
 * The qualification test page: shows the attempt's items one at a time with the task type's own
 * script (window.TaskTypes[key].render / collect / restore / shortcut), keeps the answers, and sends
 * them all at once. Payload text is only ever inserted by the task type scripts, with textContent.
 */
(function () {
  "use strict";
  const cfgEl = document.getElementById("qualification-config");
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent);
  window.TaskChoiceLabels = cfg.choiceLabels || {};  // as on the labelling page
  const S = cfg.strings;
  const type = (window.TaskTypes || {})[cfg.taskType];
  const area = document.getElementById("task-area");
  const form = document.getElementById("qualification");
  const error = document.getElementById("form-error");
  const prev = document.getElementById("q-prev");
  const next = document.getElementById("q-next");
  const progress = document.getElementById("q-progress");
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const answers = new Array(cfg.items.length).fill(null);
  let index = 0;
  let sending = false;
  // Media types fetch signed URLs from their element's data-media-url with "/0/" replaced by the assignment's
  // id; a test has no assignment, so they ask the attempt's media endpoint with the question's number instead.
  if (cfg.mediaUrl) area.querySelectorAll("[data-media-url]").forEach((node) => { node.dataset.mediaUrl = cfg.mediaUrl; });

  function showError(text) { error.textContent = text || ""; error.hidden = !text; }

  function show(i) {
    index = i;
    const item = cfg.items[i];
    type.render(area, item.payload, cfg.config, item.view || {}, { id: i + 1 });
    if (answers[i] && type.restore) type.restore(answers[i]);
    progress.textContent = S.question.replace("%(n)s", i + 1).replace("%(total)s", cfg.items.length);
    prev.hidden = i === 0;
    showError("");
  }

  function isEmpty(answer) {
    if (answer === null || answer === undefined) return true;
    return Object.values(answer).every((v) => v === "" || v === false || v === null || (Array.isArray(v) && v.length === 0));
  }

  async function submitAll() {
    sending = true;
    next.disabled = true;
    showError("");
    progress.textContent = S.sending;
    try {
      const res = await fetch(cfg.submitUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(csrf) },
        body: JSON.stringify({ answers }),
      });
      const data = await res.json().catch(() => ({}));
      if (res.ok || res.status === 409) { window.location.reload(); return; }
      const err = data.error || {};
      const m = /^answers\[(\d+)\]/.exec(err.field || "");
      if (m) show(Number(m[1]));
      showError(err.message || S.error);
    } catch (e) {
      showError(S.error);
    } finally {
      sending = false;
      next.disabled = false;
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (sending) return;
    const answer = await Promise.resolve(type.collect());
    if (isEmpty(answer)) { showError(S.required); return; }
    answers[index] = answer;
    if (index + 1 < cfg.items.length) show(index + 1);
    else submitAll();
  });
  prev.addEventListener("click", async () => {
    answers[index] = await Promise.resolve(type.collect());
    if (index > 0) show(index - 1);
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.matches("input[type=text], textarea, select")) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); return; }
    if (!e.ctrlKey && !e.altKey && !e.metaKey && type.shortcut && type.shortcut(e.key)) e.preventDefault();
  });
  show(0);
})();
