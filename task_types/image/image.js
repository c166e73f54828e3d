/*
 * Image annotation on one <canvas>: boxes, rotated boxes, polygons, polylines, skeleton keypoints and
 * brush/eraser masks (COCO RLE, window.CocoRle), whole-image classes, per-object attributes, layers
 * (hide a class or an object), undo/redo, zoom/pan (wheel, buttons, pinch) and keyboard shortcuts.
 * Pointer events only, so a phone's finger draws boxes and points like a mouse. Coordinates are image
 * pixels; the server checks them again (task_types/image/geometry.py). Redraws are batched to one per
 * animation frame, so dragging among 500 objects stays smooth (bench/image_page_drag.py measures it).
 */
(function () {
  "use strict";
  window.TaskTypes = window.TaskTypes || {};
  const lang = document.documentElement.lang || "vi";
  const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#469990", "#9a6324"];
  const HANDLE = 7;
  let root, cfg, item, st, canvas, ctx;

  const $ = (sel) => root.querySelector(sel);
  const msg = (key) => { const el = root && root.querySelector(`[data-msg="${key}"]`); return el ? el.textContent : key; };
  const r2 = (v) => Math.round(v * 100) / 100;
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const labelColor = (name) => {
    const i = cfg.labels.findIndex((l) => l.name === name);
    return (cfg.labels[i] && cfg.labels[i].color) || COLORS[(i < 0 ? 0 : i) % COLORS.length];
  };

  // --- view ---------------------------------------------------------------------------------------
  function requestDraw() {
    if (st.frame) return;
    st.frame = requestAnimationFrame(() => { st.frame = 0; draw(); });
  }
  function setView(scale, tx, ty) {
    st.scale = scale; st.tx = tx; st.ty = ty;
    root.dataset.view = `${scale},${tx},${ty}`;  // read by the browser tests to map image to screen pixels
    requestDraw();
  }
  function resize() {
    const vp = $('[data-role="viewport"]').getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(vp.width * dpr));
    canvas.height = Math.max(1, Math.round(vp.height * dpr));
    canvas.style.width = `${vp.width}px`;
    canvas.style.height = `${vp.height}px`;
    st.dpr = dpr;
  }
  function fit() {
    resize();
    const vp = $('[data-role="viewport"]').getBoundingClientRect();
    const s = Math.min(vp.width / st.w, vp.height / st.h);
    st.minScale = s / 2;
    setView(s, (vp.width - st.w * s) / 2, (vp.height - st.h * s) / 2);
  }
  function zoomAt(f, cx, cy) {
    const next = clamp(st.scale * f, st.minScale || 0.02, 16);
    const k = next / st.scale;
    setView(next, cx - (cx - st.tx) * k, cy - (cy - st.ty) * k);
  }
  function local(e) { const b = canvas.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
  function toImage(e) { const [x, y] = local(e); return [(x - st.tx) / st.scale, (y - st.ty) / st.scale]; }

  // --- geometry helpers ---------------------------------------------------------------------------
  function rboxCorners(rb) {
    const [cx, cy, w, h, a] = rb; const t = a * Math.PI / 180; const c = Math.cos(t); const s = Math.sin(t);
    return [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]].map(([dx, dy]) => [cx + dx * c - dy * s, cy + dx * s + dy * c]);
  }
  function handlesOf(o) {
    if (o.type === "box") { const [x, y, w, h] = o.bbox; return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]; }
    if (o.type === "rbox") { const c = rboxCorners(o.rbox); const t = o.rbox[4] * Math.PI / 180; return c.concat([[o.rbox[0] + Math.sin(t) * (o.rbox[3] / 2 + 20 / st.scale), o.rbox[1] - Math.cos(t) * (o.rbox[3] / 2 + 20 / st.scale)]]); }
    if (o.type === "polygon" || o.type === "polyline") return o.points;
    if (o.type === "keypoints") return o.keypoints.filter((p) => p[2] > 0);
    return [];
  }
  function inside(pts, x, y) {
    let c = false;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const [xi, yi] = pts[i]; const [xj, yj] = pts[j];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) c = !c;
    }
    return c;
  }
  function hit(o, x, y) {
    const tol = 6 / st.scale;
    if (o.type === "box") { const [bx, by, w, h] = o.bbox; return x >= bx - tol && x <= bx + w + tol && y >= by - tol && y <= by + h + tol; }
    if (o.type === "rbox") return inside(rboxCorners(o.rbox), x, y);
    if (o.type === "polygon") return inside(o.points, x, y);
    if (o.type === "polyline") return o.points.some((p, i) => i && segDist(o.points[i - 1], p, x, y) < tol * 2);
    if (o.type === "keypoints") return o.keypoints.some((p) => p[2] && Math.hypot(p[0] - x, p[1] - y) < tol * 2);
    if (o.type === "mask") { const xi = Math.floor(x); const yi = Math.floor(y); return xi >= 0 && yi >= 0 && xi < st.w && yi < st.h && !!o.bits[yi * st.w + xi]; }
    return false;
  }
  function segDist(a, b, x, y) {
    const dx = b[0] - a[0]; const dy = b[1] - a[1]; const l = dx * dx + dy * dy || 1;
    const t = clamp(((x - a[0]) * dx + (y - a[1]) * dy) / l, 0, 1);
    return Math.hypot(a[0] + t * dx - x, a[1] + t * dy - y);
  }
  function translate(o, dx, dy) {
    if (o.type === "box") { o.bbox[0] += dx; o.bbox[1] += dy; }
    else if (o.type === "rbox") { o.rbox[0] += dx; o.rbox[1] += dy; }
    else if (o.type === "polygon" || o.type === "polyline") o.points.forEach((p) => { p[0] += dx; p[1] += dy; });
    else if (o.type === "keypoints") o.keypoints.forEach((p) => { if (p[2]) { p[0] += dx; p[1] += dy; } });
  }

  // --- drawing ------------------------------------------------------------------------------------
  function visible(o) { return !o.hidden && !st.hiddenLabels.has(o.label); }
  function path(pts, close) {
    ctx.beginPath();
    pts.forEach((p, i) => (i ? ctx.lineTo(p[0], p[1]) : ctx.moveTo(p[0], p[1])));
    if (close) ctx.closePath();
  }
  // While one object is dragged (or painted, or a shape drawn) everything else is still: it is drawn once
  // into a layer canvas and each frame only blits that layer and draws the moving part.
  function draw() {
    const g = st.gesture;
    const active = g && (g.kind === "move" || g.kind === "handle" || g.kind === "paint") ? g.obj : null;
    const still = active || (g && g.kind === "draw") || (st.draft && st.draft.points) ? (active || "draft") : null;
    if (!still) { st.layer = null; drawScene(ctx, null, true); return; }
    const view = `${st.scale},${st.tx},${st.ty},${canvas.width},${canvas.height}`;
    if (!st.layer || st.layer.obj !== still || st.layer.view !== view || st.layer.version !== st.version) {
      const layer = st.layer && st.layer.canvas.width === canvas.width && st.layer.canvas.height === canvas.height
        ? st.layer.canvas : Object.assign(document.createElement("canvas"), { width: canvas.width, height: canvas.height });
      drawScene(layer.getContext("2d"), active, false);
      st.layer = { canvas: layer, obj: still, view, version: st.version };
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(st.layer.canvas, 0, 0);
    const saved = ctx;
    applyView(ctx);
    if (active) drawObject(active, st.objects.indexOf(active));
    drawDraft();
    ctx = saved;
  }
  function applyView(c) {
    const d = st.dpr || 1;
    c.setTransform(d * st.scale, 0, 0, d * st.scale, d * st.tx, d * st.ty);
    c.lineWidth = 2 / st.scale;
  }
  function drawScene(target, skip, withDraft) {
    const saved = ctx;
    ctx = target;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#3a3f4b";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    applyView(ctx);
    if (st.tileUrls) drawTiles(); else if (st.img) ctx.drawImage(st.img, 0, 0, st.w, st.h);
    st.objects.forEach((o, i) => { if (o !== skip) drawObject(o, i); });
    if (withDraft) drawDraft();
    ctx = saved;
  }
  // Deep zoom (task_types/image/tiles.py): a large image comes as a pyramid of 512 px tiles; only the tiles
  // in view are fetched and drawn, from the level whose pixels are closest to the screen's, over the one-tile
  // top level as a backdrop while finer tiles load.
  function drawTiles() {
    const T = st.tiles.size, top = st.tiles.levels - 1, d = st.dpr || 1;
    const level = clamp(Math.floor(Math.log2(1 / (st.scale * d))), 0, top);
    const f = 2 ** level, span = T * f, shown = [];
    const x0 = Math.max(0, -st.tx / st.scale), y0 = Math.max(0, -st.ty / st.scale);
    const x1 = Math.min(st.w, (canvas.width / d - st.tx) / st.scale), y1 = Math.min(st.h, (canvas.height / d - st.ty) / st.scale);
    let missing = false;
    for (let c = Math.floor(x0 / span); c * span < x1; c++) {
      for (let r = Math.floor(y0 / span); r * span < y1; r++) {
        const img = tileImage(level, c, r);
        if (img) shown.push([img, c * span, r * span]); else missing = true;
      }
    }
    const back = missing || !shown.length ? tileImage(top, 0, 0) : null;  // the backdrop only while tiles load
    if (back) ctx.drawImage(back, 0, 0, st.w, st.h);
    shown.forEach(([img, x, y]) => ctx.drawImage(img, x, y, img.naturalWidth * f, img.naturalHeight * f));
  }
  // Tiles are decoded off the main thread (HTMLImageElement.decode) before they are drawn, so a frame never
  // waits for a JPEG decode; the cache keeps the latest 400 (about 400 MB at most, usually far fewer).
  function tileImage(level, c, r) {
    const name = `tile:${level}:${c}:${r}`;
    let img = st.tileCache.get(name);
    if (!img) {
      const url = st.tileUrls[name];
      if (!url) return null;
      img = new Image();
      img.src = url;
      img.decode().then(() => {
        img.ready = true; st.version++; root.dataset.tilesLoaded = st.tileCache.size; requestDraw();
      }).catch(() => {});
      st.tileCache.set(name, img);
      if (st.tileCache.size > 400) st.tileCache.delete(st.tileCache.keys().next().value);  // oldest first
    }
    return img.ready ? img : null;
  }
  function drawObject(o, i) {
    if (!visible(o)) return;
    const color = labelColor(o.label);
    const sel = i === st.selected;
    ctx.strokeStyle = sel ? "#ffb000" : color;
    ctx.fillStyle = color + "33";
    if (o.type === "mask") {
      if (o.dirty) paintMaskCanvas(o);
      ctx.globalAlpha = sel ? 0.6 : 0.45;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(o.canvas, 0, 0);
      ctx.globalAlpha = 1;
      return;
    }
    if (o.type === "box") { ctx.beginPath(); ctx.rect(...o.bbox); ctx.fill(); ctx.stroke(); }
    else if (o.type === "rbox") { path(rboxCorners(o.rbox), true); ctx.fill(); ctx.stroke(); }
    else if (o.type === "polygon") { path(o.points, true); ctx.fill(); ctx.stroke(); }
    else if (o.type === "polyline") { path(o.points, false); ctx.stroke(); }
    else if (o.type === "keypoints") drawSkeleton(o.keypoints, color);
    if (sel) drawHandles(handlesOf(o));
  }
  function drawDraft() {
    if (!st.draft) return;
    ctx.strokeStyle = "#137333";
    ctx.setLineDash([6 / st.scale, 4 / st.scale]);
    if (st.draft.type === "box" || st.draft.type === "rbox") { const b = st.draft.bbox; ctx.strokeRect(b[0], b[1], b[2], b[3]); }
    else if (st.draft.points) { path(st.draft.cursor ? st.draft.points.concat([st.draft.cursor]) : st.draft.points, false); ctx.stroke(); }
    ctx.setLineDash([]);
    if (st.draft.keypoints) drawSkeleton(st.draft.keypoints, labelColor(st.label));
    if (st.draft.points) drawHandles(st.draft.points);
  }
  function drawHandles(pts) {
    const r = HANDLE / st.scale;
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = "#d97706";
    pts.forEach((p) => { ctx.beginPath(); ctx.arc(p[0], p[1], r, 0, Math.PI * 2); ctx.fill(); ctx.stroke(); });
  }
  function drawSkeleton(kp, color) {
    const edges = (cfg.skeleton && cfg.skeleton.edges) || [];
    ctx.strokeStyle = color;
    edges.forEach(([a, b]) => {
      const p = kp[a - 1]; const q = kp[b - 1];
      if (p && q && p[2] && q[2]) { ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke(); }
    });
    const r = 4 / st.scale;
    kp.forEach((p) => { if (p[2]) { ctx.fillStyle = p[2] === 2 ? color : "#fff"; ctx.beginPath(); ctx.arc(p[0], p[1], r, 0, Math.PI * 2); ctx.fill(); ctx.stroke(); } });
  }
  function paintMaskCanvas(o) {
    if (!o.canvas) { o.canvas = document.createElement("canvas"); o.canvas.width = st.w; o.canvas.height = st.h; }
    const c = o.canvas.getContext("2d");
    const [x0, y0, x1, y1] = o.dirtyRect || [0, 0, st.w, st.h];
    const w = Math.max(1, x1 - x0); const h = Math.max(1, y1 - y0);
    const data = c.createImageData(w, h);
    const hex = labelColor(o.label); const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (o.bits[(y + y0) * st.w + x + x0]) { const k = (y * w + x) * 4; data.data[k] = rgb[0]; data.data[k + 1] = rgb[1]; data.data[k + 2] = rgb[2]; data.data[k + 3] = 255; }
      }
    }
    c.putImageData(data, x0, y0);
    o.dirty = false;
    o.dirtyRect = null;
  }
  function brush(o, x, y, erase) {
    const r = Number($('[data-role="brush"]').value) / 2;
    const x0 = Math.max(0, Math.floor(x - r)); const x1 = Math.min(st.w, Math.ceil(x + r));
    const y0 = Math.max(0, Math.floor(y - r)); const y1 = Math.min(st.h, Math.ceil(y + r));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        if ((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= r * r) o.bits[yy * st.w + xx] = erase ? 0 : 1;
      }
    }
    const d = o.dirtyRect;
    o.dirtyRect = d ? [Math.min(d[0], x0), Math.min(d[1], y0), Math.max(d[2], x1), Math.max(d[3], y1)] : [x0, y0, x1, y1];
    o.dirty = true;
  }

  // --- history ------------------------------------------------------------------------------------
  function serialise(o) {
    const out = { id: o.id, type: o.type, label: o.label || "" };
    if (o.pre_id) out.pre_id = o.pre_id;
    if (o.attributes && Object.keys(o.attributes).length) out.attributes = Object.assign({}, o.attributes);
    if (o.type === "box") out.bbox = o.bbox.map(r2);
    else if (o.type === "rbox") out.rbox = o.rbox.map(r2);
    else if (o.type === "polygon" || o.type === "polyline") out.points = o.points.map((p) => p.map(r2));
    else if (o.type === "keypoints") out.keypoints = o.keypoints.map((p) => (p[2] ? [r2(p[0]), r2(p[1]), p[2]] : [0, 0, 0]));
    else if (o.type === "mask") out.rle = { size: [st.h, st.w], counts: window.CocoRle.encode(o.bits, st.w, st.h) };
    return out;
  }
  function revive(o) {
    const c = JSON.parse(JSON.stringify(o));
    if (c.type === "mask") { c.bits = window.CocoRle.decode(c.rle.counts, st.w, st.h); c.dirty = true; delete c.rle; }
    return c;
  }
  function snapshot() { return st.objects.map(serialise); }
  function commit() {
    st.version = (st.version || 0) + 1;
    st.undo.push(st.last);
    if (st.undo.length > 100) st.undo.shift();
    st.redo = [];
    st.last = snapshot();
    renderList();
    requestDraw();
  }
  function restoreObjects(list) { st.version = (st.version || 0) + 1; st.objects = list.map(revive); st.selected = -1; st.last = snapshot(); renderList(); requestDraw(); }
  function undo() { if (!st.undo.length) return; st.redo.push(st.last); restoreObjects(st.undo.pop()); }
  function redo() { if (!st.redo.length) return; st.undo.push(st.last); restoreObjects(st.redo.pop()); }

  // --- objects ------------------------------------------------------------------------------------
  function add(o) {
    o.id = o.id || `o${++st.seq}`;
    o.label = o.label || st.label;
    st.objects.push(o);
    st.selected = -1;  // a new object is not selected: the next class key picks the class of the next one
    commit();
  }
  function remove(i) { st.objects.splice(i, 1); st.selected = -1; commit(); }
  function select(i) { st.selected = i; st.version = (st.version || 0) + 1; renderList(); requestDraw(); }
  function skeletonPoints() { return (cfg.skeleton && cfg.skeleton.points) || []; }

  function finishDraft() {
    const d = st.draft;
    if (!d) return;
    if (d.type === "polygon" && d.points.length >= 3) add({ type: "polygon", points: d.points });
    else if (d.type === "polyline" && d.points.length >= 2) add({ type: "polyline", points: d.points });
    else if (d.type === "keypoints" && d.keypoints.some((p) => p[2])) {
      while (d.keypoints.length < skeletonPoints().length) d.keypoints.push([0, 0, 0]);
      add({ type: "keypoints", keypoints: d.keypoints });
    }
    st.draft = null;
    updateHint();
    requestDraw();
  }
  function cancelDraft() { st.draft = null; updateHint(); requestDraw(); }

  function setTool(tool) {
    if (!st.tools.includes(tool) && tool !== "select") return false;
    if (st.draft) finishDraft();
    st.tool = tool;
    root.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === tool)));
    root.querySelectorAll("[data-mask-only]").forEach((b) => b.classList.toggle("is-off", tool !== "mask"));
    $('[data-role="viewport"]').dataset.activeTool = tool;
    updateHint();
    return true;
  }
  function updateHint() {
    $('[data-role="hint"]').textContent = msg(`hint-${st.tool}`);
    const drafting = st.draft && ["polygon", "polyline", "keypoints"].includes(st.draft.type);
    // Shown and hidden without changing the layout (visibility), so the canvas never moves under a finger.
    $('[data-action="done"]').classList.toggle("is-off", !drafting);
    $('[data-action="skip"]').classList.toggle("is-off", !(st.tool === "keypoints"));
    if (st.tool === "keypoints") {
      const names = skeletonPoints();
      const n = st.draft ? st.draft.keypoints.length : 0;
      $('[data-role="status"]').textContent = n < names.length ? `${msg("next")} ${names[n]}` : "";
    } else $('[data-role="status"]').textContent = "";
  }
  function setLabel(name) {
    st.label = name;
    root.querySelectorAll('[data-role="labels"] button').forEach((b) => b.setAttribute("aria-checked", String(b.dataset.label === name)));
    if (st.selected >= 0 && st.objects[st.selected].label !== name) { st.objects[st.selected].label = name; commit(); }
  }

  // --- pointer interaction ------------------------------------------------------------------------
  function onDown(e) {
    canvas.setPointerCapture(e.pointerId);
    st.pointers.set(e.pointerId, local(e));
    if (st.pointers.size === 2) {  // pinch: zoom and pan, never draw
      st.gesture = { kind: "pinch", ...pinchState() };
      if (st.draft && (st.draft.type === "box" || st.draft.type === "rbox")) st.draft = null;
      return;
    }
    const [x, y] = toImage(e);
    const inImage = x >= 0 && y >= 0 && x <= st.w && y <= st.h;
    const t = st.tool;
    if (t === "box" || t === "rbox") {
      if (!inImage) return startPan(e);
      st.draft = { type: t, start: [x, y], bbox: [x, y, 0, 0] };
      st.gesture = { kind: "draw" };
    } else if (t === "polygon" || t === "polyline") {
      if (!inImage) return startPan(e);
      const px = [clamp(x, 0, st.w), clamp(y, 0, st.h)];
      if (!st.draft) st.draft = { type: t, points: [] };
      const first = st.draft.points[0];
      if (t === "polygon" && first && st.draft.points.length >= 3 && Math.hypot(first[0] - px[0], first[1] - px[1]) < 10 / st.scale) finishDraft();
      else st.draft.points.push(px);
      st.gesture = { kind: "tap" };
      updateHint();
    } else if (t === "keypoints") {
      if (!inImage) return startPan(e);
      if (!st.draft) st.draft = { type: "keypoints", keypoints: [] };
      st.draft.keypoints.push([clamp(x, 0, st.w), clamp(y, 0, st.h), 2]);
      if (st.draft.keypoints.length >= skeletonPoints().length) finishDraft();
      st.gesture = { kind: "tap" };
      updateHint();
    } else if (t === "mask") {
      if (!inImage) return startPan(e);
      let o = st.objects[st.selected];
      if (!o || o.type !== "mask") {
        o = { type: "mask", bits: new Uint8Array(st.w * st.h), dirty: true, id: `o${++st.seq}`, label: st.label };
        st.objects.push(o);
        st.selected = st.objects.length - 1;
      }
      brush(o, x, y, st.eraser);
      st.gesture = { kind: "paint", obj: o };
    } else {
      startSelect(e, x, y);
    }
    requestDraw();
  }
  function startPan(e) { const [lx, ly] = local(e); st.gesture = { kind: "pan", last: [lx, ly] }; }
  function startSelect(e, x, y) {
    const sel = st.objects[st.selected];
    if (sel && visible(sel)) {
      const hs = handlesOf(sel);
      const h = hs.findIndex((p) => Math.hypot(p[0] - x, p[1] - y) < (HANDLE + 4) / st.scale);
      if (h >= 0) { st.gesture = { kind: "handle", index: h, obj: sel, moved: false }; return; }
    }
    for (let i = st.objects.length - 1; i >= 0; i--) {
      const o = st.objects[i];
      if (visible(o) && hit(o, x, y)) {
        select(i);
        st.gesture = { kind: "move", obj: o, last: [x, y], moved: false };
        return;
      }
    }
    if (st.selected >= 0) select(-1);
    startPan(e);
  }
  function pinchState() {
    const [a, b] = [...st.pointers.values()];
    return { dist: Math.hypot(a[0] - b[0], a[1] - b[1]), mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] };
  }
  function onMove(e) {
    if (!st.pointers.has(e.pointerId)) {
      if (st.draft && st.draft.points) { st.draft.cursor = toImage(e); requestDraw(); }
      return;
    }
    st.pointers.set(e.pointerId, local(e));
    const g = st.gesture;
    if (!g) return;
    if (g.kind === "pinch" && st.pointers.size === 2) {
      const now = pinchState();
      zoomAt(now.dist / (g.dist || 1), now.mid[0], now.mid[1]);
      setView(st.scale, st.tx + now.mid[0] - g.mid[0], st.ty + now.mid[1] - g.mid[1]);
      Object.assign(g, now);
      return;
    }
    const [x, y] = toImage(e);
    if (g.kind === "pan") { const [lx, ly] = local(e); setView(st.scale, st.tx + lx - g.last[0], st.ty + ly - g.last[1]); g.last = [lx, ly]; }
    else if (g.kind === "draw") {
      const [sx, sy] = st.draft.start; const cx = clamp(x, 0, st.w); const cy = clamp(y, 0, st.h);
      st.draft.bbox = [Math.min(sx, cx), Math.min(sy, cy), Math.abs(cx - sx), Math.abs(cy - sy)];
    } else if (g.kind === "move") {
      translate(g.obj, x - g.last[0], y - g.last[1]); g.last = [x, y]; g.moved = true;
    } else if (g.kind === "handle") { dragHandle(g.obj, g.index, clamp(x, 0, st.w), clamp(y, 0, st.h)); g.moved = true; }
    else if (g.kind === "paint") brush(g.obj, x, y, st.eraser);
    requestDraw();
  }
  function dragHandle(o, i, x, y) {
    if (o.type === "box") {
      const [bx, by, w, h] = o.bbox; const c = [[bx, by], [bx + w, by], [bx + w, by + h], [bx, by + h]];
      const opp = c[(i + 2) % 4];
      o.bbox = [Math.min(opp[0], x), Math.min(opp[1], y), Math.abs(x - opp[0]), Math.abs(y - opp[1])];
    } else if (o.type === "rbox") {
      if (i === 4) { o.rbox[4] = r2(Math.atan2(x - o.rbox[0], -(y - o.rbox[1])) * 180 / Math.PI); return; }
      const t = -o.rbox[4] * Math.PI / 180; const dx = x - o.rbox[0]; const dy = y - o.rbox[1];
      o.rbox[2] = Math.max(2, Math.abs(dx * Math.cos(t) - dy * Math.sin(t)) * 2);
      o.rbox[3] = Math.max(2, Math.abs(dx * Math.sin(t) + dy * Math.cos(t)) * 2);
    } else if (o.type === "polygon" || o.type === "polyline") { o.points[i] = [x, y]; }
    else if (o.type === "keypoints") { const shown = o.keypoints.filter((p) => p[2] > 0); shown[i][0] = x; shown[i][1] = y; }
  }
  function onUp(e) {
    st.pointers.delete(e.pointerId);
    const g = st.gesture;
    if (st.pointers.size) return;
    st.gesture = null;
    if (!g) return;
    if (g.kind === "draw" && st.draft) {
      const [x, y, w, h] = st.draft.bbox;
      if (w >= 3 && h >= 3) add(st.draft.type === "box" ? { type: "box", bbox: [x, y, w, h] } : { type: "rbox", rbox: [x + w / 2, y + h / 2, w, h, 0] });
      st.draft = null;
    } else if ((g.kind === "move" || g.kind === "handle") && g.moved) commit();
    else if (g.kind === "paint") commit();
    requestDraw();
  }

  // --- panels -------------------------------------------------------------------------------------
  function button(text, cls, onClick) { const b = document.createElement("button"); b.type = "button"; b.className = cls; b.textContent = text; b.addEventListener("click", onClick); return b; }
  function renderLabels() {
    const box = $('[data-role="labels"]');
    box.textContent = "";
    cfg.labels.forEach((l, i) => {
      const b = button(`${i < 9 ? `${i + 1} ` : ""}${l.label || l.name}`, "secondary imganno-label", () => setLabel(l.name));
      b.dataset.label = l.name;
      b.setAttribute("role", "radio");
      b.style.borderLeft = `6px solid ${labelColor(l.name)}`;
      box.append(b);
    });
    setLabel(st.label);
    const layers = $('[data-role="layers"]');
    layers.textContent = "";
    cfg.labels.forEach((l) => {
      const lab = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox"; cb.checked = true; cb.dataset.layer = l.name;
      cb.addEventListener("change", () => { if (cb.checked) st.hiddenLabels.delete(l.name); else st.hiddenLabels.add(l.name); st.version++; requestDraw(); });
      lab.append(cb, ` ${l.label || l.name}`);
      layers.append(lab);
    });
  }
  function renderList() {
    const list = $('[data-role="objects"]');
    list.textContent = "";
    $('[data-role="count"]').textContent = `(${st.objects.length})`;
    st.objects.forEach((o, i) => {
      const li = document.createElement("li");
      li.className = `imganno-object${i === st.selected ? " selected" : ""}`;
      li.dataset.objectType = o.type;
      const name = button(`${i + 1}. ${o.type} · ${o.label}${o.pre_id ? ` (${msg("pre")})` : ""}`, "link", () => select(i));
      const eye = button(o.hidden ? msg("show") : msg("hide"), "secondary", () => { o.hidden = !o.hidden; st.version++; renderList(); requestDraw(); });
      const del = button(msg("delete"), "secondary", () => remove(i));
      li.append(name, eye, del);
      list.append(li);
    });
    renderAttributes();
  }
  function renderAttributes() {
    const box = $('[data-role="attributes"]');
    const o = st.objects[st.selected];
    box.textContent = "";
    box.hidden = !o || !(cfg.attributes || []).length;
    if (box.hidden) return;
    (cfg.attributes || []).forEach((a) => {
      const lab = document.createElement("label");
      const text = (lang.startsWith("en") && a.label_en) || a.label || a.key;
      let input;
      if (a.kind === "boolean") { input = document.createElement("input"); input.type = "checkbox"; input.checked = !!(o.attributes || {})[a.key]; }
      else if (a.kind === "select") { input = document.createElement("select"); ["", ...(a.options || [])].forEach((v) => { const op = document.createElement("option"); op.value = v; op.textContent = v; input.append(op); }); input.value = (o.attributes || {})[a.key] || ""; }
      else { input = document.createElement("input"); input.type = "text"; input.maxLength = 500; input.value = (o.attributes || {})[a.key] || ""; }
      input.dataset.attribute = a.key;
      input.addEventListener("change", () => {
        o.attributes = o.attributes || {};
        const v = a.kind === "boolean" ? input.checked : input.value;
        if (v === "" || v === false) delete o.attributes[a.key]; else o.attributes[a.key] = v;
        commit();
      });
      if (a.kind === "boolean") lab.append(input, ` ${text}`); else lab.append(`${text} `, input);
      box.append(lab);
    });
  }
  function renderClasses() {
    const wrap = $('[data-role="classify"]');
    wrap.hidden = !st.tools.includes("classify");
    const box = $('[data-role="classes"]');
    box.textContent = "";
    (cfg.image_classes || []).forEach((c) => {
      const lab = document.createElement("label");
      const input = document.createElement("input");
      input.type = cfg.multi_class ? "checkbox" : "radio"; input.name = "image_class"; input.value = c;
      lab.append(input, ` ${c}`);
      box.append(lab);
    });
  }

  async function loadImage(assignment) {
    const url = root.dataset.mediaUrl.replace("/0/", `/${assignment.id}/`);
    try {
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      const img = new Image();
      const top = item.tiles ? `tile:${item.tiles.levels - 1}:0:0` : null;
      await new Promise((resolve, reject) => { img.onload = resolve; img.onerror = reject; img.src = data.media[top] || data.media.image; });
      if (top && data.media[top]) {  // a large image: tiles, never the whole file
        img.ready = true;
        st.tiles = item.tiles; st.tileUrls = data.media; st.tileCache = new Map([[top, img]]);
      } else {
        st.img = img;
      }
      st.version++;
      root.dataset.loaded = "1";
      requestDraw();
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
    canvas.addEventListener("pointercancel", (e) => { if (st) { st.pointers.delete(e.pointerId); st.gesture = null; } });
    canvas.addEventListener("dblclick", () => { if (st && st.draft) finishDraft(); });
    canvas.addEventListener("wheel", (e) => { e.preventDefault(); const [x, y] = local(e); zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, x, y); }, { passive: false });
    root.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => setTool(b.dataset.tool)));
    root.querySelectorAll("[data-zoom]").forEach((b) => b.addEventListener("click", () => {
      const r = canvas.getBoundingClientRect();
      if (b.dataset.zoom === "fit") fit(); else zoomAt(b.dataset.zoom === "in" ? 1.25 : 0.8, r.width / 2, r.height / 2);
    }));
    $('[data-action="undo"]').addEventListener("click", undo);
    $('[data-action="redo"]').addEventListener("click", redo);
    $('[data-action="done"]').addEventListener("click", finishDraft);
    $('[data-action="skip"]').addEventListener("click", () => { if (!st.draft) st.draft = { type: "keypoints", keypoints: [] }; st.draft.keypoints.push([0, 0, 0]); if (st.draft.keypoints.length >= skeletonPoints().length) finishDraft(); updateHint(); });
    $('[data-action="eraser"]').addEventListener("click", (e) => { st.eraser = !st.eraser; e.currentTarget.setAttribute("aria-pressed", String(st.eraser)); });
    window.addEventListener("resize", () => { if (st) fit(); });
    // The page core passes no Ctrl/Escape keys to a type: undo/redo and cancelling a drawing listen here.
    document.addEventListener("keydown", (e) => {
      if (!st || !document.body.contains(root) || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) && e.target.type === "text") return;
      const k = e.key.toLowerCase();
      if ((e.ctrlKey || e.metaKey) && (k === "z" || k === "y")) {
        e.preventDefault();
        if (k === "y" || e.shiftKey) redo(); else undo();
      } else if (e.key === "Escape" && st.draft) cancelDraft();
    });
  }

  window.TaskTypes.image = {
    render(area, payload, config, view, assignment) {
      root = area.querySelector('[data-role="image-annotation"]');
      canvas = $('[data-role="canvas"]');
      ctx = canvas.getContext("2d");
      cfg = Object.assign({ labels: [{ name: "object" }], tools: ["box"], attributes: [] }, config);
      item = payload;
      st = { w: payload.width, h: payload.height, scale: 1, tx: 0, ty: 0, objects: [], selected: -1, tool: "select", label: (cfg.labels[0] || {}).name || "",
        pointers: new Map(), gesture: null, draft: null, undo: [], redo: [], hiddenLabels: new Set(), seq: 0, version: 0, layer: null, eraser: false, img: null, frame: 0 };
      st.tools = cfg.tools;
      root.classList.toggle("no-mask", !st.tools.includes("mask"));
      root.classList.toggle("no-keypoints", !st.tools.includes("keypoints"));
      root.classList.toggle("no-steps", !st.tools.some((t) => ["polygon", "polyline", "keypoints"].includes(t)));
      root.querySelectorAll("[data-tool]").forEach((b) => { b.hidden = b.dataset.tool !== "select" && !st.tools.includes(b.dataset.tool); });
      delete root.dataset.loaded;
      bind();
      renderLabels();
      renderClasses();
      st.objects = (payload.pre_annotations || []).map((o) => Object.assign(revive(o), { pre_id: o.id, id: `o${++st.seq}` }));
      st.last = snapshot();
      renderList();
      const first = st.tools.find((t) => t !== "classify");
      setTool(first && !st.objects.length ? first : "select");
      fit();
      if (assignment) loadImage(assignment);
    },
    collect() {
      if (st.draft) finishDraft();
      const out = { objects: snapshot() };
      out.classes = [...root.querySelectorAll('input[name="image_class"]:checked')].map((i) => i.value);
      return out;
    },
    restore(draft) {
      if (Array.isArray(draft.objects)) restoreObjects(draft.objects);
      (draft.classes || []).forEach((c) => { const i = root.querySelector(`input[name="image_class"][value="${CSS.escape(c)}"]`); if (i) i.checked = true; });
    },
    validate(answer) {
      if (cfg.require_objects && !answer.objects.length) return { field: "objects", message: msg("needObject") };
      if (st.tools.includes("classify") && !answer.classes.length) return { field: "classes", message: msg("needClass") };
      return null;
    },
    showError(field) {
      const m = /^objects\[(\d+)\]/.exec(field || "");
      if (m) select(Number(m[1]));
      return false;
    },
    shortcut(key, e) {
      if (!st) return false;
      const tools = { v: "select", b: "box", r: "rbox", p: "polygon", l: "polyline", k: "keypoints", m: "mask" };
      if (tools[key]) return setTool(tools[key]);
      if (key === "e" && st.tool === "mask") { $('[data-action="eraser"]').click(); return true; }
      if (/^[1-9]$/.test(key) && cfg.labels[Number(key) - 1]) { setLabel(cfg.labels[Number(key) - 1].name); return true; }
      if (key === "Enter" && st.draft) { finishDraft(); return true; }
      if ((key === "Delete" || key === "Backspace") && st.selected >= 0) { remove(st.selected); return true; }
      if (key === "h" && st.selected >= 0) { const o = st.objects[st.selected]; o.hidden = !o.hidden; st.version++; renderList(); requestDraw(); return true; }
      if ((key === "[" || key === "]") && st.tool === "mask") { const b = $('[data-role="brush"]'); b.value = String(Number(b.value) + (key === "]" ? 4 : -4)); return true; }
      if ((key === "[" || key === "]") && st.selected >= 0 && st.objects[st.selected].type === "rbox") { st.objects[st.selected].rbox[4] += key === "]" ? 5 : -5; commit(); return true; }
      const r = canvas.getBoundingClientRect();
      if (key === "+" || key === "=") { zoomAt(1.25, r.width / 2, r.height / 2); return true; }
      if (key === "-") { zoomAt(0.8, r.width / 2, r.height / 2); return true; }
      if (key === "0") { fit(); return true; }
      return false;
    },
  };
})();
