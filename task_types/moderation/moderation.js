/* Content moderation: categories (single or multi-label), a severity per chosen category, escalation. */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  let root = null;
  let config = null;
  let lastChosen = null;
  const lang = document.documentElement.lang || "vi";

  function label(cat) { return lang.startsWith("en") && cat.label_en ? cat.label_en : cat.label; }
  const inputs = () => Array.from(root.querySelectorAll('input[name="categories"]'));
  const levels = () => config.severity_levels || [];

  function sync() {
    inputs().forEach((input) => {
      const row = input.closest(".category").querySelector('[data-role="severity"]');
      const cat = config.categories.find((c) => c.key === input.value);
      row.hidden = !(input.checked && levels().length && !cat.exclusive);
    });
    const esc = root.querySelector('input[name="needs_escalation"]');
    root.querySelector('[data-role="escalation-note-box"]').hidden = !esc.checked;
  }

  function choose(input, on) {
    if (input.type === "radio") { input.checked = true; lastChosen = input.value; sync(); return; }
    input.checked = on;
    const cat = config.categories.find((c) => c.key === input.value);
    if (on) {
      lastChosen = input.value;
      // An exclusive category ("safe") clears the others, and choosing another clears it.
      inputs().forEach((other) => {
        if (other === input) return;
        const oc = config.categories.find((c) => c.key === other.value);
        if (cat.exclusive || oc.exclusive) other.checked = false;
      });
    }
    sync();
  }

  window.TaskTypes.moderation = {
    render(area, payload, cfg) {
      root = area;
      config = cfg;
      lastChosen = null;
      area.querySelector('[data-bind="text"]').textContent = payload.text;
      const ctx = area.querySelector('[data-bind="context"]');
      ctx.textContent = payload.context || "";
      ctx.hidden = !payload.context;
      const list = area.querySelector('[data-role="categories"]');
      list.replaceChildren();
      const tpl = area.querySelector('template[data-tpl="category"]');
      cfg.categories.forEach((cat, i) => {
        const node = tpl.content.firstElementChild.cloneNode(true);
        const input = node.querySelector("input");
        input.type = cfg.multi_label ? "checkbox" : "radio";
        input.name = "categories";
        input.value = cat.key;
        input.addEventListener("change", () => choose(input, input.checked));
        node.querySelector("kbd").textContent = i < 9 ? String(i + 1) : "";
        node.querySelector('[data-bind="label"]').textContent = label(cat);
        if (cat.description) node.title = cat.description;
        const opts = node.querySelector(".sev-options");
        levels().forEach((lvl, j) => {
          const w = document.createElement("label");
          w.className = "sev";
          const r = document.createElement("input");
          r.type = "radio"; r.name = `severity.${cat.key}`; r.value = lvl;
          const t = document.createElement("span");
          t.textContent = ((window.TaskChoiceLabels || {}).severity || {})[lvl] || lvl;
          t.title = `Shift+${j + 1}`;
          w.append(r, t);
          opts.append(w);
        });
        node.querySelector(".field-error").dataset.errorFor = `severity.${cat.key}`;
        list.append(node);
      });
      const escBox = area.querySelector('[data-role="escalation-box"]');
      escBox.hidden = cfg.allow_escalation === false;
      const esc = area.querySelector('input[name="needs_escalation"]');
      esc.checked = false;
      esc.onchange = sync;
      area.querySelector('textarea[name="escalation_note"]').value = "";
      sync();
    },
    collect() {
      const categories = inputs().filter((el) => el.checked).map((el) => el.value);
      const out = { categories };
      if (levels().length) {
        const severity = {};
        categories.forEach((c) => {
          const el = root.querySelector(`input[name="severity.${CSS.escape(c)}"]:checked`);
          if (el) severity[c] = el.value;
        });
        if (Object.keys(severity).length) out.severity = severity;
      }
      if (config.allow_escalation !== false) {
        out.needs_escalation = root.querySelector('input[name="needs_escalation"]').checked;
        const note = root.querySelector('textarea[name="escalation_note"]').value.trim();
        if (out.needs_escalation && note) out.escalation_note = note;
      }
      return out;
    },
    restore(draft) {
      inputs().forEach((el) => { el.checked = (draft.categories || []).includes(el.value); });
      Object.entries(draft.severity || {}).forEach(([cat, lvl]) => {
        root.querySelectorAll(`input[name="severity.${CSS.escape(cat)}"]`).forEach((r) => { r.checked = r.value === lvl; });
      });
      root.querySelector('input[name="needs_escalation"]').checked = !!draft.needs_escalation;
      root.querySelector('textarea[name="escalation_note"]').value = draft.escalation_note || "";
      sync();
    },
    validate(answer) {
      if (!answer.categories.length) return { field: "categories" };
      if (levels().length && config.severity_required !== false) {
        for (const c of answer.categories) {
          const cat = config.categories.find((x) => x.key === c);
          if (!cat.exclusive && !(answer.severity || {})[c]) return { field: `severity.${c}` };
        }
      }
      return null;
    },
    shortcut(key, event) {
      if (key.toLowerCase() === "e" && config.allow_escalation !== false) {
        const esc = root.querySelector('input[name="needs_escalation"]');
        esc.checked = !esc.checked; sync();
        return true;
      }
      // Shift+digit gives the digit's severity to the category chosen last (layout-independent: event.code).
      const code = event && event.code ? /^Digit(\d)$/.exec(event.code) : null;
      if (event && event.shiftKey && code && lastChosen) {
        const r = root.querySelectorAll(`input[name="severity.${CSS.escape(lastChosen)}"]`)[Number(code[1]) - 1];
        if (!r || r.closest("[hidden]")) return false;
        r.checked = true;
        return true;
      }
      const n = Number(key);
      if (!Number.isInteger(n) || n < 1 || n > 9) return false;
      const input = inputs()[n - 1];
      if (!input) return false;
      choose(input, input.type === "checkbox" ? !input.checked : true);
      return true;
    },
  };
})();
