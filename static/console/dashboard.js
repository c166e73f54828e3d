/* Campaign dashboard: draws the charts (vendored Chart.js) from the page's JSON and refreshes every 10 s.
 * Tables are rebuilt with textContent only (campaign and contributor names are user input). */
(function () {
  "use strict";
  const dataEl = document.getElementById("dashboard-data");
  if (!dataEl) return;
  const url = JSON.parse(document.getElementById("dashboard-url").textContent);
  const $ = (id) => document.getElementById(id);
  const charts = {};
  const hasChart = typeof window.Chart === "function";
  const lang = document.documentElement.lang || undefined;
  const regionLabels = JSON.parse((document.getElementById("dashboard-region-labels") || {}).textContent || "{}");
  // The JSON carries ISO times and decimal strings; people read local times and whole đồng, grouped.
  const money = (v) => (v === null || v === undefined ? "–" : Math.round(Number(v)).toLocaleString(lang));
  const when = (iso) => {
    if (!iso) return "–";
    const t = new Date(String(iso).replace(" ", "T").replace(/(\.\d{3})\d+/, "$1"));
    return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleString(lang, { dateStyle: "short", timeStyle: "short" });
  };
  const short = (iso) => (iso && iso.length > 10 ? iso.slice(5, 16).replace("T", " ") : iso);

  function chart(id, type, labels, datasets, options) {
    if (!hasChart) return;
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets.forEach((ds, i) => { ds.data = datasets[i].data; });
      charts[id].update("none");
      return;
    }
    charts[id] = new window.Chart($(id), {
      type, data: { labels, datasets },
      options: Object.assign({ responsive: true, animation: false, plugins: { legend: { display: datasets.length > 1 } } }, options || {}),
    });
  }

  function rows(tableId, list, cells) {
    const body = $(tableId) && $(tableId).querySelector("tbody");
    if (!body) return;
    body.replaceChildren();
    list.forEach((row) => {
      const tr = document.createElement("tr");
      cells(row).forEach((v) => {
        const td = document.createElement("td");
        td.textContent = v === null || v === undefined ? "–" : String(v);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function draw(d) {
    $("kpi-items").textContent = d.progress.items;
    $("kpi-answers").textContent = d.progress.annotations;
    $("kpi-target").textContent = d.progress.target_annotations;
    $("kpi-percent").textContent = d.progress.percent;
    $("kpi-alpha").textContent = d.agreement.alpha === null ? "–" : d.agreement.alpha;
    $("kpi-agreement").textContent = d.agreement.mean_pairwise === null ? "–" : d.agreement.mean_pairwise;
    $("kpi-spent").textContent = money(d.cost.spent);
    if ($("kpi-budget")) $("kpi-budget").textContent = money(d.cost.budget);
    $("dash-updated").textContent = when(d.generated_at);

    chart("chart-completion", "line", d.completion.map((r) => r.t), [{ label: "%", data: d.completion.map((r) => r.percent), fill: true }],
      { scales: { y: { min: 0, max: 100 } } });
    rows("table-completion", d.completion, (r) => [r.t, r.answers, r.percent]);

    chart("chart-throughput", "bar", d.throughput_per_hour.map((r) => short(r.t)), [{ label: "answers", data: d.throughput_per_hour.map((r) => r.n) }]);
    rows("table-throughput", d.throughput_per_hour, (r) => [r.t, r.n]);

    chart("chart-states", "bar", d.items_by_state.map((r) => r.label), [{ label: "items", data: d.items_by_state.map((r) => r.n) }],
      { indexAxis: "y" });
    rows("table-states", d.items_by_state, (r) => [r.label, r.n]);

    chart("chart-agreement", "line", d.agreement.trend.map((r) => r.t), [{ label: "agreement", data: d.agreement.trend.map((r) => r.agreement) }],
      { scales: { y: { min: 0, max: 1 } } });
    rows("table-agreement", d.agreement.trend, (r) => [r.t, r.agreement, r.n]);

    const at = d.agreement.alpha_trend || [];
    chart("chart-alpha", "line", at.map((r) => short(r.t)), [{ label: "alpha", data: at.map((r) => r.alpha) }],
      { scales: { y: { min: -1, max: 1 } } });
    rows("table-alpha", at, (r) => [r.t, r.alpha, r.n_answers]);
    rows("table-alpha-questions", Object.entries(d.agreement.alpha_per_question || {}), (r) => [r[0], r[1]]);
    $("alpha-fitted").textContent = when(d.agreement.fitted_at);

    const region = (r) => regionLabels[r.region] || r.region;
    chart("chart-regions", "bar", d.regions.map(region), [
      { label: "share %", data: d.regions.map((r) => r.share) },
      { label: "quota %", data: d.regions.map((r) => r.quota) },
    ]);
    rows("table-regions", d.regions, (r) => [region(r), r.count, r.share, r.quota]);

    const budget = d.cost.budget === null ? null : Number(d.cost.budget);
    chart("chart-cost", "bar", ["spent", "projected", "budget"], [{ label: "VND", data: [Number(d.cost.spent), Number(d.cost.projected), budget] }]);

    const contrib = (r) => [r.pseudonym, r.answers, `${r.gold_correct}/${r.gold}`, `${r.consensus_agreed}/${r.consensus_seen}`, r.accuracy];
    rows("table-top", d.contributors.top, contrib);
    rows("table-bottom", d.contributors.bottom, contrib);
  }

  async function refresh() {
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (res.ok) draw(await res.json());
    } catch (e) { /* keep the last figures */ }
    setTimeout(refresh, 10000);
  }

  draw(JSON.parse(dataEl.textContent));
  setTimeout(refresh, 10000);
})();
