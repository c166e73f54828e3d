/*
 * Spans: label spans of Vietnamese text (snapped to the syllables or pyvi words the server computed on
 * import, so the page and the server agree on boundaries), relations between spans and per-span
 * attributes; or, for an audio campaign, labelled time segments on a wavesurfer.js waveform with a
 * transcript each. Keyboard first (arrows, Shift+arrows, 1-9, N/P, Delete, R) and touch: tap the first
 * then the last syllable, then a label button. Offsets are JavaScript string indexes converted to code
 * points (Vietnamese NFC text is all in the BMP, but an emoji would otherwise shift them).
 * The model's pre-annotations start the answer; the server works out what was corrected.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  let root = null, config = null, payload = null;
  let spans = [], relations = [], tokens = [], labels = [];
  let cursor = 0, anchor = null, taps = 0, selected = null, relMode = null, counter = 0;
  let wave = null, regions = null, lastLabel = null;
  const audio = () => config.media === "audio";
  const msg = (key) => { const el = root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const q = (sel) => root.querySelector(sel);
  const newId = (prefix) => { let id; do { counter += 1; id = `${prefix}${counter}`; } while (spans.some((s) => s.id === id)); return id; };

  // Code-point offsets <-> JS string indexes (they differ only outside the BMP).
  let cpToJs = null;
  function buildOffsets(text) {
    cpToJs = []; let js = 0;
    for (const ch of text) { cpToJs.push(js); js += ch.length; }
    cpToJs.push(js);
  }
  const slice = (s, e) => payload.text.slice(cpToJs[s], cpToJs[e]);

  function labelIndex(value) { return Math.max(0, labels.indexOf(value)); }
  function labelName(value) {
    const btn = q(`[data-label="${CSS.escape(value)}"]`);
    return btn ? btn.textContent.replace(/^\s*\d+\s*/, "").trim() : value;
  }
  function sorted() { return spans.slice().sort((a, b) => a.start - b.start || b.end - a.end); }
  function selection() {
    if (anchor === null) return null;
    const a = Math.min(anchor, cursor), b = Math.max(anchor, cursor);
    return { start: tokens[a][0], end: tokens[b][1] };
  }

  // --- text -------------------------------------------------------------------------------------------
  function renderText() {
    const box = q('[data-role="text"]');
    box.textContent = "";
    let at = 0;
    tokens.forEach(([s, e], i) => {
      if (s > at) box.appendChild(document.createTextNode(slice(at, s)));
      const tok = document.createElement("span");
      tok.className = "tok"; tok.dataset.i = i; tok.textContent = slice(s, e);
      box.appendChild(tok);
      at = e;
    });
    if (at < cpToJs.length - 1) box.appendChild(document.createTextNode(slice(at, cpToJs.length - 1)));
  }

  function paint() {
    if (audio()) { paintSegments(); return; }
    const sel = selection();
    const chosen = spans.find((s) => s.id === selected);
    const target = relMode && relMode.to ? spans.find((s) => s.id === relMode.to) : null;
    root.querySelectorAll(".tok").forEach((tok) => {
      const [s, e] = tokens[Number(tok.dataset.i)];
      const cover = spans.filter((sp) => sp.start <= s && sp.end >= e).sort((a, b) => (a.end - a.start) - (b.end - b.start));
      tok.className = "tok";
      if (cover.length) {
        tok.classList.add("in-span", `lab-${labelIndex(cover[0].label) % 10}`);
        tok.dataset.depth = Math.min(cover.length, 3);
        tok.title = cover.map((sp) => labelName(sp.label)).join(" ⊃ ");
      } else { delete tok.dataset.depth; tok.removeAttribute("title"); }
      if (sel && s >= sel.start && e <= sel.end) tok.classList.add("sel");
      if (Number(tok.dataset.i) === cursor) tok.classList.add("cursor");
      if (chosen && s >= chosen.start && e <= chosen.end) tok.classList.add("span-sel");
      if (target && s >= target.start && e <= target.end) tok.classList.add("rel-target");
      const startsHere = spans.filter((sp) => sp.start === s);
      tok.classList.toggle("span-start", startsHere.length > 0);
    });
    const status = q('[data-role="status"]');
    if (relMode) status.textContent = relMode.to ? msg("relationLabel") : msg("relation").replace("%(text)s", chosenText(relMode.from));
    else if (sel) status.textContent = msg("selected").replace("%(text)s", slice(sel.start, sel.end));
    else status.textContent = msg("select");
    renderLists();
  }
  const chosenText = (id) => { const s = spans.find((x) => x.id === id); return s ? slice(s.start, s.end) : ""; };

  function renderLists() {
    const list = q('[data-role="span-list"]');
    list.textContent = "";
    const items = audio() ? spans.slice().sort((a, b) => a.start - b.start) : sorted();
    if (!items.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = msg("noSpans"); list.appendChild(li); }
    items.forEach((sp) => {
      const li = document.createElement("li");
      li.className = `span-chip lab-${labelIndex(sp.label) % 10}`;
      li.dataset.id = sp.id;
      if (sp.id === selected) li.classList.add("chosen");
      if (relMode && relMode.to === sp.id) li.classList.add("rel-target");
      const pick = document.createElement("button");
      pick.type = "button"; pick.className = "chip-pick"; pick.dataset.action = "pick-span";
      const text = audio() ? `${sp.start.toFixed(2)}–${sp.end.toFixed(2)} s${sp.transcript ? ": " + sp.transcript : ""}` : slice(sp.start, sp.end);
      pick.textContent = `${labelName(sp.label)}: ${text}${sp.origin === "model" ? ` (${msg("model")})` : ""}`;
      const del = document.createElement("button");
      del.type = "button"; del.className = "chip-del"; del.dataset.action = "delete-span";
      del.setAttribute("aria-label", msg("delete")); del.textContent = "×";
      li.append(pick, del);
      list.appendChild(li);
    });
    const rl = q('[data-role="relation-list"]');
    if (rl) {
      rl.textContent = "";
      relations.forEach((r, i) => {
        const li = document.createElement("li");
        li.className = "relation"; li.dataset.index = i;
        const span = document.createElement("span");
        span.textContent = `${chosenText(r.from)} → ${chosenText(r.to)} (${r.label})`;
        const del = document.createElement("button");
        del.type = "button"; del.className = "chip-del"; del.dataset.action = "delete-relation";
        del.setAttribute("aria-label", msg("delete")); del.textContent = "×";
        li.append(span, del);
        rl.appendChild(li);
      });
    }
    renderDetail();
  }

  function renderDetail() {
    const detail = q('[data-role="detail"]');
    const sp = spans.find((s) => s.id === selected);
    detail.hidden = !sp;
    const relBox = q('[data-role="relation-labels"]');
    if (relBox) relBox.hidden = !(relMode);
    if (!sp) return;
    detail.querySelectorAll("[data-attr]").forEach((el) => {
      const v = (sp.attributes || {})[el.dataset.attr];
      if (el.type === "checkbox") el.checked = v === true; else el.value = v || "";
    });
    const tr = detail.querySelector('[data-role="transcript"]');
    if (tr && document.activeElement !== tr) tr.value = sp.transcript || "";
  }

  function applyLabel(value) {
    lastLabel = value;
    const sel = audio() ? null : selection();
    const chosen = spans.find((s) => s.id === selected);
    if (sel && !(chosen && chosen.start === sel.start && chosen.end === sel.end)) {
      const dup = spans.find((s) => s.start === sel.start && s.end === sel.end && s.label === value);
      if (dup) { selected = dup.id; }
      else { const sp = { id: newId("s"), start: sel.start, end: sel.end, label: value }; spans.push(sp); selected = sp.id; }
      anchor = null; taps = 0;
    } else if (chosen) {
      chosen.label = value; delete chosen.origin;
      if (audio()) syncRegion(chosen);
    } else return false;
    paint();
    return true;
  }

  function deleteSpan(id) {
    spans = spans.filter((s) => s.id !== id);
    relations = relations.filter((r) => r.from !== id && r.to !== id);
    if (audio() && regions) { const reg = regions.getRegions().find((r) => r.id === id); if (reg) reg.remove(); }
    if (selected === id) selected = null;
    relMode = null;
    paint();
  }

  function step(delta) {
    const list = audio() ? spans.slice().sort((a, b) => a.start - b.start) : sorted();
    if (!list.length) return false;
    const current = relMode ? relMode.to : selected;
    let i = list.findIndex((s) => s.id === current);
    i = i < 0 ? (delta > 0 ? 0 : list.length - 1) : (i + delta + list.length) % list.length;
    if (relMode) { if (list[i].id === relMode.from) i = (i + delta + list.length) % list.length; relMode.to = list[i].id; }
    else { selected = list[i].id; anchor = null; taps = 0; if (!audio()) cursor = tokenAt(list[i].start); }
    paint();
    return true;
  }
  const tokenAt = (offset) => Math.max(0, tokens.findIndex(([s, e]) => s <= offset && offset < e));

  function startRelation() {
    if (!q('[data-role="relation-labels"]') || !selected) return false;
    relMode = relMode ? null : { from: selected, to: null };
    paint();
    return true;
  }
  function addRelation(label) {
    if (!relMode || !relMode.to) return false;
    if (!relations.some((r) => r.from === relMode.from && r.to === relMode.to && r.label === label)) {
      relations.push({ from: relMode.from, to: relMode.to, label });
    }
    relMode = null;
    paint();
    return true;
  }

  function tapToken(i) {
    const [s, e] = tokens[i];
    const inner = spans.filter((sp) => sp.start <= s && sp.end >= e).sort((a, b) => (a.end - a.start) - (b.end - b.start))[0];
    if (relMode) {
      if (inner && inner.id !== relMode.from) relMode.to = inner.id;
      paint();
      return;
    }
    if (taps === 1) { cursor = i; taps = 2; }
    else { anchor = cursor = i; taps = 1; selected = inner ? inner.id : null; }
    paint();
  }

  // --- audio ------------------------------------------------------------------------------------------
  const COLORS = ["rgba(37,99,235,.25)", "rgba(220,38,38,.25)", "rgba(22,163,74,.25)", "rgba(202,138,4,.3)",
    "rgba(147,51,234,.25)", "rgba(8,145,178,.25)", "rgba(219,39,119,.25)", "rgba(101,163,13,.3)",
    "rgba(234,88,12,.25)", "rgba(71,85,105,.25)"];
  const colorOf = (label) => COLORS[labelIndex(label) % 10];
  function syncRegion(sp) {
    if (!regions) return;
    const reg = regions.getRegions().find((r) => r.id === sp.id);
    if (reg) reg.setOptions({ color: colorOf(sp.label), start: sp.start, end: sp.end });
  }
  function paintSegments() {
    if (regions) regions.getRegions().forEach((r) => { if (r.element) r.element.classList.toggle("chosen", r.id === selected); });
    renderLists();
  }
  function addSegment(start, end, label, id, extra) {
    const sp = { id: id || newId("g"), start: +start.toFixed(3), end: +end.toFixed(3), label, transcript: "", ...(extra || {}) };
    spans.push(sp);
    // Before the audio is decoded the plugin has no duration: the "ready" handler adds every segment then.
    if (regions && root.dataset.ready === "1") regions.addRegion({ id: sp.id, start: sp.start, end: sp.end, color: colorOf(label), drag: true, resize: true });
    selected = sp.id;
    return sp;
  }
  async function loadAudio(assignment) {
    const box = q('[data-role="wave"]');
    box.textContent = "";
    if (wave) { wave.destroy(); wave = null; }
    if (!window.WaveSurfer) return;
    wave = window.WaveSurfer.create({ container: box, height: 96, waveColor: "#94a3b8", progressColor: "#1d4ed8", cursorColor: "#111827", normalize: true });
    regions = wave.registerPlugin(window.WaveSurfer.Regions.create());
    regions.enableDragSelection({ color: colorOf(lastLabel || labels[0]) });
    regions.on("region-created", (reg) => {
      if (spans.some((s) => s.id === reg.id)) return;
      const sp = { id: reg.id, start: +reg.start.toFixed(3), end: +reg.end.toFixed(3), label: lastLabel || labels[0], transcript: "" };
      spans.push(sp); selected = sp.id; reg.setOptions({ color: colorOf(sp.label) }); paint();
    });
    regions.on("region-updated", (reg) => {
      const sp = spans.find((s) => s.id === reg.id);
      if (sp) { sp.start = +reg.start.toFixed(3); sp.end = +reg.end.toFixed(3); delete sp.origin; selected = sp.id; paint(); }
    });
    regions.on("region-clicked", (reg, e) => { e.stopPropagation(); selected = reg.id; paint(); });
    wave.on("timeupdate", (t) => { q('[data-role="time"]').textContent = `${t.toFixed(1)} / ${(wave.getDuration() || 0).toFixed(1)} s`; });
    wave.on("ready", () => {
      const existing = spans.slice();
      existing.forEach((sp) => regions.addRegion({ id: sp.id, start: sp.start, end: sp.end, color: colorOf(sp.label) }));
      root.dataset.ready = "1";
      paint();
    });
    try {
      const res = await fetch(root.dataset.mediaUrl.replace("/0/", `/${assignment.id}/`), { credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      await wave.load((await res.json()).media.audio);
    } catch (err) {
      const box2 = q('[data-role="audio-error"]'); box2.textContent = msg("loadFailed"); box2.hidden = false;
    }
  }
  function segmentAtPlayhead() {
    if (!wave) return false;
    const t = wave.getCurrentTime(), d = wave.getDuration() || 0;
    const start = Math.max(0, Math.min(t, d - 0.5));
    addSegment(start, Math.min(d, start + 2), lastLabel || labels[0]);
    paint();
    return true;
  }

  // --- events -----------------------------------------------------------------------------------------
  function bind() {
    root.onclick = (e) => {
      const tok = e.target.closest(".tok");
      if (tok) { tapToken(Number(tok.dataset.i)); return; }
      const btn = e.target.closest("button");
      if (!btn) return;
      if (btn.dataset.label) { applyLabel(btn.dataset.label); return; }
      if (btn.dataset.relation) { addRelation(btn.dataset.relation); return; }
      const action = btn.dataset.action;
      const li = btn.closest("[data-id]");
      if (action === "pick-span" && li) {
        if (relMode) { if (li.dataset.id !== relMode.from) relMode.to = li.dataset.id; }
        else { selected = li.dataset.id; anchor = null; taps = 0; if (audio() && wave) wave.setTime(spans.find((s) => s.id === selected).start); }
        paint();
      } else if (action === "delete-span" && li) deleteSpan(li.dataset.id);
      else if (action === "delete-relation") { relations.splice(Number(btn.closest("[data-index]").dataset.index), 1); paint(); }
      else if (action === "relation") startRelation();
      else if (action === "cancel-relation") { relMode = null; paint(); }
      else if (action === "play" && wave) wave.playPause();
      else if (action === "add-segment") segmentAtPlayhead();
    };
    root.onchange = (e) => {
      const el = e.target;
      const sp = spans.find((s) => s.id === selected);
      if (!sp || !el.dataset.attr) return;
      sp.attributes = sp.attributes || {};
      const v = el.type === "checkbox" ? el.checked : el.value;
      if (v === false || v === "") delete sp.attributes[el.dataset.attr]; else sp.attributes[el.dataset.attr] = v;
      if (!Object.keys(sp.attributes).length) delete sp.attributes;
    };
    root.oninput = (e) => {
      if (e.target.dataset.role !== "transcript") return;
      const sp = spans.find((s) => s.id === selected);
      if (sp) { sp.transcript = e.target.value; renderLists(); }
    };
  }

  window.TaskTypes.spans = {
    render(area, itemPayload, cfg, view, assignment) {
      root = area.querySelector(".spans"); config = cfg; payload = itemPayload;
      labels = Array.from(root.querySelectorAll("[data-label]")).map((b) => b.dataset.label);
      spans = []; relations = []; selected = null; anchor = null; taps = 0; relMode = null; counter = 0; cursor = 0;
      lastLabel = labels[0];
      const pre = itemPayload.pre_annotations || {};
      q('[data-role="model-note"]').hidden = !(pre.spans || pre.segments);
      if (audio()) {
        const ctx = q('[data-bind="context"]'); if (ctx) ctx.textContent = itemPayload.context || "";
        (pre.segments || []).forEach((s) => spans.push({ ...s, transcript: s.transcript || "", origin: "model" }));
        delete root.dataset.ready;
        loadAudio(assignment || { id: 0 });
      } else {
        buildOffsets(itemPayload.text);
        tokens = (cfg.snap === "word" && itemPayload.words) || itemPayload.syllables || [];
        (pre.spans || []).forEach((s) => spans.push({ id: s.id, start: s.start, end: s.end, label: s.label, ...(s.attributes ? { attributes: s.attributes } : {}), origin: "model" }));
        relations = (pre.relations || []).map((r) => ({ ...r }));
        renderText();
      }
      bind();
      paint();
    },
    collect() {
      if (audio()) {
        return { segments: spans.map((s) => ({ id: s.id, start: s.start, end: s.end, label: s.label, transcript: s.transcript || "", ...(s.attributes ? { attributes: s.attributes } : {}) })) };
      }
      return {
        spans: sorted().map((s) => ({ id: s.id, start: s.start, end: s.end, label: s.label, text: slice(s.start, s.end), ...(s.attributes ? { attributes: s.attributes } : {}) })),
        relations: relations.map((r) => ({ ...r })),
      };
    },
    restore(draft) {
      if (audio() && Array.isArray(draft.segments)) {
        if (regions && root.dataset.ready === "1") regions.clearRegions();
        spans = [];
        draft.segments.forEach((s) => addSegment(s.start, s.end, s.label, s.id, { transcript: s.transcript || "", ...(s.attributes ? { attributes: s.attributes } : {}) }));
      } else if (Array.isArray(draft.spans)) {
        spans = draft.spans.map((s) => ({ id: s.id, start: s.start, end: s.end, label: s.label, ...(s.attributes ? { attributes: s.attributes } : {}) }));
        relations = (draft.relations || []).map((r) => ({ ...r }));
      }
      selected = null;
      paint();
    },
    validate(answer) {
      const list = answer.spans || answer.segments || [];
      if ((config.min_spans || 0) > list.length) return { field: audio() ? "segments" : "spans", message: msg("tooFew") };
      return null;
    },
    shortcut(key, event) {
      if (/^[1-9]$/.test(key)) {
        const n = Number(key) - 1;
        if (relMode && relMode.to) { const r = config.relation_labels[n]; return r ? addRelation(r) : false; }
        return labels[n] ? applyLabel(labels[n]) : false;
      }
      const k = key.length === 1 ? key.toLowerCase() : key;
      if (k === "n" || (k === "Tab" && !event.shiftKey)) return step(1);
      if (k === "p" || (k === "Tab" && event.shiftKey)) return step(-1);
      if ((k === "Delete" || k === "Backspace") && selected) { deleteSpan(selected); return true; }
      if (k === "r") return startRelation();
      if (k === "Enter" && relMode && relMode.to) { paint(); return true; }
      if (audio()) {
        if (k === " " && wave) { wave.playPause(); return true; }
        if (k === "a") return segmentAtPlayhead();
        return false;
      }
      if (k === "ArrowRight" || k === "ArrowLeft") {
        if (!tokens.length) return false;
        const next = Math.max(0, Math.min(tokens.length - 1, cursor + (k === "ArrowRight" ? 1 : -1)));
        if (event && event.shiftKey) { if (anchor === null) anchor = cursor; cursor = next; }
        else { cursor = next; anchor = next; }
        if (!(event && event.shiftKey)) selected = null;
        taps = 0;
        paint();
        return true;
      }
      return false;
    },
  };
})();
