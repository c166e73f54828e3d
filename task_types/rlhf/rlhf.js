/*
 * RLHF preference: pairwise choice + strength, k-way ranking (tap or pick a rank), or rubric ratings.
 * Responses are shown in the order the server chose for this contributor (view.order); every answer
 * names SHOWN positions (A, B, C...), and the server maps them back to the original responses.
 * All item text goes in with textContent.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const LETTERS = "ABCDEFGHI";
  const lang = document.documentElement.lang || "vi";
  let root = null;
  let config = null;
  let n = 0;
  let cursor = 0; // rubric: the highlighted (response, criterion) cell

  const msg = (key) => { const el = root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const tpl = (name) => root.querySelector(`template[data-tpl="${name}"]`).content.firstElementChild.cloneNode(true);
  const label = (c) => (lang.startsWith("en") && c.label_en ? c.label_en : c.label);

  function scale(container, name, low, high, captionLow, captionHigh) {
    container.replaceChildren();
    for (let v = low; v <= high; v++) {
      const wrap = document.createElement("label");
      wrap.className = "scale-point";
      const input = document.createElement("input");
      input.type = "radio"; input.name = name; input.value = String(v);
      const text = document.createElement("span");
      text.textContent = String(v);
      wrap.append(input, text);
      if (v === low && captionLow) wrap.title = captionLow;
      if (v === high && captionHigh) wrap.title = captionHigh;
      container.append(wrap);
    }
  }

  function cells() { return Array.from(root.querySelectorAll(".criterion")); }
  function highlight() {
    cells().forEach((c, i) => c.classList.toggle("current", i === cursor));
  }

  // --- ranking ------------------------------------------------------------------------------
  function rankSelects() { return Array.from(root.querySelectorAll("select.rank-select")); }
  function ranks() { return rankSelects().map((s) => (s.value ? Number(s.value) : null)); }
  function pickNext(pos) {
    const current = ranks();
    if (current[pos] !== null) return;
    const next = Math.max(0, ...current.filter((r) => r !== null)) + 1;
    rankSelects()[pos].value = String(Math.min(next, n));
    showRanks();
  }
  function showRanks() {
    if (config.mode !== "ranking") return;
    root.querySelectorAll(".response").forEach((card, pos) => {
      const r = ranks()[pos];
      card.dataset.rank = r === null ? "" : String(r);
      card.classList.toggle("ranked", r !== null);
      const badge = card.querySelector('[data-bind="rank"]');
      if (badge) badge.textContent = r === null ? "" : `#${r}`;
    });
  }

  function countRationale() {
    const t = root.querySelector('textarea[name="rationale"]');
    const out = root.querySelector('[data-counter-for="rationale"]');
    if (!t || !out) return;
    const len = t.value.trim().length;
    const min = Number(t.dataset.min || 0);
    out.textContent = min ? `${len} / ${min}` : String(len);
    out.classList.toggle("bad", len > 0 && len < min);
    out.classList.toggle("good", min > 0 && len >= min);
  }

  window.TaskTypes.rlhf = {
    render(area, payload, cfg, view) {
      root = area;
      config = cfg;
      const order = (view && Array.isArray(view.order) && view.order.length === payload.responses.length)
        ? view.order : payload.responses.map((_, i) => i);
      n = order.length;
      cursor = 0;
      area.querySelector('[data-bind="prompt"]').textContent = payload.prompt;
      const convBox = area.querySelector('[data-role="conversation-box"]');
      const conv = area.querySelector('[data-role="conversation"]');
      conv.replaceChildren();
      (payload.conversation || []).forEach((turn) => {
        const li = tpl("turn");
        li.querySelector('[data-bind="role"]').textContent = msg(turn.role);
        li.querySelector('[data-bind="content"]').textContent = turn.content;
        li.classList.add(`turn-${turn.role}`);
        conv.append(li);
      });
      convBox.hidden = !(payload.conversation || []).length;
      const list = area.querySelector('[data-role="responses"]');
      list.replaceChildren();
      list.classList.toggle("two", n === 2);
      order.forEach((orig, pos) => {
        const card = tpl("response");
        card.dataset.pos = String(pos);
        card.querySelector('[data-bind="letter"]').textContent = LETTERS[pos];
        card.querySelector('[data-bind="text"]').textContent = payload.responses[orig].text;
        const select = card.querySelector("select.rank-select");
        if (select) {
          for (let r = 1; r <= n; r++) {
            const o = document.createElement("option"); o.value = String(r); o.textContent = String(r); select.append(o);
          }
          select.addEventListener("change", showRanks);
          card.querySelector('[data-action="pick"]').addEventListener("click", () => { pickNext(pos); area.dispatchEvent(new Event("change", { bubbles: true })); });
        }
        const rubric = card.querySelector('[data-role="rubric"]');
        if (rubric) {
          cfg.criteria.forEach((crit) => {
            const fs = tpl("criterion");
            fs.querySelector('[data-bind="label"]').textContent = label(crit);
            if (crit.description) fs.title = crit.description;
            scale(fs.querySelector('[data-role="scale"]'), `rating-${pos}-${crit.key}`, cfg.scale_min, cfg.scale_max);
            fs.querySelector(".field-error").dataset.errorFor = `ratings[${pos}].${crit.key}`;
            fs.dataset.pos = String(pos); fs.dataset.crit = crit.key;
            fs.addEventListener("change", () => { cursor = cells().indexOf(fs) + 1; highlight(); });
            rubric.append(fs);
          });
        }
        list.append(card);
      });
      const strength = area.querySelector('[data-role="strength"]');
      if (strength) {
        scale(strength, "strength", 1, Number(strength.dataset.levels), strength.dataset.low, strength.dataset.high);
        area.querySelector('[data-role="strength-box"]').hidden = true;
      }
      area.querySelectorAll('input[name="choice"]').forEach((el) => {
        el.checked = false;
        el.onchange = () => {
          const box = area.querySelector('[data-role="strength-box"]');
          if (box) box.hidden = !(el.value === "A" || el.value === "B");
        };
      });
      const clear = area.querySelector('[data-action="clear-ranks"]');
      if (clear) clear.onclick = () => { rankSelects().forEach((s) => { s.value = ""; }); showRanks(); };
      const rationale = area.querySelector('textarea[name="rationale"]');
      if (rationale) {
        rationale.value = "";
        rationale.oninput = countRationale;
        countRationale();
      }
      highlight();
      showRanks();
    },
    collect() {
      const out = {};
      if (config.mode === "pairwise") {
        const choice = root.querySelector('input[name="choice"]:checked');
        if (choice) out.choice = choice.value;
        const strength = root.querySelector('input[name="strength"]:checked');
        if (strength && choice && (choice.value === "A" || choice.value === "B")) out.strength = Number(strength.value);
      } else if (config.mode === "ranking") {
        out.ranks = ranks();
      } else {
        out.ratings = [];
        for (let pos = 0; pos < n; pos++) {
          const row = {};
          config.criteria.forEach((crit) => {
            const el = root.querySelector(`input[name="rating-${pos}-${crit.key}"]:checked`);
            if (el) row[crit.key] = Number(el.value);
          });
          out.ratings.push(row);
        }
      }
      const rationale = root.querySelector('textarea[name="rationale"]');
      if (rationale && rationale.value.trim()) out.rationale = rationale.value;
      return out;
    },
    restore(draft) {
      if (draft.choice) {
        const el = root.querySelector(`input[name="choice"][value="${CSS.escape(draft.choice)}"]`);
        if (el) { el.checked = true; el.onchange(); }
      }
      if (draft.strength) {
        const el = root.querySelector(`input[name="strength"][value="${Number(draft.strength)}"]`);
        if (el) el.checked = true;
      }
      if (Array.isArray(draft.ranks)) {
        rankSelects().forEach((s, i) => { s.value = draft.ranks[i] ? String(draft.ranks[i]) : ""; });
        showRanks();
      }
      if (Array.isArray(draft.ratings)) {
        draft.ratings.forEach((row, pos) => Object.entries(row || {}).forEach(([k, v]) => {
          const el = root.querySelector(`input[name="rating-${pos}-${CSS.escape(k)}"][value="${Number(v)}"]`);
          if (el) el.checked = true;
        }));
        const firstEmpty = cells().findIndex((c) => !c.querySelector("input:checked"));
        cursor = firstEmpty === -1 ? cells().length : firstEmpty;
        highlight();
      }
      const rationale = root.querySelector('textarea[name="rationale"]');
      if (rationale && draft.rationale) { rationale.value = draft.rationale; countRationale(); }
    },
    validate(answer) {
      if (config.mode === "pairwise" && !answer.choice) return { field: "choice" };
      if (config.mode === "pairwise" && config.strength_levels && (answer.choice === "A" || answer.choice === "B") && !answer.strength) {
        return { field: "strength" };
      }
      if (config.mode === "ranking" && answer.ranks.some((r) => r === null)) return { field: "ranks", message: msg("rank-all") };
      if (config.mode === "rubric") {
        for (let pos = 0; pos < n; pos++) {
          for (const crit of config.criteria) {
            if (!(crit.key in answer.ratings[pos])) return { field: `ratings[${pos}].${crit.key}`, message: msg("rate-all") };
          }
        }
      }
      const min = config.rationale_min_length || 0;
      const text = (answer.rationale || "").trim();
      if ((config.rationale === "required" || text) && text.length < Math.max(min, config.rationale === "required" ? 1 : 0)) {
        return { field: "rationale", message: msg("too-short").replace("%(n)s", String(min)) };
      }
      return null;
    },
    /* Review (static/console/review_view.js): rendered in the original order with the answer mapped to it
     * (TaskType.review_answer), so "A" is the first response; the chosen one is marked on its card. */
    readOnly(area, answer) {
      if (!answer) return;
      const cards = Array.from(area.querySelectorAll(".response"));
      const chosen = { A: 0, B: 1 }[answer.choice];
      cards.forEach((card, pos) => {
        card.classList.toggle("chosen", pos === chosen);
        if (pos === chosen) {
          const mark = document.createElement("span");
          mark.className = "chosen-mark";
          mark.textContent = answer.strength ? `${msg("chosen")} (${answer.strength})` : msg("chosen");
          card.querySelector(".response-head").append(mark);
        }
      });
    },
    shortcut(key) {
      const k = key.toLowerCase();
      if (k === "r") { const t = root.querySelector('textarea[name="rationale"]'); if (t) { t.focus(); return true; } return false; }
      if (config.mode === "pairwise") {
        const map = { a: "A", b: "B", t: "tie", x: "both_bad" };
        if (map[k]) {
          const el = root.querySelector(`input[name="choice"][value="${map[k]}"]`);
          if (!el) return false;
          el.checked = true; el.onchange();
          return true;
        }
        const s = root.querySelector(`input[name="strength"][value="${k}"]`);
        if (s && !root.querySelector('[data-role="strength-box"]').hidden) { s.checked = true; return true; }
        return false;
      }
      if (config.mode === "ranking") {
        if (k === "0") { root.querySelector('[data-action="clear-ranks"]').click(); return true; }
        const d = Number(k);
        if (Number.isInteger(d) && d >= 1 && d <= n) { pickNext(d - 1); return true; }
        return false;
      }
      // rubric: digits rate the highlighted criterion, J/K move.
      const all = cells();
      if (k === "j" || k === "k") { cursor = Math.max(0, Math.min(all.length - 1, cursor + (k === "j" ? 1 : -1))); highlight(); return true; }
      const d = Number(k);
      if (!Number.isInteger(d) || d < config.scale_min || d > config.scale_max || cursor >= all.length) return false;
      const el = all[cursor].querySelector(`input[value="${d}"]`);
      if (!el) return false;
      el.checked = true;
      cursor += 1;
      highlight();
      if (all[cursor]) all[cursor].scrollIntoView({ block: "nearest" });
      return true;
    },
  };
})();
