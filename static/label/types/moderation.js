/* Content moderation: categories (single or multi-label), optional severity, escalation. */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  let root = null;
  let config = null;
  const lang = document.documentElement.lang || "vi";

  function label(cat) { return lang.startsWith("en") && cat.label_en ? cat.label_en : cat.label; }

  window.TaskTypes.moderation = {
    render(area, payload, cfg) {
      root = area;
      config = cfg;
      area.querySelector('[data-bind="text"]').textContent = payload.text;
      const ctx = area.querySelector('[data-bind="context"]');
      ctx.textContent = payload.context || "";
      ctx.hidden = !payload.context;
      const list = area.querySelector('[data-role="categories"]');
      list.replaceChildren();
      const inputType = cfg.multi_label ? "checkbox" : "radio";
      cfg.categories.forEach((cat, i) => {
        const wrap = document.createElement("label");
        wrap.className = "choice";
        const input = document.createElement("input");
        input.type = inputType;
        input.name = "categories";
        input.value = cat.key;
        const key = document.createElement("kbd");
        key.textContent = i < 9 ? String(i + 1) : "";
        const text = document.createElement("span");
        text.textContent = label(cat);
        wrap.append(input, key, text);
        list.append(wrap);
      });
      const sevBox = area.querySelector('[data-role="severity-box"]');
      const levels = cfg.severity_levels || [];
      sevBox.hidden = levels.length === 0;
      const sev = area.querySelector('[data-role="severity"]');
      sev.replaceChildren();
      if (levels.length) {
        const select = document.createElement("select");
        select.name = "severity";
        [""].concat(levels).forEach((lvl) => {
          const o = document.createElement("option");
          o.value = lvl; o.textContent = lvl || "—";
          select.append(o);
        });
        sev.append(select);
      }
      area.querySelector('[data-role="escalation-box"]').hidden = cfg.allow_escalation === false;
      area.querySelector('input[name="needs_escalation"]').checked = false;
    },
    collect() {
      const categories = Array.from(root.querySelectorAll('input[name="categories"]:checked')).map((el) => el.value);
      const out = { categories };
      const sev = root.querySelector('select[name="severity"]');
      if (sev && sev.value) {
        out.severity = {};
        categories.forEach((c) => { out.severity[c] = sev.value; });
      }
      if (config.allow_escalation !== false) out.needs_escalation = root.querySelector('input[name="needs_escalation"]').checked;
      return out;
    },
    restore(draft) {
      root.querySelectorAll('input[name="categories"]').forEach((el) => { el.checked = (draft.categories || []).includes(el.value); });
      const sev = root.querySelector('select[name="severity"]');
      if (sev && draft.severity) sev.value = Object.values(draft.severity)[0] || "";
      root.querySelector('input[name="needs_escalation"]').checked = !!draft.needs_escalation;
    },
    shortcut(key) {
      const n = Number(key);
      if (!Number.isInteger(n) || n < 1 || n > 9) return false;
      const inputs = root.querySelectorAll('input[name="categories"]');
      const input = inputs[n - 1];
      if (!input) return false;
      input.checked = input.type === "checkbox" ? !input.checked : true;
      return true;
    },
  };
})();
