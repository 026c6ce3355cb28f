// The report's behaviour: the runs table (sort, filter, best marks), a run's details, two runs compared, the studies.
// Data comes from the JSON block report.py wrote into this page; plots are drawn by Plotly (inlined above, compiled on first use).
"use strict";

const DATA = JSON.parse(document.getElementById("report-data").textContent);
const RUNS = DATA.runs;
const BY_ID = Object.fromEntries(RUNS.map((run) => [run.id, run]));
const COLUMNS = [
  ["pick", ""], ["exp", "exp"], ["run", "run"], ["status", "status"], ["metric", "metric"], ["cv", "CV"],
  ["cv_std", "± std"], ["public_lb", "public"], ["private_lb", "private"], ["changes", "changes"],
  ["model", "model"], ["kind", "kind"], ["seconds", "seconds"], ["finished", "finished"],
];
const PLOT = { displaylogo: false, responsive: true };
// plotly.js is a few MB: it is compiled only when the first chart is drawn, after the table is on screen.
function plotly() {
  if (!window.Plotly) {
    const script = document.createElement("script");
    script.textContent = document.getElementById("plotly-source").textContent;
    document.head.append(script);
  }
  return window.Plotly;
}
const state = { sortKey: "exp", ascending: true, filter: "", status: "", trials: false, picked: [] };

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);
const fmt = (value) => (isNumber(value) ? value.toFixed(5) : value === null || value === undefined ? "" : String(value));

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// ---------------------------------------------------------------- best per experiment

function markBest() {
  // The best finished run of each experiment in its metric's direction; trials compete only among trials.
  const best = {};
  for (const run of RUNS) {
    if (run.status !== "done" || !isNumber(run.cv)) continue;
    const key = `${run.exp} ${run.trial}`;
    const better = (a, b) => (run.direction === "minimize" ? a < b : a > b);
    if (!(key in best) || better(run.cv, best[key].cv)) best[key] = run;
  }
  for (const run of Object.values(best)) run.best = true;
}

function shortTime(text) {
  return (text || "").slice(0, 16).replace("T", " "); // 2026-12-05T01:01:56+00:00 -> 2026-12-05 01:01
}

function changesText(run) {
  if (run.status === "running") return ""; // its snippet is known once it is recorded
  const pairs = Object.entries(run.changes);
  return pairs.length ? pairs.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(", ") : "(base config)";
}

// ---------------------------------------------------------------- the runs table

function sortValue(run, key) {
  if (key === "changes") return changesText(run);
  if (key === "run") return run.run.replace(/\D/g, "").padStart(8, "0") + (run.trial ? "t" : "");
  return run[key];
}

function compare(a, b) {
  const x = sortValue(a, state.sortKey), y = sortValue(b, state.sortKey);
  const blank = (v) => v === "" || v === null || v === undefined;
  if (blank(x) !== blank(y)) return blank(x) ? 1 : -1; // blanks last in either direction
  const order = isNumber(x) && isNumber(y) ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
  return state.ascending ? order : -order;
}

function visibleRuns() {
  const words = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
  return RUNS.filter((run) => {
    if (run.trial && !state.trials) return false;
    if (state.status && run.status !== state.status) return false;
    const text = `${run.id} ${run.status} ${run.model} ${run.kind} ${run.metric} ${changesText(run)}`.toLowerCase();
    return words.every((word) => text.includes(word));
  }).sort(compare);
}

const FIRST_ROWS = 150; // rows laid out before the first paint; the rest follow in chunks, so 1,000 runs open at once
let renderGeneration = 0;

function renderTable() {
  const head = document.querySelector("#runs-table thead tr");
  head.replaceChildren(...COLUMNS.map(([key, title]) => {
    const arrow = key === state.sortKey ? (state.ascending ? " ▲" : " ▼") : "";
    return element("th", { "data-key": key, onclick: () => sortBy(key) }, title + arrow);
  }));
  const runs = visibleRuns();
  const body = document.querySelector("#runs-table tbody");
  const generation = ++renderGeneration;
  body.replaceChildren(...runs.slice(0, FIRST_ROWS).map(tableRow));
  const more = (start) => {
    if (generation !== renderGeneration || start >= runs.length) return; // a newer sort or filter took over
    body.append(...runs.slice(start, start + 200).map(tableRow));
    requestAnimationFrame(() => setTimeout(() => more(start + 200), 0));
  };
  requestAnimationFrame(() => setTimeout(() => more(FIRST_ROWS), 0)); // after the first rows are painted
  document.getElementById("runs-count").textContent = `${runs.length} of ${RUNS.length} runs shown`;
}

function tableRow(run) {
  const cells = COLUMNS.map(([key]) => {
    if (key === "pick") {
      const box = element("input", { type: "checkbox", title: "pick two runs to compare" });
      box.checked = state.picked.includes(run.id);
      box.addEventListener("click", (event) => { event.stopPropagation(); pick(run.id, box.checked); });
      return element("td", {}, box);
    }
    if (key === "run") return element("td", {}, run.run + (run.best ? " ★" : ""));
    if (key === "changes") return element("td", { class: "changes", title: changesText(run) }, changesText(run));
    if (key === "finished") return element("td", { title: run.finished }, shortTime(run.finished || run.started));
    return element("td", { class: isNumber(run[key]) ? "number" : "" }, key === "seconds" && isNumber(run[key])
      ? run[key].toFixed(1) : fmt(run[key]));
  });
  return element("tr", { class: `${run.status}${run.best ? " best" : ""}`, "data-id": run.id,
    onclick: () => showDetails(run.id) }, ...cells);
}

function sortBy(key) {
  if (key === "pick") return;
  state.ascending = state.sortKey === key ? !state.ascending : true;
  state.sortKey = key;
  renderTable();
}

function pick(id, on) {
  state.picked = state.picked.filter((other) => other !== id);
  if (on) state.picked.push(id);
  state.picked = state.picked.slice(-2); // the last two picked
  renderTable();
  if (state.picked.length === 2) showComparison(...state.picked.map((pid) => BY_ID[pid]));
}

// ---------------------------------------------------------------- CV against the public score

function drawCvVsLb() {
  const scored = RUNS.filter((run) => isNumber(run.cv) && isNumber(run.public_lb));
  const target = document.getElementById("cv-lb-plot");
  if (!scored.length) {
    target.replaceChildren(element("p", { class: "note" },
      "No run has both a CV and a public score yet: python scripts/kaggle_cli.py submissions saves them."));
    return;
  }
  const traces = [...new Set(scored.map((run) => run.exp))].map((exp) => {
    const runs = scored.filter((run) => run.exp === exp);
    return { type: "scatter", mode: "markers", name: exp, x: runs.map((r) => r.cv), y: runs.map((r) => r.public_lb),
      text: runs.map((r) => r.id), hovertemplate: "%{text}<br>CV %{x:.5f}<br>public %{y:.5f}<extra></extra>" };
  });
  plotly().newPlot(target, traces, { title: { text: "CV against the public score" }, xaxis: { title: { text: "CV" } },
    yaxis: { title: { text: "public LB" } }, height: 380, margin: { t: 40 } }, PLOT);
}

// ---------------------------------------------------------------- one run

function showDetails(id) {
  const run = BY_ID[id];
  const box = document.getElementById("details-body");
  const facts = [["status", run.status], ["metric", run.metric], ["CV", `${fmt(run.cv)} ± ${fmt(run.cv_std)}`],
    ["out-of-fold", fmt(run.oof)], ["public / private", `${fmt(run.public_lb)} / ${fmt(run.private_lb)}`],
    ["model", run.model], ["kind", run.kind], ["seconds", fmt(run.seconds)], ["commit", run.commit],
    ["finished", run.finished], ["error", run.error]].filter(([, value]) => value !== "" && value !== " / ");
  box.replaceChildren(
    element("h3", {}, run.id + (run.best ? " ★ best of its experiment" : "")),
    element("p", {}, element("a", { href: run.link + "/" }, "open the run's folder")),
    element("dl", {}, ...facts.flatMap(([key, value]) => [element("dt", {}, key), element("dd", {}, value)])),
    element("h4", {}, "Its snippet: the keys it changes over config.yml"),
    element("pre", { class: "snippet" }, Object.keys(run.changes).length
      ? Object.entries(run.changes).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n") : "(base config)"),
    element("div", { id: "fold-plot", class: "plot" }),
    element("div", { id: "curve-plot", class: "plot" }),
    element("div", { id: "importance-plot", class: "plot" }),
    element("div", { class: "pictures" }, ...run.pictures.map((name) =>
      element("figure", {}, element("img", { src: `${run.link}/${name}`, alt: name, loading: "lazy" }),
        element("figcaption", {}, name)))),
  );
  drawFolds(run);
  drawCurves(run);
  drawImportance(run);
  document.getElementById("details").scrollIntoView({ block: "start" });
}

function drawFolds(run) {
  if (!run.folds.length) return;
  plotly().newPlot("fold-plot", [{ type: "bar", x: run.folds.map((_, k) => `fold ${k + 1}`), y: run.folds }],
    { title: { text: `${run.metric} per fold` }, height: 280, margin: { t: 40 }, yaxis: { title: { text: run.metric } } }, PLOT);
}

function drawCurves(run) {
  const folds = Object.entries(run.history);
  if (!folds.length) return;
  const traces = folds.flatMap(([fold, curve]) => [
    { x: curve.epoch, y: curve.valid_loss, name: `fold ${Number(fold) + 1} valid loss`, legendgroup: fold },
    { x: curve.epoch, y: curve.train_loss, name: `fold ${Number(fold) + 1} train loss`, legendgroup: fold,
      line: { dash: "dot" } },
    { x: curve.epoch, y: curve[run.metric], name: `fold ${Number(fold) + 1} ${run.metric}`, legendgroup: fold,
      yaxis: "y2" },
  ]).filter((trace) => trace.y);
  plotly().newPlot("curve-plot", traces, { title: { text: "Learning curves of every fold" }, height: 380, margin: { t: 40 },
    xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "loss" } },
    yaxis2: { title: { text: run.metric }, overlaying: "y", side: "right" } }, PLOT);
}

function drawImportance(run) {
  if (!run.importance.length) return;
  const rows = [...run.importance].reverse();
  plotly().newPlot("importance-plot", [{ type: "bar", orientation: "h", x: rows.map((r) => r[1]), y: rows.map((r) => r[0]) }],
    { title: { text: "Feature importance (mean over folds)" }, height: 120 + 18 * rows.length, margin: { t: 40, l: 160 } }, PLOT);
}

// ---------------------------------------------------------------- tuning studies

function drawStudies() {
  const box = document.getElementById("studies-body");
  if (!DATA.studies.length) {
    box.replaceChildren(element("p", { class: "note" }, "No tuning study yet: exp.py --tune N writes its trials."));
    return;
  }
  for (const study of DATA.studies) {
    const done = study.trials.filter((trial) => isNumber(trial.cv));
    const better = (x, y) => (study.direction === "minimize" ? Math.min(x, y) : Math.max(x, y));
    let best = null;
    const bestSoFar = done.map((trial) => (best = best === null ? trial.cv : better(best, trial.cv)));
    const over = element("div", { class: "plot" });
    box.append(element("h3", {}, `${study.exp}: ${study.trials.length} trials`), over);
    plotly().newPlot(over, [
      { mode: "markers", name: "trial", x: done.map((t) => t.number), y: done.map((t) => t.cv), text: done.map((t) => t.id) },
      { mode: "lines", name: "best so far", x: done.map((t) => t.number), y: bestSoFar },
    ], { title: { text: `${study.metric} of each trial, in order` }, height: 320, margin: { t: 40 },
      xaxis: { title: { text: "trial" } }, yaxis: { title: { text: study.metric } } }, PLOT);
    const params = [...new Set(done.flatMap((trial) => Object.keys(trial.params)))].sort();
    for (const param of params) {
      const plot = element("div", { class: "plot half" });
      box.append(plot);
      plotly().newPlot(plot, [{ mode: "markers", x: done.map((t) => t.params[param]), y: done.map((t) => t.cv),
        text: done.map((t) => t.id) }], { title: { text: param }, height: 280, margin: { t: 40 },
        xaxis: { title: { text: param } }, yaxis: { title: { text: study.metric } } }, PLOT);
    }
  }
}

// ---------------------------------------------------------------- start

markBest();
document.getElementById("filter").addEventListener("input", (event) => { state.filter = event.target.value; renderTable(); });
document.getElementById("status-filter").addEventListener("change", (event) => { state.status = event.target.value; renderTable(); });
document.getElementById("show-trials").addEventListener("change", (event) => { state.trials = event.target.checked; renderTable(); });
renderTable();
setTimeout(() => { drawCvVsLb(); drawStudies(); }, 0); // the table first
