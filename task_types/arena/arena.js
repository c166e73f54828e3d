/*
 * Arena: blind model comparison. The server picked which responses this contributor sees and in which
 * order (view.order, original indices); the payload carries no model names. Answers name SHOWN
 * positions (A, B, ... / ranks per shown response); the server maps them back to models.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const LETTERS = "ABCDEFGH";
  let root = null;
  let config = null;
  const msg = (key) => { const el = root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const selects = () => Array.from(root.querySelectorAll("select.rank-select"));

  window.TaskTypes.arena = {
    render(area, payload, cfg, view) {
      root = area;
      config = cfg;
      const all = payload.responses.map((_, i) => i);
      let order = view && Array.isArray(view.order) ? view.order : all;
      if (cfg.mode === "pairwise" && order.length !== 2) order = all.slice(0, 2);
      area.querySelector('[data-bind="prompt"]').textContent = payload.prompt || "";
      const box = area.querySelector('[data-role="conversation-box"]');
      const turns = area.querySelector('[data-role="conversation"]');
      turns.replaceChildren();
      (payload.conversation || []).forEach((t) => {
        const li = document.createElement("li");
        li.className = `turn ${t.role}`;
        li.textContent = t.content;
        turns.append(li);
      });
      box.hidden = !(payload.conversation || []).length;
      const list = area.querySelector('[data-role="responses"]');
      list.replaceChildren();
      order.forEach((idx, pos) => {
        const card = area.querySelector('template[data-tpl="response"]').content.firstElementChild.cloneNode(true);
        card.dataset.pos = String(pos);
        card.querySelector('[data-bind="letter"]').textContent = LETTERS[pos];
        card.querySelector('[data-bind="text"]').textContent = payload.responses[idx].text;
        const sel = card.querySelector("select.rank-select");
        if (sel) {
          for (let r = 1; r <= order.length; r++) {
            const o = document.createElement("option"); o.value = String(r); o.textContent = String(r); sel.append(o);
          }
        }
        list.append(card);
      });
      area.querySelectorAll('input[name="choice"]').forEach((i) => { i.checked = false; });
    },
    collect() {
      if (config.mode === "pairwise") {
        const picked = root.querySelector('input[name="choice"]:checked');
        return picked ? { choice: picked.value } : {};
      }
      return { ranks: selects().map((s) => (s.value ? Number(s.value) : null)) };
    },
    restore(draft) {
      if (draft.choice) {
        const el = root.querySelector(`input[name="choice"][value="${draft.choice}"]`);
        if (el) el.checked = true;
      }
      if (Array.isArray(draft.ranks)) selects().forEach((s, i) => { s.value = draft.ranks[i] ? String(draft.ranks[i]) : ""; });
    },
    validate(answer) {
      if (config.mode === "pairwise") return answer.choice ? null : { field: "choice", message: msg("choose") };
      const ranks = answer.ranks || [];
      const complete = ranks.every((r) => r !== null) && new Set(ranks).size === ranks.length;
      return complete ? null : { field: "ranks", message: msg("rank-all") };
    },
    shortcut(key) {
      const k = key.toLowerCase();
      if (config.mode === "pairwise") {
        const value = { a: "A", b: "B", t: "tie", x: "both_bad" }[k];
        const el = value && root.querySelector(`input[name="choice"][value="${value}"]`);
        if (!el) return false;
        el.checked = true;
        return true;
      }
      return false;
    },
  };
})();
