/*
 * Field work service worker (served at /field/sw.js, scope /field/): every GET of the field page, its
 * scripts, styles and the places list is answered from the network when there is one and cached; with
 * no connection the cached copy answers, so a booked visit can be opened, filled and photographed
 * offline. Submissions are never cached or replayed here: the page's outbox (IndexedDB) sends them
 * with their Idempotency-Key when the connection returns.
 */
const CACHE = "field-v1";
self.addEventListener("install", (event) => { self.skipWaiting(); });
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (res.ok) cache.put(req, res.clone());
      return res;
    } catch (e) {
      const hit = await cache.match(req, { ignoreSearch: req.url.includes("places.json") });
      if (hit) return hit;
      throw e;
    }
  })());
});
