/* Import job page: polls the job's JSON status and fills the progress bar and the error table. */
(function () {
  "use strict";
  const urlEl = document.getElementById("import-status-url");
  const box = document.getElementById("import-job");
  if (!urlEl || !box) return;
  const url = JSON.parse(urlEl.textContent);
  const $ = (id) => document.getElementById(id);

  function fill(s) {
    $("import-progress").value = s.percent;
    $("import-percent").textContent = String(s.percent);
    $("import-status").textContent = s.status_label;
    $("import-status").dataset.status = s.status;
    $("import-lines").textContent = String(s.lines_read);
    $("import-imported").textContent = String(s.imported);
    $("import-errors-count").textContent = String(s.error_count);
    $("import-message").textContent = s.message || "";
    const table = $("import-errors");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    (s.errors || []).forEach((e) => {
      const tr = document.createElement("tr");
      [e.line, e.field, e.message].forEach((v) => {
        const td = document.createElement("td");
        td.textContent = v === undefined || v === null ? "" : String(v);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.hidden = !(s.errors && s.errors.length);
  }

  async function poll() {
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (res.ok) {
        const s = await res.json();
        fill(s);
        if (s.finished) { box.dataset.finished = "1"; return; }
      }
    } catch (e) { /* network hiccup: try again */ }
    setTimeout(poll, 1000);
  }
  if (box.dataset.finished !== "1") poll();
})();
