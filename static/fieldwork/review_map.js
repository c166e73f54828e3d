/*
 * The review page's map: Leaflet (vendored, static/vendor/leaflet) on the configured tile URL
 * (settings.FIELD_MAP_TILE_URL), or, when none is set, a plain SVG plot of the check-ins and places
 * in longitude/latitude with a 100 m scale: no request leaves the platform.
 */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("review-data").textContent);
  const box = document.getElementById("review-map");
  const pts = data.visits.filter((v) => v.checkin && v.checkin.lat !== undefined);
  if (data.tileUrl && window.L) {
    const map = window.L.map(box);
    window.L.tileLayer(data.tileUrl, { maxZoom: 19 }).addTo(map);
    const bounds = [];
    pts.forEach((v) => {
      window.L.circle([v.place.lat, v.place.lon], { radius: data.geofence, color: "#1565c0" }).addTo(map);
      window.L.marker([v.checkin.lat, v.checkin.lon]).bindPopup(`${v.place.name} #${v.id}`).addTo(map);
      bounds.push([v.checkin.lat, v.checkin.lon], [v.place.lat, v.place.lon]);
    });
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] }); else map.setView([16, 107], 5);
    return;
  }
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 400 300"); svg.setAttribute("width", "100%"); svg.setAttribute("height", "100%");
  svg.setAttribute("role", "img"); svg.setAttribute("aria-label", "check-ins");
  const all = pts.flatMap((v) => [[v.checkin.lon, v.checkin.lat], [v.place.lon, v.place.lat]]);
  if (all.length) {
    const xs = all.map((p) => p[0]); const ys = all.map((p) => p[1]);
    const pad = 0.001;
    const x0 = Math.min(...xs) - pad; const x1 = Math.max(...xs) + pad; const y0 = Math.min(...ys) - pad; const y1 = Math.max(...ys) + pad;
    const s = Math.min(380 / (x1 - x0), 280 / (y1 - y0));
    const X = (lon) => 10 + (lon - x0) * s; const Y = (lat) => 290 - (lat - y0) * s;
    pts.forEach((v) => {
      const place = document.createElementNS(NS, "rect");
      place.setAttribute("x", X(v.place.lon) - 4); place.setAttribute("y", Y(v.place.lat) - 4);
      place.setAttribute("width", 8); place.setAttribute("height", 8); place.setAttribute("fill", "#1565c0");
      const c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", X(v.checkin.lon)); c.setAttribute("cy", Y(v.checkin.lat)); c.setAttribute("r", 5);
      c.setAttribute("fill", v.checkin.outside ? "#c62828" : "#2e7d32"); c.setAttribute("data-visit", v.id);
      const t = document.createElementNS(NS, "title"); t.textContent = `${v.place.name} #${v.id}: ${v.checkin.lat}, ${v.checkin.lon}`;
      c.appendChild(t);
      const line = document.createElementNS(NS, "line");
      line.setAttribute("x1", X(v.place.lon)); line.setAttribute("y1", Y(v.place.lat));
      line.setAttribute("x2", X(v.checkin.lon)); line.setAttribute("y2", Y(v.checkin.lat)); line.setAttribute("stroke", "#999");
      svg.appendChild(line); svg.appendChild(place); svg.appendChild(c);
    });
  }
  box.appendChild(svg);
})();
