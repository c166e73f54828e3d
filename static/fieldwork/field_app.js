/*
 * The field page: find places nearest first, book one, check in, fill the form and take photos
 * (task_types/field_visit/field_visit.js draws them), then "check out and send": the visit goes into
 * an outbox in IndexedDB with its own Idempotency-Key and is sent at once if online, else when the
 * connection returns ("online" event, and every 15 s). The outbox is listed on the page with each
 * visit's state (queued, sent, refused with the server's reason). The booking is kept in IndexedDB
 * too, so reopening the page offline (the service worker serves it) brings the visit back.
 */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("field-config").textContent);
  const S = cfg.strings;
  const type = window.TaskTypes.field_visit;
  const $ = (id) => document.getElementById(id);
  const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  let booking = null;

  if ("serviceWorker" in navigator) navigator.serviceWorker.register(cfg.urls.sw, { scope: "/field/" }).catch(() => {});

  // --- IndexedDB ---------------------------------------------------------------------------------
  const dbp = new Promise((resolve, reject) => {
    const open = indexedDB.open(`field-${cfg.userId}`, 1);
    open.onupgradeneeded = () => { open.result.createObjectStore("outbox", { keyPath: "key" }); open.result.createObjectStore("booking", { keyPath: "campaign" }); };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  async function tx(store, mode, fn) {
    const db = await dbp;
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode); const s = t.objectStore(store); let out;
      const r = fn(s); if (r) r.onsuccess = () => { out = r.result; };
      t.oncomplete = () => resolve(out); t.onerror = () => reject(t.error);
    });
  }
  const outboxAll = () => tx("outbox", "readonly", (s) => s.getAll());
  const outboxPut = (row) => tx("outbox", "readwrite", (s) => s.put(row));

  async function drawOutbox() {
    const rows = (await outboxAll()).sort((a, b) => a.created - b.created);
    const list = $("outbox-list"); list.textContent = "";
    rows.forEach((r) => {
      const li = document.createElement("li");
      li.dataset.state = r.state; li.dataset.key = r.key;
      li.textContent = `${r.place} — ${r.state === "queued" ? S.queued : r.state === "synced" ? S.synced : `${S.refused}: ${r.message}`}`;
      list.appendChild(li);
    });
    $("outbox-count").textContent = String(rows.filter((r) => r.state === "queued").length);
  }

  function setOffline(off) { $("offline-banner").hidden = !off; document.body.dataset.offline = off ? "1" : "0"; }

  let syncing = false;
  async function sync() {
    if (syncing) return; syncing = true;
    try {
      for (const row of (await outboxAll()).filter((r) => r.state === "queued")) {
        let res;
        try {
          res = await fetch(cfg.urls.submit.replace("/0/", `/${row.assignmentId}/`), {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Idempotency-Key": row.key },
            body: JSON.stringify(row.body),
          });
        } catch (e) { setOffline(true); break; }
        setOffline(false);
        if (res.status === 200 || res.status === 201) { row.state = "synced"; row.body = null; }
        else if (res.status >= 500 || res.status === 429) break;
        else {
          const data = await res.json().catch(() => ({}));
          row.state = "refused"; row.message = (data.error && data.error.message) || `HTTP ${res.status}`;
          row.field = data.error && data.error.field;
          // The booking is still theirs: reopen the visit with its answers and photos and show why.
          if (!booking && row.assignment && res.status === 400) {
            await tx("booking", "readwrite", (s) => s.put({ campaign: cfg.campaignId, assignment: row.assignment }));
            showVisit(row.assignment);
            type.restore(row.body.payload);
            showError(row.message, row.field);
          }
          row.body = null;
        }
        await outboxPut(row);
      }
    } finally { syncing = false; await drawOutbox(); }
  }
  window.addEventListener("online", () => { setOffline(false); sync(); });
  window.addEventListener("offline", () => setOffline(true));
  setInterval(sync, 15000);

  // --- places and booking ------------------------------------------------------------------------
  function showVisit(assignment) {
    booking = assignment;
    $("visit").hidden = false; $("places-panel").hidden = true;
    type.render($("task-area"), assignment.item.payload, cfg.config);
  }

  async function findPlaces() {
    $("places-status").textContent = S.locating;
    navigator.geolocation.getCurrentPosition(async (pos) => {
      const url = `${cfg.urls.places}?lat=${pos.coords.latitude}&lon=${pos.coords.longitude}`;
      let data;
      try { data = await (await fetch(url, { credentials: "same-origin" })).json(); } catch (e) { setOffline(true); return; }
      const list = $("places"); list.textContent = "";
      $("places-status").textContent = data.places.length ? "" : S.noPlaces;
      data.places.forEach((p) => {
        const li = document.createElement("li"); li.dataset.item = p.item_id;
        const text = document.createElement("span");
        text.textContent = `${p.place.name} · ${p.distance_m < 1000 ? Math.round(p.distance_m) + " m" : (p.distance_m / 1000).toFixed(1) + " km"} · ${p.place.address || ""}`;
        const b = document.createElement("button"); b.type = "button"; b.className = "btn"; b.textContent = S.book;
        b.onclick = () => book(p.item_id);
        li.appendChild(text); li.appendChild(b); list.appendChild(li);
      });
    }, () => { $("places-status").textContent = S.locating + " ✗"; }, { enableHighAccuracy: true, timeout: 15000 });
  }

  async function book(itemId) {
    const res = await fetch(cfg.urls.book, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() }, body: JSON.stringify({ item_id: itemId }) });
    const data = await res.json();
    if (!res.ok) { $("places-status").textContent = data.error.message; return; }
    await tx("booking", "readwrite", (s) => s.put({ campaign: cfg.campaignId, assignment: data.assignment }));
    showVisit(data.assignment);
  }

  function showError(message, field) {
    document.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; });
    const el = field && document.querySelector(`[data-error-for="${field}"]`);
    const target = el || $("form-error");
    target.textContent = message; target.hidden = false;
  }

  $("visit").addEventListener("submit", async (e) => {
    e.preventDefault();
    const payload = type.collect();
    const problem = type.validate(payload);
    if (problem) { showError(problem.message, problem.field); return; }
    $("form-error").hidden = true;
    const key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
    await outboxPut({ key, assignmentId: booking.id, assignment: booking, place: booking.item.payload.place.name, created: Date.now(),
      state: "queued", body: { payload, time_spent_ms: 0 } });
    await tx("booking", "readwrite", (s) => s.delete(cfg.campaignId));
    booking = null;
    $("visit").hidden = true; $("places-panel").hidden = false; $("places").textContent = "";
    await drawOutbox();
    sync();
  });
  $("btn-find").addEventListener("click", findPlaces);

  (async () => {
    const saved = await tx("booking", "readonly", (s) => s.get(cfg.campaignId));
    if (saved && saved.assignment) showVisit(saved.assignment);
    await drawOutbox();
    sync();
  })();
})();
