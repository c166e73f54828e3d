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

  function wordsChanged(a, b) {
    const x = a.split(/\s+/).filter(Boolean); const y = b.split(/\s+/).filter(Boolean);
    // LCS length on words (drafts are short): changed = words not in the common subsequence.
    const prev = new Array(y.length + 1).fill(0);
    for (let i = 1; i <= x.length; i++) {
      let diag = 0;
      for (let j = 1; j <= y.length; j++) {
        const tmp = prev[j];
        prev[j] = x[i - 1] === y[j - 1] ? diag + 1 : Math.max(prev[j], prev[j - 1]);
        diag = tmp;
      }
    }
    return x.length + y.length - 2 * prev[y.length];
  }

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
    shortcut(key) {
      if (key.toLowerCase() !== "e") return false;
      const el = fields()[0];
      if (!el) return false;
      el.focus();
      return true;
    },
  };
})();
