/*
 * Video annotation on one <canvas>: tracks of boxes, polygons and points with keyframes, drawn over the
 * frames the server decoded at upload (assets/video.py: JPEG chunks, one fetch per chunk, the next one
 * prefetched). Between keyframes shapes are interpolated by expand(), which mirrors
 * task_types/video/tracks.py::expand line for line (tests/test_video_type.py runs both on one sample).
 * Keys: , and . (or ← →) step one frame, Shift for ten; Home/End; V/B/P/T tools; K keyframe; O outside;
 * C occluded; F propagate to the next frame; N/Shift+N next/previous keyframe; Delete removes the track.
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45"];
  const HANDLE = 7;
  let root, cfg, st, canvas, ctx;

  // --- interpolation (the mirror of tracks.py) ------------------------------------------------------
  const r2 = (v) => Math.floor(v * 100 + 0.5) / 100;
  const geomKey = (shape) => (shape === "box" ? "box" : "points");
  function lerp(a, b, t) {
    if (typeof a === "number") return r2(a + (b - a) * t);
    return a.map((x, i) => lerp(x, b[i], t));
  }
  function expand(track, frameCount) {
    const key = geomKey(track.shape);
    const kfs = track.keyframes;
    const out = [];
    for (let i = 0; i < kfs.length; i++) {
      const kf = kfs[i];
      const nxt = i + 1 < kfs.length ? kfs[i + 1] : null;
      const end = nxt ? nxt.frame : frameCount;
      const a = kf[key];
      const movable = nxt !== null && !kf.outside && !nxt.outside && (key === "box" || a.length === nxt[key].length);
      for (let f = kf.frame; f < end; f++) {
        const geometry = (f === kf.frame || !movable) ? a : lerp(a, nxt[key], (f - kf.frame) / (nxt.frame - kf.frame));
        out.push({ frame: f, [key]: geometry, outside: kf.outside, occluded: kf.occluded, keyframe: f === kf.frame, attributes: kf.attributes });
      }
    }
    return out;
  }
  window.TaskTypes.video = { expand };
  if (typeof document === "undefined" || !document.querySelector) return;  // loaded by node for the mirror test

  const $ = (sel) => root.querySelector(sel);
  const msg = (key) => { const el = root && root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const colorOf = (name) => {
    const i = cfg.labels.findIndex((l) => l.name === name);
    return (cfg.labels[i] && cfg.labels[i].color) || COLORS[(i < 0 ? 0 : i) % COLORS.length];
  };

  // Shape of a track at frame f (null before its first keyframe), from a per-track cache.
  function shapeAt(track, f) {
    if (!track._exp || track._v !== track.v) { track._exp = expand(track, st.n); track._v = track.v; }
    const first = track.keyframes[0].frame;
    return f < first ? null : track._exp[f - first] || null;
  }
  function keyframeIndex(track, f) { return track.keyframes.findIndex((k) => k.frame === f); }
  function clone(v) { return JSON.parse(JSON.stringify(v)); }

  // Set the track's geometry/flags at the current frame: a keyframe there is created or updated.
  function setKey(track, changes) {
    const f = st.f;
    const cur = shapeAt(track, f);
    const key = geomKey(track.shape);
    let i = keyframeIndex(track, f);
    if (i < 0) {
      const base = cur || track.keyframes[0];
      const kf = { frame: f, [key]: clone(base[key]), outside: cur ? cur.outside : false, occluded: cur ? cur.occluded : false, attributes: clone(base.attributes || {}) };
      track.keyframes.push(kf);
      track.keyframes.sort((a, b) => a.frame - b.frame);
      i = keyframeIndex(track, f);
    }
    Object.assign(track.keyframes[i], changes);
    track.v++;
    changed();
  }
  function changed() { renderPanel(); requestDraw(); }

  // --- frames -------------------------------------------------------------------------------------
  function chunkOf(f) { return st.chunks.findIndex((c) => f >= c.start && f < c.start + c.count); }
  function loadChunk(ci) {
    if (ci < 0 || ci >= st.chunks.length) return Promise.resolve(null);
    if (!st.cache.has(ci)) {
      const p = fetch(st.chunks[ci].url, { credentials: "same-origin" }).then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.arrayBuffer(); });
      st.cache.set(ci, p);
      p.catch(() => st.cache.delete(ci));
      if (st.cache.size > 6) st.cache.delete(st.cache.keys().next().value);  // a few chunks in memory at most
    }
    return st.cache.get(ci);
  }
  async function showFrame(f) {
    const ci = chunkOf(f);
    const token = ++st.token;
    try {
      const buf = await loadChunk(ci);
      if (!buf || token !== st.token) return;
      const c = st.chunks[ci];
      const k = f - c.start;
      const bitmap = await createImageBitmap(new Blob([buf.slice(c.offsets[k], c.offsets[k + 1])], { type: "image/jpeg" }));
      if (token !== st.token) { bitmap.close(); return; }
      if (st.bitmap) st.bitmap.close();
      st.bitmap = bitmap;
      root.dataset.shown = String(f);
      requestDraw();
      loadChunk(ci + 1);  // prefetch: stepping forward never waits at a chunk boundary
    } catch (err) {
      $('[data-role="status"]').textContent = msg("loadFailed");
    }
  }
  function seek(f) {
    if (st.draft) cancelDraft();
    st.f = clamp(Math.round(f), 0, st.n - 1);
    root.dataset.frame = String(st.f);
    $('[data-role="slider"]').value = String(st.f);
    $('[data-role="frame-no"]').textContent = `${st.f + 1} / ${st.n}`;
    showFrame(st.f);
    renderPanel();
    requestDraw();
  }

  // --- view ---------------------------------------------------------------------------------------
  function requestDraw() { if (st.raf) return; st.raf = requestAnimationFrame(() => { st.raf = 0; draw(); }); }
  function fit() {
    const vp = $('[data-role="viewport"]').getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(vp.width * dpr)); canvas.height = Math.max(1, Math.round(vp.height * dpr));
    canvas.style.width = `${vp.width}px`; canvas.style.height = `${vp.height}px`;
    st.dpr = dpr;
    st.scale = Math.min(vp.width / st.w, vp.height / st.h);
    st.tx = (vp.width - st.w * st.scale) / 2; st.ty = (vp.height - st.h * st.scale) / 2;
    root.dataset.view = `${st.scale},${st.tx},${st.ty}`;  // read by the browser test to map frame to screen pixels
    requestDraw();
  }
  function toFrame(e) {
    const b = canvas.getBoundingClientRect();
    return [clamp((e.clientX - b.left - st.tx) / st.scale, 0, st.w), clamp((e.clientY - b.top - st.ty) / st.scale, 0, st.h)];
  }
  function draw() {
    ctx.setTransform(st.dpr, 0, 0, st.dpr, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(st.dpr * st.scale, 0, 0, st.dpr * st.scale, st.dpr * st.tx, st.dpr * st.ty);
    if (st.bitmap) {
      // Limited-range frames (assets/video.py keeps the source's range): 16–235 stretched back to 0–255.
      if (st.limited) ctx.filter = "contrast(1.164)";
      ctx.drawImage(st.bitmap, 0, 0, st.w, st.h);
      ctx.filter = "none";
    }
    const lw = 2 / st.scale;
    st.tracks.forEach((t, i) => {
      const s = shapeAt(t, st.f);
      if (!s || s.outside) return;
      ctx.strokeStyle = colorOf(t.label); ctx.fillStyle = colorOf(t.label); ctx.lineWidth = i === st.sel ? lw * 2 : lw;
      ctx.setLineDash(s.occluded ? [6 / st.scale, 4 / st.scale] : []);
      if (t.shape === "box") {
        const [x, y, w, h] = s.box;
        ctx.strokeRect(x, y, w, h);
        if (i === st.sel) [[x, y], [x + w, y], [x, y + h], [x + w, y + h]].forEach(([hx, hy]) => ctx.fillRect(hx - HANDLE / st.scale / 2, hy - HANDLE / st.scale / 2, HANDLE / st.scale, HANDLE / st.scale));
      } else {
        drawPoints(s.points, t.shape);
      }
    });
    ctx.setLineDash([]);
    if (st.draft) {
      ctx.strokeStyle = "#ffd400"; ctx.fillStyle = "#ffd400"; ctx.lineWidth = lw;
      if (st.draft.shape === "box") { const [x, y, w, h] = st.draft.box; ctx.strokeRect(x, y, w, h); } else drawPoints(st.draft.points, st.draft.shape === "polygon" ? "polyline" : "points");
    }
  }
  function drawPoints(pts, shape) {
    if (shape !== "points" && pts.length) {
      ctx.beginPath(); ctx.moveTo(pts[0][0], pts[0][1]);
      pts.slice(1).forEach((p) => ctx.lineTo(p[0], p[1]));
      if (shape === "polygon") ctx.closePath();
      ctx.stroke();
    }
    const r = 4 / st.scale;
    pts.forEach((p) => { ctx.beginPath(); ctx.arc(p[0], p[1], r, 0, 2 * Math.PI); ctx.fill(); });
  }

  // --- pointer ------------------------------------------------------------------------------------
  function hit(x, y) {
    const tol = 8 / st.scale;
    for (let i = st.tracks.length - 1; i >= 0; i--) {
      const s = shapeAt(st.tracks[i], st.f);
      if (!s || s.outside) continue;
      if (st.tracks[i].shape === "box") {
        const [bx, by, bw, bh] = s.box;
        const corners = [[bx, by], [bx + bw, by], [bx, by + bh], [bx + bw, by + bh]];
        const c = corners.findIndex(([cx, cy]) => Math.abs(cx - x) < tol && Math.abs(cy - y) < tol);
        if (c >= 0 && i === st.sel) return { i, corner: c };
        if (x >= bx - tol && x <= bx + bw + tol && y >= by - tol && y <= by + bh + tol) return { i };
      } else {
        const p = s.points.findIndex(([px, py]) => Math.abs(px - x) < tol && Math.abs(py - y) < tol);
        if (p >= 0) return { i, point: p };
        const xs = s.points.map((q) => q[0]); const ys = s.points.map((q) => q[1]);
        if (x >= Math.min(...xs) && x <= Math.max(...xs) && y >= Math.min(...ys) && y <= Math.max(...ys)) return { i };
      }
    }
    return null;
  }
  function onDown(e) {
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = toFrame(e);
    if (st.tool === "box") { st.draft = { shape: "box", box: [x, y, 0, 0], x0: x, y0: y }; return; }
    if (st.tool === "polygon" || st.tool === "points") {
      if (!st.draft) st.draft = { shape: st.tool, points: [] };
      const p0 = st.draft.points[0];
      if (st.tool === "polygon" && p0 && st.draft.points.length >= 3 && Math.hypot(p0[0] - x, p0[1] - y) < 10 / st.scale) { finishDraft(); return; }
      st.draft.points.push([r2(x), r2(y)]);
      requestDraw();
      return;
    }
    const h = hit(x, y);
    if (!h) { select(-1); return; }
    select(h.i);
    const s = shapeAt(st.tracks[h.i], st.f);
    st.drag = Object.assign({ x, y, start: clone(s[geomKey(st.tracks[h.i].shape)]) }, h);
  }
  function onMove(e) {
    const [x, y] = toFrame(e);
    if (st.draft && st.draft.shape === "box" && st.draft.x0 !== undefined) {
      const d = st.draft;
      d.box = [Math.min(d.x0, x), Math.min(d.y0, y), Math.abs(x - d.x0), Math.abs(y - d.y0)];
      requestDraw();
      return;
    }
    if (!st.drag) return;
    const t = st.tracks[st.drag.i];
    const dx = x - st.drag.x; const dy = y - st.drag.y;
    let g;
    if (t.shape === "box") {
      const [bx, by, bw, bh] = st.drag.start;
      if (st.drag.corner === undefined) g = [clamp(bx + dx, 0, st.w - bw), clamp(by + dy, 0, st.h - bh), bw, bh];
      else {
        const c = st.drag.corner;
        const x0 = c % 2 === 0 ? bx + dx : bx; const x1 = c % 2 === 1 ? bx + bw + dx : bx + bw;
        const y0 = c < 2 ? by + dy : by; const y1 = c >= 2 ? by + bh + dy : by + bh;
        g = [Math.min(x0, x1), Math.min(y0, y1), Math.max(1, Math.abs(x1 - x0)), Math.max(1, Math.abs(y1 - y0))];
      }
      g = g.map(r2);
    } else if (st.drag.point !== undefined) {
      g = clone(st.drag.start); g[st.drag.point] = [r2(clamp(x, 0, st.w)), r2(clamp(y, 0, st.h))];
    } else {
      g = st.drag.start.map(([px, py]) => [r2(clamp(px + dx, 0, st.w)), r2(clamp(py + dy, 0, st.h))]);
    }
    st.drag.moved = true;
    setKey(t, { [geomKey(t.shape)]: g });
  }
  function onUp() {
    if (st.draft && st.draft.shape === "box" && st.draft.x0 !== undefined) {
      const b = st.draft.box.map(r2);
      st.draft = null;
      if (b[2] >= 3 && b[3] >= 3) addTrack("box", b);
      requestDraw();
    }
    st.drag = null;
  }
  function finishDraft() {
    const d = st.draft;
    st.draft = null;
    if (d && d.shape !== "box" && d.points.length >= (d.shape === "polygon" ? 3 : 1)) addTrack(d.shape, d.points);
    requestDraw();
  }
  function cancelDraft() { st.draft = null; requestDraw(); }
  function addTrack(shape, geometry) {
    st.tracks.push({ id: `t${++st.seq}`, label: st.label, shape, v: 1,
      keyframes: [{ frame: st.f, [geomKey(shape)]: geometry, outside: false, occluded: false, attributes: {} }] });
    select(st.tracks.length - 1);
  }
  function select(i) { st.sel = i; changed(); }

  // --- actions ------------------------------------------------------------------------------------
  function current() { return st.sel >= 0 ? st.tracks[st.sel] : null; }
  function toggleFlag(flag) {
    const t = current(); if (!t) return false;
    const s = shapeAt(t, st.f);
    setKey(t, { [flag]: !(s && s[flag]) });
    return true;
  }
  function toggleKeyframe() {
    const t = current(); if (!t) return false;
    const i = keyframeIndex(t, st.f);
    if (i >= 0) { if (t.keyframes.length > 1) { t.keyframes.splice(i, 1); t.v++; changed(); } } else setKey(t, {});
    return true;
  }
  function propagate() {
    const t = current(); if (!t || st.f >= st.n - 1) return false;
    const s = shapeAt(t, st.f); if (!s) return false;
    const key = geomKey(t.shape);
    seek(st.f + 1);
    setKey(t, { [key]: clone(s[key]), outside: s.outside, occluded: s.occluded });
    return true;
  }
  function jumpKeyframe(dir) {
    const t = current(); if (!t) return false;
    const frames = t.keyframes.map((k) => k.frame);
    const f = dir > 0 ? frames.find((x) => x > st.f) : frames.reverse().find((x) => x < st.f);
    if (f !== undefined) seek(f);
    return true;
  }
  function removeTrack() { if (st.sel < 0) return false; st.tracks.splice(st.sel, 1); st.sel = -1; changed(); return true; }
  function setTool(tool) {
    if (tool !== "select" && !cfg.shapes.includes(tool)) return false;
    if (st.draft) finishDraft();
    st.tool = tool;
    root.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === tool)));
    $('[data-role="hint"]').textContent = msg(`hint-${tool}`);
    return true;
  }
  function setLabel(name) {
    st.label = name;
    const t = current(); if (t) { t.label = name; t.v++; }
    root.querySelectorAll("[data-label]").forEach((b) => b.setAttribute("aria-checked", String(b.dataset.label === name)));
    changed();
  }

  // --- panel --------------------------------------------------------------------------------------
  function renderLabels() {
    const box = $('[data-role="labels"]'); box.textContent = "";
    cfg.labels.forEach((l, i) => {
      const b = document.createElement("button");
      b.type = "button"; b.className = "secondary"; b.dataset.label = l.name; b.setAttribute("role", "radio");
      b.setAttribute("aria-checked", String(l.name === st.label));
      b.textContent = `${i < 9 ? `${i + 1} ` : ""}${l.label || l.name}`;
      b.style.borderLeft = `6px solid ${colorOf(l.name)}`;
      b.addEventListener("click", () => setLabel(l.name));
      box.append(b);
    });
  }
  function renderPanel() {
    const list = $('[data-role="tracks"]'); list.textContent = "";
    st.tracks.forEach((t, i) => {
      const li = document.createElement("li");
      li.className = `vidanno-track${i === st.sel ? " selected" : ""}`;
      li.dataset.trackShape = t.shape;
      const s = shapeAt(t, st.f);
      const b = document.createElement("button");
      b.type = "button"; b.className = "link";
      b.textContent = `#${i + 1} ${t.label} · ${msg(`shape-${t.shape}`)} · ${t.keyframes.length} ${msg("keyframes")}${s && s.outside ? ` · ${msg("outside")}` : ""}`;
      b.style.borderLeft = `6px solid ${colorOf(t.label)}`;
      b.addEventListener("click", () => select(i));
      li.append(b);
      list.append(li);
    });
    $('[data-role="count"]').textContent = `(${st.tracks.length})`;
    const t = current();
    const s = t && shapeAt(t, st.f);
    root.querySelectorAll("[data-needs-track]").forEach((el) => { el.disabled = !t; });
    $('[data-action="outside"]').setAttribute("aria-pressed", String(!!(s && s.outside)));
    $('[data-action="occluded"]').setAttribute("aria-pressed", String(!!(s && s.occluded)));
    $('[data-action="keyframe"]').setAttribute("aria-pressed", String(!!(t && keyframeIndex(t, st.f) >= 0)));
    // Keyframe ticks on the scrubber for the selected track.
    const ticks = $('[data-role="ticks"]'); ticks.textContent = "";
    if (t) t.keyframes.forEach((k) => { const m = document.createElement("span"); m.style.left = `${(100 * k.frame) / Math.max(1, st.n - 1)}%`; ticks.append(m); });
  }

  async function loadVideo(assignment) {
    const url = root.dataset.mediaUrl.replace("/0/", `/${assignment.id}/`);
    try {
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      const frames = (data.frames || {}).video || {};
      if (frames.state !== "ready") { $('[data-role="status"]').textContent = msg("notReady"); return; }
      st.chunks = frames.chunks;
      st.limited = frames.range === "limited";
      root.dataset.loaded = "1";
      seek(st.f);
    } catch (err) {
      $('[data-role="status"]').textContent = msg("loadFailed");
    }
  }

  function bind() {
    if (root.dataset.bound) return;
    root.dataset.bound = "1";
    canvas.addEventListener("pointerdown", (e) => { if (st) onDown(e); });
    canvas.addEventListener("pointermove", (e) => { if (st) onMove(e); });
    canvas.addEventListener("pointerup", (e) => { if (st) onUp(e); });
    canvas.addEventListener("dblclick", () => { if (st && st.draft) finishDraft(); });
    root.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => setTool(b.dataset.tool)));
    $('[data-role="slider"]').addEventListener("input", (e) => seek(Number(e.target.value)));
    const actions = { prev: () => seek(st.f - 1), next: () => seek(st.f + 1), keyframe: toggleKeyframe,
      outside: () => toggleFlag("outside"), occluded: () => toggleFlag("occluded"), propagate, remove: removeTrack,
      "prev-key": () => jumpKeyframe(-1), "next-key": () => jumpKeyframe(1), done: finishDraft };
    root.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => actions[b.dataset.action]()));
    window.addEventListener("resize", () => { if (st) fit(); });
    document.addEventListener("keydown", (e) => { if (st && e.key === "Escape" && st.draft) cancelDraft(); });
  }

  Object.assign(window.TaskTypes.video, {
    render(area, payload, config, view, assignment) {
      root = area.querySelector('[data-role="video-annotation"]');
      canvas = $('[data-role="canvas"]');
      ctx = canvas.getContext("2d");
      cfg = Object.assign({ labels: [{ name: "object" }], shapes: ["box"], attributes: [] }, config);
      st = { w: payload.width, h: payload.height, n: payload.frame_count, f: 0, tracks: [], sel: -1, tool: "box", label: cfg.labels[0].name,
        seq: 0, draft: null, drag: null, chunks: [], cache: new Map(), token: 0, bitmap: null, raf: 0, scale: 1, tx: 0, ty: 0, dpr: 1 };
      st.tracks = (payload.pre_tracks || []).map((t) => Object.assign(clone(t), { pre_id: t.id, id: `t${++st.seq}`, v: 1 }));
      root.querySelectorAll("[data-tool]").forEach((b) => { b.hidden = b.dataset.tool !== "select" && !cfg.shapes.includes(b.dataset.tool); });
      const slider = $('[data-role="slider"]'); slider.max = String(st.n - 1); slider.value = "0";
      delete root.dataset.loaded;
      bind();
      renderLabels();
      setTool(st.tracks.length ? "select" : cfg.shapes[0]);
      fit();
      seek(0);
      if (assignment) loadVideo(assignment);
    },
    collect() {
      if (st.draft) finishDraft();
      return { tracks: st.tracks.map((t) => {
        const out = { id: t.id, label: t.label, shape: t.shape, keyframes: clone(t.keyframes) };
        if (t.pre_id) out.pre_id = t.pre_id;
        return out;
      }) };
    },
    restore(draft) {
      if (!Array.isArray(draft.tracks)) return;
      st.tracks = draft.tracks.map((t) => Object.assign(clone(t), { v: 1 }));
      st.seq = st.tracks.length;
      changed();
    },
    validate(answer) {
      if (cfg.require_tracks && !answer.tracks.length) return { field: "tracks", message: msg("needTrack") };
      return null;
    },
    showError(field) {
      const m = /^tracks\[(\d+)\](?:\.keyframes\[(\d+)\])?/.exec(field || "");
      if (m) { select(Number(m[1])); if (m[2] !== undefined) { const k = st.tracks[Number(m[1])].keyframes[Number(m[2])]; if (k) seek(k.frame); } }
      return false;
    },
    shortcut(key, e) {
      if (!st) return false;
      const step = e && e.shiftKey ? 10 : 1;
      if (key === "." || key === ">" || key === "ArrowRight") { seek(st.f + step); return true; }
      if (key === "," || key === "<" || key === "ArrowLeft") { seek(st.f - step); return true; }
      if (key === "Home") { seek(0); return true; }
      if (key === "End") { seek(st.n - 1); return true; }
      const tools = { v: "select", b: "box", p: "polygon", t: "points" };
      if (tools[key]) return setTool(tools[key]);
      if (key === "k") return toggleKeyframe();
      if (key === "o") return toggleFlag("outside");
      if (key === "c") return toggleFlag("occluded");
      if (key === "f") return propagate();
      if (key === "n" || key === "N") return jumpKeyframe(key === "N" ? -1 : 1);
      if (/^[1-9]$/.test(key) && cfg.labels[Number(key) - 1]) { setLabel(cfg.labels[Number(key) - 1].name); return true; }
      if (key === "Enter" && st.draft) { finishDraft(); return true; }
      if (key === "Delete" || key === "Backspace") return removeTrack();
      return false;
    },
  });
})();
