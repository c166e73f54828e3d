/*
 * SFT writing: write a response, write an instruction + response from a brief, or edit a model draft.
 * Live character count against the campaign's limits and a warning when Vietnamese text has no
 * diacritics; the server recomputes the diff of an edit, so the page only shows a word count.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  let root = null;
  let config = null;
  let draftText = "";
  // Vietnamese-only letters and the five tone marks (after NFD): same test as the server's.
  const VI = /[ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323\u0306\u0302\u031b]/;

  const msg = (key) => { const el = root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const fields = () => Array.from(root.querySelectorAll("textarea[data-min]"));
  const hasDiacritics = (text) => VI.test(text.normalize("NFD"));

  /* The word-level edit script from a to b: [[op, word]] with op "=", "-" (removed) or "+" (added), from the
   * longest common subsequence of words (drafts are short). The labelling page counts the changes; the
   * review view draws them. */
  function wordDiff(a, b) {
    const x = a.split(/\s+/).filter(Boolean); const y = b.split(/\s+/).filter(Boolean);
    const m = x.length; const n = y.length;
    const L = Array.from({ length: m + 1 }, () => new Uint32Array(n + 1));
    for (let i = m - 1; i >= 0; i--) {
      for (let j = n - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    }
    const out = [];
    let i = 0; let j = 0;
    while (i < m && j < n) {
      if (x[i] === y[j]) { out.push(["=", x[i]]); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) out.push(["-", x[i++]]);
      else out.push(["+", y[j++]]);
    }
    while (i < m) out.push(["-", x[i++]]);
    while (j < n) out.push(["+", y[j++]]);
    return out;
  }
  const wordsChanged = (a, b) => wordDiff(a, b).filter(([op]) => op !== "=").length;

  function update(el) {
    const len = el.value.trim().length;
    const min = Number(el.dataset.min || 0); const max = Number(el.dataset.max || 0);
    const counter = root.querySelector(`[data-counter-for="${el.name}"]`);
    counter.textContent = msg("count").replace("%(n)s", len).replace("%(min)s", min).replace("%(max)s", max);
    counter.classList.toggle("bad", len > 0 && (len < min || (max && len > max)));
    counter.classList.toggle("good", len >= min && (!max || len <= max));
    const warn = root.querySelector(`[data-diacritics-for="${el.name}"]`);
    const letters = (el.value.match(/\p{L}/gu) || []).length;
    if (warn) warn.hidden = !(config.language === "vi" && config.diacritics !== "off" && letters >= 12 && !hasDiacritics(el.value));
    const changes = root.querySelector('[data-role="changes"]');
    if (changes && el.name === "response") changes.textContent = msg("changed").replace("%(n)s", wordsChanged(draftText, el.value));
  }

  window.TaskTypes.sft = {
    render(area, payload, cfg) {
      root = area;
      config = cfg;
      draftText = payload.draft || "";
      ["instruction", "topic", "brief", "context", "draft"].forEach((name) => {
        const el = area.querySelector(`[data-bind="${name}"]`);
        if (!el) return;
        el.textContent = payload[name] || "";
        if (name === "brief" || name === "context") el.hidden = !payload[name];
      });
      fields().forEach((el) => {
        el.value = el.name === "response" && cfg.mode === "edit_draft" ? draftText : "";
        el.oninput = () => update(el);
        update(el);
      });
    },
    collect() {
      const out = {};
      fields().forEach((el) => { out[el.name] = el.value; });
      return out;
    },
    restore(draft) {
      fields().forEach((el) => { if (typeof draft[el.name] === "string") el.value = draft[el.name]; update(el); });
    },
    validate(answer) {
      for (const el of fields()) {
        const len = (answer[el.name] || "").trim().length;
        const min = Math.max(1, Number(el.dataset.min || 0)); const max = Number(el.dataset.max || 0);
        if (len < min) return { field: el.name, message: msg("too-short").replace("%(n)s", min) };
        if (max && len > max) return { field: el.name, message: msg("too-long").replace("%(n)s", max) };
      }
      if (config.mode === "edit_draft" && config.require_change !== false && answer.response.trim().split(/\s+/).join(" ") === draftText.trim().split(/\s+/).join(" ")) {
        return { field: "response", message: msg("unchanged") };
      }
      return null;
    },
    /* Review (static/console/review_view.js): an edited draft shows its word-level diff against the draft. */
    readOnly(area, answer) {
      const box = area.querySelector('[data-role="diff"]');
      if (!box || !answer || typeof answer.response !== "string" || !draftText) return;
      const ops = wordDiff(draftText, answer.response);
      ops.forEach(([op, word], k) => {
        const el = document.createElement(op === "=" ? "span" : op === "-" ? "del" : "ins");
        el.textContent = word;
        box.append(el, k < ops.length - 1 ? " " : "");
      });
      box.closest('[data-role="diff-box"]').hidden = false;
    },
    shortcut(key) {
      if (key.toLowerCase() !== "e") return false;
      const el = fields()[0];
      if (!el) return false;
      el.focus();
      return true;
    },
  };
})();
