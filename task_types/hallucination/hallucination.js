/*
 * Hallucination audit: one card per claim (verdict, evidence URL + quote, correction when contradicted),
 * then an overall verdict and severity. Claims come numbered from the server (payload.claims).
 * Evidence rules mirror the server's (which stays the authority): trusted domains, quote, correction.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  let root = null;
  let config = null;
  let current = 0;

  const msg = (key) => { const el = root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const tpl = (name) => root.querySelector(`template[data-tpl="${name}"]`).content.firstElementChild.cloneNode(true);
  const cards = () => Array.from(root.querySelectorAll(".claim"));

  function domainAllowed(url) {
    let u;
    try { u = new URL(url); } catch (e) { return false; }
    if (u.protocol !== "http:" && u.protocol !== "https:") return false;
    const list = config.trusted_sources || [];
    if (!list.length) return true;
    const host = u.hostname.toLowerCase().replace(/\.$/, "");
    return list.some((d) => { d = d.toLowerCase().replace(/^\*\./, ""); return host === d || host.endsWith(`.${d}`); });
  }

  function sync(card) {
    const v = (card.querySelector('input[type="radio"]:checked') || {}).value;
    const needs = (config.evidence_required_for || ["supported", "contradicted"]);
    card.querySelector('[data-role="evidence"]').hidden = !(needs.includes(v) || v === "contradicted");
    card.querySelector('[data-role="correction-box"]').hidden = v !== "contradicted";
    card.dataset.verdict = v || "";
  }

  function focusClaim(i) {
    const all = cards();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, i));
    all.forEach((c, j) => c.classList.toggle("current", j === current));
    all[current].scrollIntoView({ block: "nearest" });
  }

  function fillCurrent(name, value) {
    const card = cards()[current];
    if (!card) return false;
    if (card.querySelector('[data-role="evidence"]').hidden) {
      // Evidence only makes sense for a verdict that takes it; default to "supported".
      card.querySelector('input[value="supported"]').checked = true;
      sync(card);
    }
    const el = card.querySelector(`[data-name="${name}"]`);
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  window.TaskTypes.hallucination = {
    render(area, payload, cfg) {
      root = area;
      config = cfg;
      current = 0;
      area.querySelector('[data-bind="prompt"]').textContent = payload.prompt;
      area.querySelector('[data-bind="response"]').textContent = payload.response;
      area.querySelector('[data-bind="trusted"]').textContent = (cfg.trusted_sources || []).join(", ") || msg("any-source");
      const refs = area.querySelector('[data-role="references"]');
      refs.replaceChildren();
      (payload.references || []).forEach((ref) => {
        const el = tpl("reference");
        const a = el.querySelector('[data-bind="title"]');
        a.textContent = ref.title || ref.url || "—";
        if (ref.url && /^https?:\/\//i.test(ref.url)) a.href = ref.url; else a.removeAttribute("target");
        el.querySelector('[data-bind="text"]').textContent = ref.text;
        const use = el.querySelector('[data-action="use-source"]');
        if (ref.url && domainAllowed(ref.url)) {
          use.hidden = false;
          use.addEventListener("click", () => fillCurrent("evidence_url", ref.url));
        }
        refs.append(el);
      });
      area.querySelector('[data-role="references-box"]').hidden = !(payload.references || []).length;
      const list = area.querySelector('[data-role="claims"]');
      list.replaceChildren();
      payload.claims.forEach((text, i) => {
        const card = tpl("claim");
        card.dataset.index = String(i);
        card.querySelector('[data-bind="text"]').textContent = text;
        card.querySelectorAll('input[type="radio"]').forEach((r) => { r.name = `claim-${i}-verdict`; });
        card.querySelectorAll("[data-name]").forEach((el) => { el.name = `claims[${i}].${el.dataset.name}`; });
        card.querySelectorAll("[data-err]").forEach((el) => { el.dataset.errorFor = `claims[${i}].${el.dataset.err}`; });
        card.addEventListener("change", () => sync(card));
        card.addEventListener("focusin", () => { current = i; cards().forEach((c, j) => c.classList.toggle("current", j === i)); });
        list.append(card);
        sync(card);
      });
      area.querySelector('select[name="overall"]').value = "";
      area.querySelector('select[name="severity"]').value = "";
      area.querySelector('textarea[name="notes"]').value = "";
      focusClaim(0);
      window.scrollTo(0, 0);
    },
    collect() {
      const claims = cards().map((card) => {
        const out = {};
        const v = card.querySelector('input[type="radio"]:checked');
        if (v) out.verdict = v.value;
        card.querySelectorAll("[data-name]").forEach((el) => {
          const hiddenBox = el.closest("[hidden]");
          if (el.value.trim() && !hiddenBox) out[el.dataset.name] = el.value.trim();
        });
        return out;
      });
      const out = { claims };
      const overall = root.querySelector('select[name="overall"]').value;
      const severity = root.querySelector('select[name="severity"]').value;
      const notes = root.querySelector('textarea[name="notes"]').value.trim();
      if (overall) out.overall = overall;
      if (severity) out.severity = severity;
      if (notes) out.notes = notes;
      return out;
    },
    restore(draft) {
      (draft.claims || []).forEach((c, i) => {
        const card = cards()[i];
        if (!card) return;
        if (c.verdict) {
          const r = card.querySelector(`input[value="${CSS.escape(c.verdict)}"]`);
          if (r) r.checked = true;
        }
        card.querySelectorAll("[data-name]").forEach((el) => { el.value = c[el.dataset.name] || ""; });
        sync(card);
      });
      root.querySelector('select[name="overall"]').value = draft.overall || "";
      root.querySelector('select[name="severity"]').value = draft.severity || "";
      root.querySelector('textarea[name="notes"]').value = draft.notes || "";
    },
    /* Review (static/console/review_view.js): each claim's evidence URL becomes a link a reviewer can open
     * (http(s) only; the text stays the URL as written). */
    readOnly(area) {
      area.querySelectorAll('input[data-name="evidence_url"]').forEach((input) => {
        const url = input.value.trim();
        if (!/^https?:\/\//i.test(url)) return;
        const link = document.createElement("a");
        link.href = url;
        link.textContent = url;
        link.target = "_blank";
        link.rel = "noopener noreferrer nofollow";
        link.className = "evidence-link";
        input.replaceWith(link);
      });
    },
    validate(answer) {
      const needs = config.evidence_required_for || ["supported", "contradicted"];
      for (let i = 0; i < answer.claims.length; i++) {
        const c = answer.claims[i];
        if (!c.verdict) return { field: `claims[${i}].verdict`, message: msg("required") };
        if (needs.includes(c.verdict) && !c.evidence_url) return { field: `claims[${i}].evidence_url`, message: msg("need-url") };
        if (c.evidence_url && !domainAllowed(c.evidence_url)) return { field: `claims[${i}].evidence_url`, message: msg("untrusted") };
        if (needs.includes(c.verdict) && (c.quote || "").length < Math.max(1, config.quote_min_length || 0)) {
          return { field: `claims[${i}].quote`, message: msg("need-quote") };
        }
        if (c.verdict === "contradicted" && !c.correction) return { field: `claims[${i}].correction`, message: msg("need-correction") };
      }
      if (!answer.overall) return { field: "overall" };
      if (!answer.severity) return { field: "severity" };
      return null;
    },
    showError(field) {
      const m = /^claims\[(\d+)\]/.exec(field || "");
      if (m) focusClaim(Number(m[1]));
      return false; // the core still writes the message next to the field
    },
    shortcut(key) {
      const k = key.toLowerCase();
      if (k === "j" || k === "k") { focusClaim(current + (k === "j" ? 1 : -1)); return true; }
      const map = { s: "supported", c: "contradicted", u: "unverifiable", n: "not_claim" };
      const card = cards()[current];
      if (!card) return false;
      if (map[k]) {
        card.querySelector(`input[value="${map[k]}"]`).checked = true;
        sync(card);
        if (card.querySelector('[data-role="evidence"]').hidden) focusClaim(current + 1);
        return true;
      }
      if (k === "q") {
        const text = String(window.getSelection ? window.getSelection() : "").trim();
        return text ? fillCurrent("quote", text) : false;
      }
      if (k === "e") {
        const url = card.querySelector('[data-name="evidence_url"]');
        if (url && !card.querySelector('[data-role="evidence"]').hidden) { setTimeout(() => url.focus(), 0); return true; }
      }
      return false;
    },
  };
})();
