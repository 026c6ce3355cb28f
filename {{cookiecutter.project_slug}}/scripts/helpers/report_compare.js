// Two runs side by side: the config keys that differ, the code that differs, and their out-of-fold correlation.
// Loaded before report.js, which calls showComparison when two runs are ticked.
"use strict";

// ---------------------------------------------------------------- two runs

function configOf(run) {
  // A run keeps only the keys that differ from its experiment's base config; put the whole back together.
  const config = { ...(DATA.bases[run.exp] || {}), ...run.config };
  for (const key of run.unset) delete config[key];
  return config;
}

function showComparison(a, b) {
  const left = configOf(a), right = configOf(b);
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  const differing = keys.filter((key) => JSON.stringify(left[key]) !== JSON.stringify(right[key]));
  const shown = (config, key) => (key in config ? JSON.stringify(config[key]) : "(none)");
  const configRows = differing.map((key) => element("tr", {}, element("td", {}, key),
    element("td", {}, shown(left, key)), element("td", {}, shown(right, key))));
  const correlation = oofCorrelation(a, b);
  document.getElementById("compare-body").replaceChildren(
    element("h3", {}, `${a.id} against ${b.id}`),
    element("p", {}, `CV ${fmt(a.cv)} against ${fmt(b.cv)}; out-of-fold correlation: ${correlation}`),
    element("h4", {}, "Config: the keys whose values differ"),
    differing.length ? element("table", { class: "diff-table" },
      element("tr", {}, element("th", {}, "key"), element("th", {}, a.id), element("th", {}, b.id)), ...configRows)
      : element("p", {}, "The merged configs are the same."),
    element("h4", {}, "Code: the files of src/ that differ"),
    ...codeDiff(a, b),
  );
  document.getElementById("compare").scrollIntoView({ block: "start" });
}

function unpackOof(packed) {
  // Rows of prediction columns from report_data.pack_values: 16-bit steps between low and high, 65535 missing.
  const bytes = Uint8Array.from(atob(packed.data), (c) => c.charCodeAt(0));
  const steps = new Uint16Array(bytes.buffer);
  const step = (packed.high - packed.low) / 65534;
  const rows = [];
  for (let i = 0; i < steps.length; i += packed.columns)
    rows.push(Array.from(steps.slice(i, i + packed.columns), (q) => (q === 65535 ? NaN : packed.low + q * step)));
  return rows;
}

function oofCorrelation(a, b) {
  if (!a.oof_ids || !b.oof_ids || !a.oof_values || !b.oof_values) return "not available";
  if (a.oof_values.columns !== b.oof_values.columns) return "not comparable (different prediction columns)";
  const valuesA = unpackOof(a.oof_values), valuesB = unpackOof(b.oof_values);
  const position = new Map(DATA.oof_ids[b.oof_ids].map((id, i) => [id, i]));
  const x = [], y = [];
  DATA.oof_ids[a.oof_ids].forEach((id, i) => {
    const j = position.get(id);
    if (j === undefined) return;
    valuesA[i].forEach((value, c) => {
      if (Number.isFinite(value) && Number.isFinite(valuesB[j][c])) { x.push(value); y.push(valuesB[j][c]); }
    });
  });
  if (x.length < 2) return "no shared rows";
  const mean = (v) => v.reduce((s, t) => s + t, 0) / v.length;
  const mx = mean(x), my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  x.forEach((xi, i) => { sxy += (xi - mx) * (y[i] - my); sxx += (xi - mx) ** 2; syy += (y[i] - my) ** 2; });
  if (!sxx || !syy) return "undefined (constant predictions)";
  return `${(sxy / Math.sqrt(sxx * syy)).toFixed(4)} (Pearson, on ${x.length} predictions of the first ` +
    `${DATA.oof_ids[a.oof_ids].length} out-of-fold rows)`;
}

function codeDiff(a, b) {
  const codeA = DATA.code[a.code] || {}, codeB = DATA.code[b.code] || {};
  const files = [...new Set([...Object.keys(codeA), ...Object.keys(codeB)])].sort()
    .filter((name) => codeA[name] !== codeB[name]);
  if (!files.length) return [element("p", {}, "The code is the same.")];
  return files.map((name) => {
    const left = codeA[name] ? DATA.sources[codeA[name]].split("\n") : [];
    const right = codeB[name] ? DATA.sources[codeB[name]].split("\n") : [];
    const lines = diffLines(left, right).map(([mark, text]) =>
      element("span", { class: mark === "+" ? "added" : mark === "-" ? "removed" : "same" }, `${mark} ${text}\n`));
    // "-" lines are the first run's, "+" lines the second's, as diff a b prints them
    return element("details", { open: "" }, element("summary", {}, name), element("pre", { class: "code-diff" }, ...lines));
  });
}

function diffLines(left, right) {
  // The longest common subsequence of lines, shown with 2 lines of context around each change.
  if (left.length * right.length > 4e6) return [["!", "too long to compare here: scripts/diff_runs.py shows it"]];
  const n = left.length, m = right.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      table[i][j] = left[i] === right[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && left[i] === right[j]) { out.push([" ", left[i]]); i++; j++; }
    else if (j < m && (i === n || table[i][j + 1] >= table[i + 1][j])) { out.push(["+", right[j]]); j++; }
    else { out.push(["-", left[i]]); i++; }
  }
  const near = out.map((_, k) => out.slice(Math.max(0, k - 2), k + 3).some(([mark]) => mark !== " "));
  const shown = [];
  out.forEach((line, k) => {
    if (near[k]) shown.push(line);
    else if (near[k - 1]) shown.push(["⋯", ""]); // unchanged lines left out between two changes
  });
  return shown;
}
