/*
 * Conversation: the thread, then per mode: a score and flags under every assistant turn (rate), a rank
 * per alternative reply shown in the server's shuffled order (rank, view.order), or the next turn (write).
 * All text goes in with textContent.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const LETTERS = "ABCDEFGHI";
  let root = null;
  let config = null;
  let payload = null;
  let order = [];
  const msg = (key) => { const el = root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const tpl = (name) => root.querySelector(`template[data-tpl="${name}"]`).content.firstElementChild.cloneNode(true);
  const ratings = () => Array.from(root.querySelectorAll(".turn-rating"));
  const selects = () => Array.from(root.querySelectorAll("select.rank-select"));
  const textarea = () => root.querySelector('textarea[name="text"]');

  function nextRole() {
    const last = payload.messages[payload.messages.length - 1];
    return last && last.role === "user" ? "assistant" : "user";
  }

  function count() {
    const t = textarea();
    const out = root.querySelector('[data-counter-for="text"]');
    if (!t || !out) return;
    const len = t.value.trim().length;
    out.textContent = `${len} / ${t.dataset.min}–${t.dataset.max}`;
    out.classList.toggle("bad", len > 0 && len < Number(t.dataset.min));
  }

  function markCurrent() {
    const open = ratings().find((f) => !f.querySelector('input[type="radio"]:checked'));
    ratings().forEach((f) => f.classList.toggle("current", f === open));
  }

  window.TaskTypes.conversation = {
    render(area, data, cfg, view) {
      root = area; config = cfg; payload = data;
      const thread = area.querySelector('[data-role="thread"]');
      thread.replaceChildren();
      data.messages.forEach((m, i) => {
        const li = tpl("message");
        li.classList.add(m.role);
        li.dataset.turn = String(i);
        li.querySelector(".msg-role").textContent = msg(m.role);
        li.querySelector(".msg-text").textContent = m.content;
        if (cfg.mode === "rate" && m.role === "assistant") {
          const box = tpl("rating");
          box.dataset.turn = String(i);
          const scale = box.querySelector('[data-role="score"]');
          for (let v = cfg.scale_min; v <= cfg.scale_max; v++) {
            const label = document.createElement("label");
            const input = document.createElement("input");
            input.type = "radio"; input.name = `score-${i}`; input.value = String(v);
            input.onchange = markCurrent;
            const span = document.createElement("span"); span.textContent = String(v);
            label.append(input, span); scale.append(label);
          }
          const flags = box.querySelector('[data-role="flags"]');
          (cfg.flags || []).forEach((f) => {
            const label = document.createElement("label");
            const input = document.createElement("input");
            input.type = "checkbox"; input.name = `flag-${i}`; input.value = f;
            const span = document.createElement("span"); span.textContent = msg(`flag-${f}`);
            label.append(input, span); flags.append(label);
          });
          li.append(box);
        }
        thread.append(li);
      });
      if (cfg.mode === "rank") {
        const n = data.responses.length;
        order = view && Array.isArray(view.order) && view.order.length === n ? view.order : data.responses.map((_, i) => i);
        const list = area.querySelector('[data-role="responses"]');
        list.replaceChildren();
        order.forEach((idx, pos) => {
          const card = tpl("response");
          card.querySelector('[data-bind="letter"]').textContent = LETTERS[pos];
          card.querySelector('[data-bind="text"]').textContent = data.responses[idx].text;
          const sel = card.querySelector("select");
          for (let r = 1; r <= n; r++) { const o = document.createElement("option"); o.value = String(r); o.textContent = String(r); sel.append(o); }
          list.append(card);
        });
      }
      if (cfg.mode === "write") {
        area.querySelector('[data-role="write-label"]').textContent = msg(`write-${nextRole()}`);
        const t = textarea(); t.value = ""; t.oninput = count; count();
      }
      markCurrent();
    },
    collect() {
      if (config.mode === "rate") {
        return { turns: ratings().map((f) => {
          const turn = Number(f.dataset.turn);
          const picked = f.querySelector('input[type="radio"]:checked');
          const flags = Array.from(f.querySelectorAll('input[type="checkbox"]:checked')).map((c) => c.value);
          return { turn, score: picked ? Number(picked.value) : null, flags };
        }) };
      }
      if (config.mode === "rank") return { ranks: selects().map((s) => (s.value ? Number(s.value) : null)) };
      return { text: textarea().value };
    },
    restore(draft) {
      if (Array.isArray(draft.turns)) {
        draft.turns.forEach((t) => {
          const f = root.querySelector(`.turn-rating[data-turn="${t.turn}"]`);
          if (!f) return;
          const r = f.querySelector(`input[type="radio"][value="${t.score}"]`); if (r) r.checked = true;
          (t.flags || []).forEach((v) => { const c = f.querySelector(`input[type="checkbox"][value="${v}"]`); if (c) c.checked = true; });
        });
        markCurrent();
      }
      if (Array.isArray(draft.ranks)) selects().forEach((s, i) => { s.value = draft.ranks[i] ? String(draft.ranks[i]) : ""; });
      if (typeof draft.text === "string" && textarea()) { textarea().value = draft.text; count(); }
    },
    validate(answer) {
      if (config.mode === "rate") {
        return answer.turns.every((t) => t.score !== null) ? null : { field: "turns", message: msg("rate-all") };
      }
      if (config.mode === "rank") {
        const r = answer.ranks;
        return r.every((x) => x !== null) && new Set(r).size === r.length ? null : { field: "ranks", message: msg("rank-all") };
      }
      const min = Number(textarea().dataset.min || 1);
      return answer.text.trim().length >= min ? null : { field: "text", message: msg("too-short").replace("%(n)s", min) };
    },
    shortcut(key) {
      if (config.mode === "write" && key.toLowerCase() === "e") { textarea().focus(); return true; }
      if (config.mode !== "rate" || !/^[0-9]$/.test(key)) return false;
      const open = ratings().find((f) => !f.querySelector('input[type="radio"]:checked'));
      const input = open && open.querySelector(`input[type="radio"][value="${key}"]`);
      if (!input) return false;
      input.checked = true;
      markCurrent();
      return true;
    },
  };
})();
