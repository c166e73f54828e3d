/*
 * Survey form on the labelling page: draws the campaign's form (config.form) and keeps it live with
 * the same rules the server checks (task_types/survey/form.py): relevance hides questions (and drops
 * their answers), choice filters narrow the choices, calculations recompute, constraints and required
 * questions are checked before sending. Labels come in Vietnamese or English (a toggle at the top).
 * Photos and recordings are read as data URLs so an answer can wait offline in the outbox whole.
 * window.SurveyForm is reused by the field_visit type for its form.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const X = window.SurveyXPath;
  const VALUE = new Set(["integer", "decimal", "text", "date", "time", "datetime", "geopoint", "barcode", "calculate",
    "acknowledge", "select_one", "select_multiple", "rank", "image", "audio", "video"]);

  function label(obj, lang, fallback) {
    if (!obj) return fallback || "";
    if (typeof obj === "string") return obj;
    return obj[lang] || obj.vi || obj.en || obj.default || Object.values(obj)[0] || fallback || "";
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== undefined && v !== null) e.setAttribute(k, v); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  class SurveyForm {
    constructor(root, form, lang) {
      this.root = root; this.form = form; this.lang = lang || "vi";
      this.values = {}; this.nodes = [];
      this.draw();
    }

    draw() {
      this.root.textContent = "";
      this.nodes = [];
      const bar = el("div", { class: "survey-lang" });
      (this.form.languages || ["vi", "en"]).filter((l) => l === "vi" || l === "en").forEach((l) => {
        const b = el("button", { type: "button", "data-lang": l, class: l === this.lang ? "active" : "" }, l.toUpperCase());
        b.onclick = () => { this.lang = l; const v = this.values; this.draw(); this.restore(v); };
        bar.appendChild(b);
      });
      this.root.appendChild(bar);
      this.drawList(this.form.questions, this.root, this.values, null, "answers");
      this.refresh();
    }

    drawList(questions, parent, store, scope, prefix) {
      questions.forEach((q) => this.drawQuestion(q, parent, store, scope, prefix));
    }

    drawQuestion(q, parent, store, scope, prefix) {
      const field = `${prefix}.${q.name}`;
      const box = el("div", { class: `q q-${q.type}`, "data-question": q.name, "data-field": field });
      const node = { q, box, store, scope, field, parentVisible: null };
      this.nodes.push(node);
      if (q.type === "calculate") { box.hidden = true; parent.appendChild(box); return; }
      const title = el("div", { class: "q-label", id: `q-label-${field.replace(/[^\w-]/g, "-")}` },
        label(q.label, this.lang, q.name) + (q.required ? " *" : ""));
      box.appendChild(title);
      if (q.hint) box.appendChild(el("div", { class: "q-hint muted small" }, label(q.hint, this.lang)));
      parent.appendChild(box);
      if (q.type === "group") { this.drawList(q.children || [], box, store, scope, prefix); node.container = true; return; }
      if (q.type === "repeat") { this.drawRepeat(q, box, store, field); node.container = true; return; }
      if (q.type === "note") return;
      node.input = this.drawInput(q, box, store, field);
      // A typed answer is named by its question's title for screen readers (choices sit in their own labels).
      if (node.input && !node.input.closest("label")) node.input.setAttribute("aria-labelledby", title.id);
      box.appendChild(el("p", { class: "field-error", "data-error-for": field, hidden: "" }));
    }

    drawRepeat(q, box, store, field) {
      store[q.name] = store[q.name] || [];
      const list = el("div", { class: "repeat-list" });
      const add = el("button", { type: "button", class: "btn small", "data-add": q.name }, "+ " + label(q.label, this.lang, q.name));
      const addEntry = (values) => {
        const row = values || {};
        const i = store[q.name].length;
        store[q.name].push(row);
        const entry = el("fieldset", { class: "repeat-entry" });
        entry.appendChild(el("legend", {}, `${label(q.label, this.lang, q.name)} ${i + 1}`));
        this.drawList(q.children || [], entry, row, row, `${field}[${i}]`);
        list.appendChild(entry);
        this.refresh();
      };
      add.onclick = () => addEntry();
      box.appendChild(list); box.appendChild(add);
      box._addEntry = addEntry;
    }

    drawInput(q, box, store, field) {
      const set = (v) => { if (v === "" || v === null || (Array.isArray(v) && !v.length)) delete store[q.name]; else store[q.name] = v; this.refresh(); };
      const t = q.type;
      if (t === "select_one" || t === "select_multiple") {
        const wrap = el("div", { class: `choices${q.appearance === "likert" ? " likert" : ""}`, role: t === "select_one" ? "radiogroup" : "group" });
        wrap._draw = (choices) => {
          wrap.textContent = "";
          choices.forEach((c) => {
            const lab = el("label", { class: "choice" });
            const input = el("input", { type: t === "select_one" ? "radio" : "checkbox", name: field, value: c.name });
            const cur = store[q.name];
            input.checked = t === "select_one" ? cur === c.name : Array.isArray(cur) && cur.includes(c.name);
            input.onchange = () => {
              if (t === "select_one") set(input.value);
              else set(Array.from(wrap.querySelectorAll("input:checked")).map((i) => i.value));
            };
            lab.appendChild(input); lab.appendChild(el("span", {}, label(c.label, this.lang, c.name)));
            wrap.appendChild(lab);
          });
        };
        wrap._draw(q.choices);
        box.appendChild(wrap);
        return wrap;
      }
      if (t === "rank") {
        const wrap = el("ol", { class: "rank" });
        const draw = () => {
          wrap.textContent = "";
          const order = store[q.name] || q.choices.map((c) => c.name);
          order.forEach((name, i) => {
            const c = q.choices.find((x) => x.name === name) || { name };
            const li = el("li", { "data-choice": name }, label(c.label, this.lang, name) + " ");
            const up = el("button", { type: "button", class: "btn small", "aria-label": "up" }, "↑");
            up.disabled = i === 0;
            up.onclick = () => { const o = order.slice(); [o[i - 1], o[i]] = [o[i], o[i - 1]]; set(o); draw(); };
            li.appendChild(up); wrap.appendChild(li);
          });
        };
        draw();
        const confirm = el("button", { type: "button", class: "btn small", "data-rank-confirm": q.name }, "✓");
        confirm.onclick = () => set((store[q.name] || q.choices.map((c) => c.name)).slice());
        box.appendChild(wrap); box.appendChild(confirm);
        wrap._draw = draw;
        return wrap;
      }
      if (t === "image" || t === "audio" || t === "video") {
        const input = el("input", { type: "file", name: field, accept: `${t}/*`, capture: "environment" });
        input.onchange = () => {
          const f = input.files[0]; if (!f) { set(""); return; }
          const r = new FileReader(); r.onload = () => set(r.result); r.readAsDataURL(f);
        };
        box.appendChild(input);
        return input;
      }
      if (t === "geopoint") {
        const b = el("button", { type: "button", class: "btn small", name: field }, "📍");
        const out = el("span", { class: "muted small" });
        b.onclick = () => navigator.geolocation && navigator.geolocation.getCurrentPosition((p) => {
          set({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy });
          out.textContent = `${p.coords.latitude.toFixed(5)}, ${p.coords.longitude.toFixed(5)} ±${Math.round(p.coords.accuracy)} m`;
        });
        box.appendChild(b); box.appendChild(out);
        return b;
      }
      if (t === "acknowledge") {
        const input = el("input", { type: "checkbox", name: field });
        input.onchange = () => set(input.checked ? "OK" : "");
        box.appendChild(input);
        return input;
      }
      const types = { integer: "number", decimal: "number", date: "date", time: "time", datetime: "datetime-local" };
      const input = el(t === "text" ? "textarea" : "input", { name: field, type: t === "text" ? undefined : (types[t] || "text"), rows: t === "text" ? 2 : undefined, step: t === "decimal" ? "any" : t === "integer" ? "1" : undefined, inputmode: t === "integer" ? "numeric" : t === "decimal" ? "decimal" : undefined });
      input.oninput = () => set(input.value);
      box.appendChild(input);
      return input;
    }

    lookup(node) {
      return (name) => (node.scope && name in node.scope ? node.scope[name] : this.values[name]);
    }

    refresh() {
      // Document order: a question is shown when its parents and its own relevance are true.
      const hiddenBoxes = new Set();
      this.nodes.forEach((n) => {
        const q = n.q;
        let parentHidden = false;
        for (const h of hiddenBoxes) if (h.contains(n.box)) { parentHidden = true; break; }
        let rel = true;
        try { rel = !q.relevant || X.bool(X.evaluate(q.relevant, this.lookup(n))); } catch (e) { rel = true; }
        const visible = !parentHidden && rel;
        n.box.hidden = !visible || q.type === "calculate";
        if (!visible) { hiddenBoxes.add(n.box); if (VALUE.has(q.type)) delete n.store[q.name]; return; }
        if (q.type === "calculate") {
          try { const v = X.evaluate(q.calculation, this.lookup(n)); n.store[q.name] = typeof v === "number" && !isFinite(v) ? null : v; } catch (e) { /* server decides */ }
        }
        if (q.choice_filter && n.input && n.input._draw) {
          const key = JSON.stringify(this.lookup(n) && (q.choice_filter.match(/\$\{[^}]+\}/g) || []).map((r) => this.lookup(n)(r.slice(2, -1))));
          if (n.filterKey !== key) {
            n.filterKey = key;
            const choices = q.choices.filter((c) => { try { return X.bool(X.evaluate(q.choice_filter, this.lookup(n), undefined, (col) => c[col] || "")); } catch (e) { return true; } });
            if (n.store[q.name] && !choices.some((c) => c.name === n.store[q.name])) delete n.store[q.name];
            n.input._draw(choices);
          }
        }
      });
    }

    collect() { return JSON.parse(JSON.stringify(this.values)); }

    restore(values) {
      const v = values || {};
      this.values = {};
      const lang = this.lang;
      this.lang = lang;
      this.root.textContent = "";
      this.values = {};
      this.draw();
      this.nodes.forEach((n) => {
        const q = n.q;
        if (n.store !== this.values) return;
        if (q.type === "repeat") { (v[q.name] || []).forEach((row) => n.box._addEntry(Object.assign({}, row))); return; }
        if (!(q.name in v) || !n.input) return;
        this.values[q.name] = v[q.name];
        const val = v[q.name];
        if (n.input.tagName === "INPUT" && n.input.type !== "file" && n.input.type !== "checkbox") n.input.value = val;
        else if (n.input.tagName === "TEXTAREA") n.input.value = val;
        else if (n.input._draw) n.input._draw(q.choices);
      });
      this.refresh();
    }

    validate() {
      for (const n of this.nodes) {
        const q = n.q;
        if (n.box.hidden || !VALUE.has(q.type) || q.type === "calculate") continue;
        const v = n.store[q.name];
        const empty = v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length);
        if (empty) {
          if (q.required) return { field: n.field, message: label(q.required_message, this.lang) || `${label(q.label, this.lang, q.name)}: *` };
          continue;
        }
        let cur = v;
        if (q.type === "integer" || q.type === "decimal") {
          cur = Number(v);
          if (v === "" || isNaN(cur) || (q.type === "integer" && !Number.isInteger(cur))) return { field: n.field, message: `${label(q.label, this.lang, q.name)}: ?` };
          n.store[q.name] = cur;
        }
        if (q.constraint) {
          let ok = true;
          try { ok = X.bool(X.evaluate(q.constraint, (name) => (name === q.name ? cur : this.lookup(n)(name)), cur)); } catch (e) { ok = true; }
          if (!ok) return { field: n.field, message: label(q.constraint_message, this.lang) || `${label(q.label, this.lang, q.name)}: ${q.constraint}` };
        }
      }
      return null;
    }
  }

  window.SurveyForm = SurveyForm;
  let current = null;
  let lang = "vi";
  window.TaskTypes.survey = {
    render(area, payload, cfg) {
      lang = cfg.language || "vi";
      const head = area.querySelector('[data-bind="title"]');
      if (head) head.textContent = payload.title || (cfg.form && cfg.form.title) || "";
      const ctx = area.querySelector('[data-bind="context"]');
      if (ctx) { ctx.textContent = payload.context || ""; ctx.hidden = !payload.context; }
      current = new SurveyForm(area.querySelector("[data-survey-form]"), cfg.form, lang);
    },
    collect() { return { answers: current.collect(), language: current.lang }; },
    restore(draft) { if (draft && draft.answers) current.restore(draft.answers); },
    validate() { return current.validate(); },
  };
})();
