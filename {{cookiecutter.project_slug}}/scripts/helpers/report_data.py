"""Read every run record into the plain data report.py puts into its page: runs, curves, code, oof samples, studies.

Only records are read (status.json, metrics.json, config_update.yml, config.yml, history.csv, importance.csv,
oof.csv, src/), never the experiments' code, so a report of a thousand runs is built in seconds. What many
runs share is stored once: the code files of src/ by their content, the out-of-fold ids by their list.
"""
import array
import base64
import csv
import hashlib
import math
import os
import sys
from datetime import datetime, timezone

from .leaderboard_records import (flatten, join_lb, read_json, read_runs, read_submissions, read_yaml,
                                  score_or_blank)
from .project import EXP_ROOT, RECORDS_ROOT, ROOT

PICTURES = ("curves.png", "confusion_matrix.png", "oof_vs_target.png", "calibration.png", "importance.png")
OOF_ROWS = 1000          # out-of-fold rows kept per run for the correlation of two runs
IMPORTANCE_ROWS = 30     # features shown per run
SOURCE_BYTES = 200_000   # a src/ file larger than this is not kept for the code diff (data, not code)


def gather(report_dir, trials=True):
    """Give the page's data: runs, and what they share stored once.

    {"runs": [...], "bases": {exp: flat config}, "code": {digest: {file: digest}}, "sources": {digest: text},
    "oof_ids": {digest: [ids]}, "studies": [...]}. A run's `config` holds only the keys whose values differ
    from its experiment's base (`unset` lists the base keys it lacks), and `code` names its set of src/ files.
    """
    rows = read_runs(trials=trials)
    join_lb(rows, read_submissions())
    shared = {"bases": {}, "code": {}, "sources": {}, "oof_ids": {}}
    runs = [read_details(row, report_dir, shared) for row in rows] + running_runs(rows, report_dir)
    return {"runs": runs, **shared, "studies": studies_of(runs)}


def config_delta(config, base):
    """Give ({key: value} of a flat config that differ from its experiment's base, [base keys it lacks])."""
    changed = {key: value for key, value in config.items() if key not in base or base[key] != value}
    return changed, [key for key in base if key not in config]


def read_details(row, report_dir, shared):
    """Give one run of the page: its board row plus what its record holds for the details and the comparisons."""
    folder = ROOT / row["path"]
    metrics = read_json(folder / "metrics.json")
    status = read_json(folder / "status.json")
    config = read_yaml(folder / "config.yml")
    run = {key: row[key] for key in ("exp", "run", "status", "metric", "direction", "cv", "cv_std", "oof",
                                     "public_lb", "private_lb", "model", "commit", "started", "finished", "error")}
    run.update(
        id=f"{row['exp']}/{row['run']}", trial=row["run"].startswith("tune/"),
        direction=run["direction"] or ("maximize" if metrics.get("higher_is_better", True) else "minimize"),
        seconds=status.get("seconds", metrics.get("total_seconds", "")),
        kind="image" if isinstance(config.get("image"), dict) else "tabular",
        folds=metrics.get("folds") or [],
        changes=flatten(read_yaml(folder / "config_update.yml")),
        link=os.path.relpath(folder, report_dir).replace(os.sep, "/"),
        pictures=[name for name in PICTURES if (folder / name).is_file()],
        history=read_history(folder / "history.csv", run["metric"]),
        importance=read_importance(folder / "importance.csv"),
        code=read_sources(folder / "src", shared),
    )
    flat = flatten(config)
    run["config"], run["unset"] = config_delta(flat, shared["bases"].setdefault(row["exp"], flat))
    run["oof_ids"], run["oof_values"] = read_oof_sample(folder / "oof.csv", shared["oof_ids"])
    return run


def running_runs(rows, report_dir):
    """Give a row for each run a process has claimed and not yet recorded (its .runNNN.claim/ folder)."""
    recorded = {(row["exp"], row["run"]) for row in rows}
    running = []
    for claim in sorted(RECORDS_ROOT.glob("exp*/.run*.claim")) if RECORDS_ROOT.is_dir() else ():
        exp, run = claim.parent.name, claim.name[1:-len(".claim")]
        if (exp, run) in recorded:
            continue
        config = flatten(read_yaml(EXP_ROOT / exp / "config.yml"))
        started = datetime.fromtimestamp(claim.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
        running.append({
            "id": f"{exp}/{run}", "exp": exp, "run": run, "trial": False, "status": "running", "metric":
            config.get("metric", ""), "direction": "", "cv": "", "cv_std": "", "oof": "", "public_lb": "",
            "private_lb": "", "model": config.get("model.name", ""), "commit": "", "started": started, "finished": "",
            "error": "", "seconds": "", "kind": "image" if "image.size" in config else "tabular", "folds": [],
            "changes": {}, "config": {}, "unset": [],
            "link": os.path.relpath(claim.parent, report_dir).replace(os.sep, "/"),
            "pictures": [], "history": {}, "importance": [], "code": None, "oof_ids": None, "oof_values": None})
    return running


def read_csv_rows(path, limit=None):
    """Give the header and up to `limit` rows of a CSV record file, or ([], []) when it is missing or unreadable."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            rows = []
            for row in reader:
                if limit is not None and len(rows) >= limit:
                    break
                rows.append(row)
            return header, rows
    except (OSError, UnicodeDecodeError, csv.Error):
        return [], []


def read_history(path, metric):
    """Give {fold: {"epoch": [...], "train_loss": [...], "valid_loss": [...], metric: [...]}} of an image run."""
    header, rows = read_csv_rows(path)
    if "fold" not in header or "epoch" not in header:
        return {}
    wanted = [name for name in ("epoch", "train_loss", "valid_loss", metric, "lr") if name in header]
    curves = {}
    for row in rows:
        fold = curves.setdefault(row[header.index("fold")], {name: [] for name in wanted})
        for name in wanted:
            fold[name].append(score_or_blank(row[header.index(name)]))
    return curves


def read_importance(path):
    """Give [[feature, importance], ...] of a tabular run, largest first, at most IMPORTANCE_ROWS."""
    header, rows = read_csv_rows(path)
    if len(header) < 2:
        return []
    pairs = [[row[0], score_or_blank(row[1])] for row in rows if len(row) >= 2]
    pairs = [pair for pair in pairs if pair[1] != ""]
    return sorted(pairs, key=lambda pair: -abs(pair[1]))[:IMPORTANCE_ROWS]


def read_sources(src, shared):
    """Give the digest of a record's code copy, {relative file: digest} kept once in shared["code"].

    Each distinct file text is kept once in shared["sources"]; runs of one experiment share most of them.
    """
    files = {}
    for folder, _, names in os.walk(src):
        prefix = os.path.relpath(folder, src).replace(os.sep, "/")
        for name in names:
            path = os.path.join(folder, name)
            if os.path.getsize(path) > SOURCE_BYTES:
                continue
            with open(path, "rb") as f:
                content = f.read()
            digest = hashlib.sha1(content).hexdigest()[:16]
            if digest not in shared["sources"]:
                shared["sources"][digest] = content.decode("utf-8", errors="replace")
            files[name if prefix == "." else f"{prefix}/{name}"] = digest
    if not files:
        return None
    files = dict(sorted(files.items()))
    code = hashlib.sha1(repr(files).encode()).hexdigest()[:16]
    shared["code"].setdefault(code, files)
    return code


def read_oof_sample(path, oof_ids):
    """Give (digest of the ids, packed values): the first OOF_ROWS out-of-fold rows, every prediction column.

    Runs of one experiment list the same ids, so the list is stored once under its digest. The values (one
    column for binary and regression, one per class otherwise) are packed by pack_values: a thousand runs'
    samples would otherwise be most of the page.
    """
    header, rows = read_csv_rows(path, OOF_ROWS)
    columns = [i for i, name in enumerate(header) if name == "pred" or name.startswith("pred_")]
    if not columns or not rows:
        return None, None
    ids = [row[0] for row in rows]
    digest = hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]
    oof_ids.setdefault(digest, ids)
    return digest, pack_values([score_or_blank(row[i]) if i < len(row) else "" for row in rows for i in columns],
                               len(columns))


def pack_values(values, columns):
    """Give {"columns", "low", "high", "data"}: the values as 16-bit steps between their lowest and highest, base64.

    A step is (high - low) / 65534, far finer than a correlation needs; 65535 marks a missing value. report.js
    unpacks them (unpackOof).
    """
    finite = [v for v in values if v != "" and math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    scale = 65534 / (high - low) if high > low else 0.0
    steps = [65535 if v == "" or not math.isfinite(v) else round((v - low) * scale) for v in values]
    data = base64.b64encode(array.array("H", steps).tobytes() if sys.byteorder == "little"
                            else swapped(array.array("H", steps))).decode("ascii")
    return {"columns": columns, "low": low, "high": high, "data": data}


def swapped(steps):
    steps.byteswap()  # report.js reads little-endian, as every browser's machine is
    return steps.tobytes()


def studies_of(runs):
    """Give one study per experiment that has --tune trials: each trial's number, score, state and sampled values."""
    studies = {}
    for run in runs:
        if run["trial"]:
            trial = {"id": run["id"], "number": int(run["run"].rsplit("trial", 1)[1]), "cv": run["cv"],
                     "status": run["status"], "finished": run["finished"], "params": run["changes"]}
            studies.setdefault(run["exp"], {"exp": run["exp"], "metric": run["metric"], "direction": run["direction"],
                                            "trials": []})["trials"].append(trial)
    for study in studies.values():
        study["trials"].sort(key=lambda trial: trial["number"])
    return list(studies.values())


def project_title():
    """Give (project name, competition) from project.yml, for the page's heading."""
    project = read_yaml(ROOT / "project.yml")
    return str(project.get("project_name") or ROOT.name), str(project.get("competition") or "")
