/* Export page: polls unfinished exports and fills their progress and download link. */
(function () {
  "use strict";
  const el = document.getElementById("export-status-urls");
  if (!el) return;
  let urls = JSON.parse(el.textContent);
  async function poll() {
    const still = [];
    for (const url of urls) {
      try {
        const res = await fetch(url, { credentials: "same-origin" });
        if (!res.ok) continue;
        const e = await res.json();
        const row = document.querySelector(`tr[data-export="${e.id}"]`);
        if (row) {
          const status = row.querySelector(".export-status");
          status.textContent = e.error ? `${e.status_label}: ${e.error}` : e.status_label;
          status.dataset.status = e.status;
          row.querySelector("progress").value = e.percent;
          row.querySelector(".export-rows").textContent = String(e.rows);
          if (e.download) {
            const a = document.createElement("a");
            a.href = e.download;
            a.textContent = "⬇";
            row.querySelector(".export-download").replaceChildren(a);
          }
        }
        if (!e.finished) still.push(url);
      } catch (err) { still.push(url); }
    }
    urls = still;
    if (urls.length) setTimeout(poll, 1500);
  }
  if (urls.length) setTimeout(poll, 500);
})();
