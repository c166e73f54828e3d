/*
 * OCR: transcribe a document image — full page, regions (rectangles / 4-point polygons drawn with
 * mouse or touch, in image pixel coordinates) or a form's fields. Zoom (buttons, wheel, pinch) and
 * pan; an on-screen Vietnamese diacritics helper; a warning when a Vietnamese text has no diacritics.
 * The image comes from a short-lived signed URL fetched for this assignment. Text is sent NFC.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const SVGNS = "http://www.w3.org/2000/svg";
  const lang = document.documentElement.lang || "vi";
  const MAX_SCALE = 8;

  let root = null;
  let cfg = null;
  let item = null;
  let st = null;

  const $ = (sel) => root.querySelector(sel);
  // Interface strings come translated from the template (Django i18n), never hard-coded here.
  const msg = (key) => { const el = root && root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const nfc = (s) => (s || "").normalize("NFC");
  const round1 = (v) => Math.round(v * 10) / 10;
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const isEn = () => lang.startsWith("en");

  const hasDiacritics = (text) => window.ViInput.hasDiacritics(text);

  // --- viewer: zoom and pan ----------------------------------------------------------------------
  function applyTransform() {
    $('[data-role="stage"]').style.transform = `translate(${st.tx}px, ${st.ty}px) scale(${st.scale})`;
    root.style.setProperty("--ocr-inv-scale", String(1 / st.scale));
    drawOverlay();
  }

  function fit() {
    const vp = $('[data-role="viewport"]').getBoundingClientRect();
    if (!st.w || !vp.width) return;
    st.scale = Math.min(vp.width / st.w, vp.height / st.h);
    st.minScale = st.scale / 2;
    st.tx = (vp.width - st.w * st.scale) / 2;
    st.ty = (vp.height - st.h * st.scale) / 2;
    applyTransform();
  }

  function zoomAt(factor, cx, cy) {
    const next = clamp(st.scale * factor, st.minScale || 0.05, MAX_SCALE);
    const k = next / st.scale;
    st.tx = cx - (cx - st.tx) * k;
    st.ty = cy - (cy - st.ty) * k;
    st.scale = next;
    applyTransform();
  }

  function zoomCentre(factor) {
    const vp = $('[data-role="viewport"]').getBoundingClientRect();
    zoomAt(factor, vp.width / 2, vp.height / 2);
  }

  function toImage(clientX, clientY) {
    const vp = $('[data-role="viewport"]').getBoundingClientRect();
    return [clamp((clientX - vp.left - st.tx) / st.scale, 0, st.w), clamp((clientY - vp.top - st.ty) / st.scale, 0, st.h)];
  }

  // --- regions ------------------------------------------------------------------------------------
  function corners(r) {
    return r.shape === "rect" ? [[r.x, r.y], [r.x + r.w, r.y], [r.x + r.w, r.y + r.h], [r.x, r.y + r.h]] : r.points;
  }

  function drawOverlay() {
    const svg = $('[data-role="overlay"]');
    svg.replaceChildren();
    const handleR = 7 / st.scale;
    const stroke = 2 / st.scale;
    st.regions.forEach((r, i) => {
      const poly = document.createElementNS(SVGNS, "polygon");
      poly.setAttribute("points", corners(r).map((p) => p.join(",")).join(" "));
      poly.setAttribute("class", "ocr-shape" + (i === st.selected ? " selected" : ""));
      poly.setAttribute("stroke-width", String(stroke));
      poly.dataset.region = String(i);
      svg.append(poly);
      const [lx, ly] = corners(r)[0];
      const label = document.createElementNS(SVGNS, "text");
      label.setAttribute("x", String(lx));
      label.setAttribute("y", String(Math.max(ly - 4 / st.scale, 12 / st.scale)));
      label.setAttribute("font-size", String(14 / st.scale));
      label.setAttribute("class", "ocr-label");
      label.textContent = String(i + 1);
      svg.append(label);
      if (i === st.selected) {
        corners(r).forEach((p, k) => {
          const h = document.createElementNS(SVGNS, "circle");
          h.setAttribute("cx", String(p[0]));
          h.setAttribute("cy", String(p[1]));
          h.setAttribute("r", String(handleR));
          h.setAttribute("class", "ocr-handle");
          h.dataset.region = String(i);
          h.dataset.corner = String(k);
          svg.append(h);
        });
      }
    });
    if (st.draft) {
      const poly = document.createElementNS(SVGNS, st.draft.shape === "polygon" ? "polyline" : "polygon");
      const pts = st.draft.shape === "polygon" ? st.draft.points.concat(st.draft.hover ? [st.draft.hover] : []) : corners(st.draft);
      poly.setAttribute("points", pts.map((p) => p.join(",")).join(" "));
      poly.setAttribute("class", "ocr-shape drawing");
      poly.setAttribute("stroke-width", String(stroke));
      svg.append(poly);
    }
  }

  function renderRegionList(focusIndex) {
    if (cfg.mode !== "regions") return;
    const list = $('[data-role="regions"]');
    list.replaceChildren();
    st.regions.forEach((r, i) => {
      const li = document.createElement("li");
      li.className = "ocr-region" + (i === st.selected ? " selected" : "");
      const head = document.createElement("div");
      head.className = "ocr-region-head";
      const title = document.createElement("button");
      title.type = "button";
      title.className = "link";
      title.textContent = `#${i + 1} ${msg(r.shape === "rect" ? "rect" : "polygon")}`;
      title.addEventListener("click", () => select(i));
      const del = document.createElement("button");
      del.type = "button";
      del.className = "secondary";
      del.dataset.action = "delete-region";
      del.textContent = msg("delete");
      del.addEventListener("click", () => removeRegion(i));
      head.append(title, del);
      const ta = document.createElement("textarea");
      ta.rows = 2;
      ta.lang = "vi";
      ta.spellcheck = false;
      ta.name = `region-${i}`;
      ta.dataset.viInput = "";
      ta.dataset.region = String(i);
      ta.value = r.text || "";
      ta.setAttribute("aria-label", `${msg("regionText")} ${i + 1}`);
      ta.addEventListener("input", () => { st.regions[i].text = ta.value; });
      ta.addEventListener("focus", () => { if (st.selected !== i) { st.selected = i; drawOverlay(); markSelected(); } });
      const err = document.createElement("p");
      err.className = "field-error";
      err.hidden = true;
      err.dataset.errorFor = `regions[${i}]`;
      li.append(head, ta, err);
      list.append(li);
    });
    $('[data-role="region-count"]').textContent = `(${st.regions.length})`;
    $('[data-role="no-regions"]').hidden = st.regions.length > 0;
    if (focusIndex !== undefined) {
      const ta = list.querySelector(`textarea[data-region="${focusIndex}"]`);
      if (ta) ta.focus();
    }
  }

  function markSelected() {
    root.querySelectorAll(".ocr-region").forEach((li, i) => li.classList.toggle("selected", i === st.selected));
  }

  function select(i) {
    st.selected = i;
    drawOverlay();
    markSelected();
  }

  function addRegion(region) {
    st.regions.push(region);
    st.selected = st.regions.length - 1;
    drawOverlay();
    renderRegionList(st.selected);
    changed();
  }

  function removeRegion(i) {
    st.regions.splice(i, 1);
    st.selected = -1;
    drawOverlay();
    renderRegionList();
    changed();
  }

  function changed() { root.closest("form").dispatchEvent(new Event("input", { bubbles: true })); }

  function setTool(tool) {
    if (cfg.mode !== "regions" && tool !== "pan") return false;
    if (tool === "polygon" && !(cfg.shapes || []).includes("polygon")) return false;
    if (tool === "rect" && !(cfg.shapes || []).includes("rect")) return false;
    st.tool = tool;
    st.draft = null;
    root.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === tool)));
    $('[data-role="hint"]').textContent = msg({ pan: "hintPan", rect: "hintRect", polygon: "hintPolygon" }[tool]);
    $('[data-role="viewport"]').dataset.activeTool = tool;
    drawOverlay();
    return true;
  }

  // --- pointer input: one pointer draws / pans / drags a handle, two pointers pinch ----------------
  function onPointerDown(e) {
    const vp = $('[data-role="viewport"]');
    vp.setPointerCapture(e.pointerId);
    st.pointers.set(e.pointerId, [e.clientX, e.clientY]);
    if (st.pointers.size === 2) {
      const [a, b] = Array.from(st.pointers.values());
      st.gesture = { kind: "pinch", dist: Math.hypot(a[0] - b[0], a[1] - b[1]), scale: st.scale };
      if (st.draft && st.draft.shape === "rect") st.draft = null;
      return;
    }
    if (st.pointers.size > 2) return;
    const target = e.target;
    const [ix, iy] = toImage(e.clientX, e.clientY);
    if (target.classList && target.classList.contains("ocr-handle")) {
      st.gesture = { kind: "handle", region: Number(target.dataset.region), corner: Number(target.dataset.corner) };
      return;
    }
    if (st.tool === "rect") {
      st.draft = { shape: "rect", x: ix, y: iy, w: 0, h: 0, ox: ix, oy: iy };
      st.gesture = { kind: "rect" };
      return;
    }
    if (st.tool === "polygon") {
      st.gesture = { kind: "tap" };
      return;
    }
    if (target.dataset && target.dataset.region !== undefined && target.tagName === "polygon") {
      select(Number(target.dataset.region));
    }
    st.gesture = { kind: "pan", x: e.clientX, y: e.clientY, tx: st.tx, ty: st.ty };
  }

  function onPointerMove(e) {
    if (!st.pointers.has(e.pointerId)) {
      if (st.tool === "polygon" && st.draft) { st.draft.hover = toImage(e.clientX, e.clientY); drawOverlay(); }
      return;
    }
    st.pointers.set(e.pointerId, [e.clientX, e.clientY]);
    const g = st.gesture;
    if (!g) return;
    if (g.kind === "pinch" && st.pointers.size >= 2) {
      const [a, b] = Array.from(st.pointers.values());
      const dist = Math.hypot(a[0] - b[0], a[1] - b[1]);
      const vp = $('[data-role="viewport"]').getBoundingClientRect();
      zoomAt((g.scale * dist / g.dist) / st.scale, (a[0] + b[0]) / 2 - vp.left, (a[1] + b[1]) / 2 - vp.top);
    } else if (g.kind === "pan") {
      st.tx = g.tx + e.clientX - g.x;
      st.ty = g.ty + e.clientY - g.y;
      applyTransform();
    } else if (g.kind === "rect" && st.draft) {
      const [ix, iy] = toImage(e.clientX, e.clientY);
      Object.assign(st.draft, { x: Math.min(ix, st.draft.ox), y: Math.min(iy, st.draft.oy), w: Math.abs(ix - st.draft.ox), h: Math.abs(iy - st.draft.oy) });
      drawOverlay();
    } else if (g.kind === "handle") {
      const r = st.regions[g.region];
      const [ix, iy] = toImage(e.clientX, e.clientY);
      if (r.shape === "polygon") {
        r.points[g.corner] = [ix, iy];
      } else {
        const c = corners(r);
        const opposite = c[(g.corner + 2) % 4];
        Object.assign(r, { x: Math.min(ix, opposite[0]), y: Math.min(iy, opposite[1]), w: Math.abs(ix - opposite[0]), h: Math.abs(iy - opposite[1]) });
      }
      drawOverlay();
    }
  }

  function onPointerUp(e) {
    const wasTap = st.gesture && st.gesture.kind === "tap";
    st.pointers.delete(e.pointerId);
    const g = st.gesture;
    if (st.pointers.size > 0) return;
    st.gesture = null;
    if (!g) return;
    if (g.kind === "rect" && st.draft) {
      const d = st.draft;
      st.draft = null;
      if (d.w >= 3 && d.h >= 3) addRegion({ shape: "rect", x: round1(d.x), y: round1(d.y), w: round1(d.w), h: round1(d.h), text: "" });
      else drawOverlay();
    } else if (wasTap && st.tool === "polygon") {
      const p = toImage(e.clientX, e.clientY).map(round1);
      st.draft = st.draft || { shape: "polygon", points: [] };
      st.draft.points.push(p);
      if (st.draft.points.length === 4) {
        const points = st.draft.points;
        st.draft = null;
        addRegion({ shape: "polygon", points, text: "" });
      } else drawOverlay();
    } else if (g.kind === "handle") {
      const r = st.regions[g.region];
      if (r.shape === "rect") ["x", "y", "w", "h"].forEach((k) => { r[k] = round1(r[k]); });
      else r.points = r.points.map((p) => p.map(round1));
      changed();
    }
  }

  function bindViewer() {
    const vp = $('[data-role="viewport"]');
    if (vp.dataset.bound) return;
    vp.dataset.bound = "1";
    vp.addEventListener("pointerdown", onPointerDown);
    vp.addEventListener("pointermove", onPointerMove);
    vp.addEventListener("pointerup", onPointerUp);
    vp.addEventListener("pointercancel", (e) => { st.pointers.delete(e.pointerId); st.gesture = null; });
    vp.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = vp.getBoundingClientRect();
      zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    root.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => setTool(b.dataset.tool)));
    root.querySelectorAll("[data-zoom]").forEach((b) => b.addEventListener("click", () => {
      if (b.dataset.zoom === "fit") fit(); else zoomCentre(b.dataset.zoom === "in" ? 1.25 : 0.8);
    }));
    window.addEventListener("resize", () => { if (st && st.w) fit(); });
    root.addEventListener("input", (e) => {
      const warning = $('[data-role="diacritics-warning"]');
      if (!warning.hidden && e.target.name !== "confirmed_no_diacritics" && hasDiacritics(texts().join(" "))) warning.hidden = true;
    });
    window.ViInput.attach(root, { capitals: msg("capitals") });
  }

  async function loadImage(assignment) {
    const img = $('[data-role="image"]');
    const loading = $('[data-role="loading"]');
    loading.hidden = false;
    loading.textContent = msg("loading");
    img.removeAttribute("src");
    const url = root.dataset.mediaUrl.replace("/0/", `/${assignment.id}/`);
    try {
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      await new Promise((resolve, reject) => {
        img.onload = resolve;
        img.onerror = () => reject(new Error("image"));
        img.src = data.media.image;
      });
      loading.hidden = true;
      fit();
    } catch (err) {
      loading.textContent = msg("loadFailed");
    }
  }

  function texts() {
    if (cfg.mode === "full_page") return [$('textarea[name="text"]').value];
    if (cfg.mode === "regions") return st.regions.map((r) => r.text || "");
    return Array.from(root.querySelectorAll('[data-role="fields"] input')).map((i) => i.value);
  }

  function needsWarning() {
    if ((cfg.language || "vi") !== "vi" || cfg.warn_no_diacritics === false) return false;
    const all = texts().join(" ");
    return window.ViInput.lacksDiacritics(all) && !$('input[name="confirmed_no_diacritics"]').checked;
  }

  function renderFields() {
    const box = $('[data-role="fields"]');
    box.replaceChildren();
    (cfg.fields || []).forEach((f) => {
      const wrap = document.createElement("div");
      wrap.className = "ocr-field";
      const label = document.createElement("label");
      label.htmlFor = `ocr-field-${f.key}`;
      label.textContent = (isEn() && f.label_en ? f.label_en : f.label) + (f.required ? " *" : "");
      const input = document.createElement("input");
      input.type = "text";
      input.id = `ocr-field-${f.key}`;
      input.name = `field-${f.key}`;
      input.dataset.field = f.key;
      input.dataset.viInput = "";
      input.lang = "vi";
      input.autocomplete = "off";
      const err = document.createElement("p");
      err.className = "field-error";
      err.hidden = true;
      err.dataset.errorFor = `fields.${f.key}`;
      wrap.append(label, input, err);
      box.append(wrap);
    });
  }

  window.TaskTypes.ocr = {
    render(area, payload, config, view, assignment) {
      root = area.querySelector('[data-role="ocr"]');
      cfg = config;
      item = payload;
      st = { scale: 1, tx: 0, ty: 0, w: payload.width, h: payload.height, tool: "pan", regions: [], selected: -1, pointers: new Map(), gesture: null, draft: null };
      const img = $('[data-role="image"]');
      img.style.width = `${payload.width}px`;
      img.style.height = `${payload.height}px`;
      const svg = $('[data-role="overlay"]');
      svg.setAttribute("viewBox", `0 0 ${payload.width} ${payload.height}`);
      svg.setAttribute("width", String(payload.width));
      svg.setAttribute("height", String(payload.height));
      root.querySelectorAll("[data-mode]").forEach((el) => { el.hidden = el.dataset.mode !== cfg.mode; });
      root.querySelectorAll("[data-regions-only]").forEach((el) => {
        el.hidden = cfg.mode !== "regions" || !(cfg.shapes || ["rect", "polygon"]).includes(el.dataset.tool);
      });
      $('textarea[name="text"]').value = "";
      $('input[name="confirmed_no_diacritics"]').checked = false;
      $('[data-role="diacritics-warning"]').hidden = true;
      bindViewer();
      if (cfg.mode === "regions") {
        st.regions = (payload.regions || []).map((r) => Object.assign({}, r, r.points ? { points: r.points.map((p) => p.slice()) } : {}, { text: r.text || "" }));
        renderRegionList();
      }
      if (cfg.mode === "fields") renderFields();
      setTool(cfg.mode === "regions" && !st.regions.length ? ((cfg.shapes || ["rect"])[0]) : "pan");
      applyTransform();
      if (assignment) loadImage(assignment);
    },
    collect() {
      const out = {};
      if (cfg.mode === "full_page") out.text = nfc($('textarea[name="text"]').value);
      else if (cfg.mode === "regions") {
        out.regions = st.regions.map((r) => {
          const region = { shape: r.shape, text: nfc(r.text) };
          if (r.id) region.id = r.id;
          if (r.shape === "rect") Object.assign(region, { x: round1(r.x), y: round1(r.y), w: round1(r.w), h: round1(r.h) });
          else region.points = r.points.map((p) => p.map(round1));
          return region;
        });
      } else {
        out.fields = {};
        root.querySelectorAll('[data-role="fields"] input').forEach((i) => { out.fields[i.dataset.field] = nfc(i.value); });
      }
      if ($('input[name="confirmed_no_diacritics"]').checked) out.confirmed_no_diacritics = true;
      return out;
    },
    restore(draft) {
      if (cfg.mode === "full_page") $('textarea[name="text"]').value = draft.text || "";
      else if (cfg.mode === "regions" && Array.isArray(draft.regions)) {
        st.regions = draft.regions.map((r) => Object.assign({}, r));
        st.selected = -1;
        renderRegionList();
        drawOverlay();
      } else if (draft.fields) {
        root.querySelectorAll('[data-role="fields"] input').forEach((i) => { i.value = draft.fields[i.dataset.field] || ""; });
      }
      $('input[name="confirmed_no_diacritics"]').checked = !!draft.confirmed_no_diacritics;
    },
    beforeSubmit() {
      if (cfg.mode === "regions" && !st.regions.length) {
        const err = new Error(msg("needRegion"));
        err.field = "regions";
        throw err;
      }
      if (needsWarning()) {
        $('[data-role="diacritics-warning"]').hidden = false;
        const err = new Error(msg("noDiacritics"));
        err.field = cfg.mode === "full_page" ? "text" : "";
        throw err;
      }
    },
    showError(field, message) {
      if (/diacritic|dấu/i.test(message)) $('[data-role="diacritics-warning"]').hidden = false;
      const m = /^regions\[(\d+)\]/.exec(field || "");
      if (m) select(Number(m[1]));
      return false;
    },
    shortcut(key) {
      if (!st) return false;
      if (key === "v" || key === "h") return setTool("pan");
      if (key === "r") return setTool("rect");
      if (key === "p") return setTool("polygon");
      if (key === "+" || key === "=") { zoomCentre(1.25); return true; }
      if (key === "-") { zoomCentre(0.8); return true; }
      if (key === "0") { fit(); return true; }
      if ((key === "Delete" || key === "Backspace") && st.selected >= 0) { removeRegion(st.selected); return true; }
      // Arrow keys pan while the image has the keyboard focus (Tab to it); elsewhere they scroll the page.
      const step = { ArrowLeft: [60, 0], ArrowRight: [-60, 0], ArrowUp: [0, 60], ArrowDown: [0, -60] }[key];
      if (step && document.activeElement === $('[data-role="viewport"]')) {
        st.tx += step[0];
        st.ty += step[1];
        applyTransform();
        return true;
      }
      return false;
    },
  };
})();
