"""Two run records side by side: the config keys that differ, the code's diff, scores per fold, and how alike
their out-of-fold predictions are. scripts/diff_runs.py prints them."""
import difflib
import json
import re

import yaml

from .project import RECORDS_ROOT, UserError, rel

MISSING = "(absent)"


def find_record(text):
    """Give the record folder of 'exp001/run002' (also exp1/2, or a path to a record folder)."""
    match = re.fullmatch(r"(?:exp)?(\d+)/(?:run)?(\d+)/?", text.strip())
    if match:
        folder = RECORDS_ROOT / f"exp{int(match.group(1)):03d}" / f"run{int(match.group(2)):03d}"
    else:
        from pathlib import Path
        folder = Path(text).resolve()
    if not (folder / "config.yml").is_file():
        raise UserError(f"{text}: no run record at {rel(folder)} (no config.yml). "
                        "Fix: name a finished run like exp001/run002 (python scripts/leaderboard.py lists them).")
    return folder


def flatten(tree, prefix=""):
    """Give {'model.params.max_depth': 5} for a nested dict."""
    flat = {}
    for key, value in (tree or {}).items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_changes(a, b):
    """Give [(key, value in a, value in b)] for every key of the merged configs that differs, in key order."""
    flat_a, flat_b = (flatten(yaml.safe_load((f / "config.yml").read_text(encoding="utf-8"))) for f in (a, b))
    keys = sorted(set(flat_a) | set(flat_b))
    return [(k, flat_a.get(k, MISSING), flat_b.get(k, MISSING)) for k in keys
            if flat_a.get(k, MISSING) != flat_b.get(k, MISSING)]


def source_files(folder):
    """Give {path inside src/: file} of a record's code, subfolders included."""
    src = folder / "src"
    if not src.is_dir():
        return {}
    return {p.relative_to(src).as_posix(): p for p in sorted(src.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def code_diff(a, b, name_a, name_b):
    """Give the unified diff of the two records' src/ folders, file by file (empty when the code is the same)."""
    files_a, files_b = source_files(a), source_files(b)
    lines = []
    for path in sorted(set(files_a) | set(files_b)):
        text_a, text_b = (read_text(files.get(path)) for files in (files_a, files_b))
        if text_a == text_b:
            continue
        if text_a is None or text_b is None:  # only in one record
            lines.append(f"only in {name_a if text_b is None else name_b}: src/{path}\n")
            continue
        lines.extend(difflib.unified_diff(text_a.splitlines(keepends=True), text_b.splitlines(keepends=True),
                                          f"{name_a}/src/{path}", f"{name_b}/src/{path}"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def read_text(path):
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return f"(binary file, {path.stat().st_size} bytes)\n"


def read_metrics(folder):
    path = folder / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def score_lines(a, b, name_a, name_b):
    """Give the lines of scores per fold side by side, then CV and the score on all out-of-fold predictions."""
    ma, mb = read_metrics(a), read_metrics(b)
    if not ma or not mb:
        return [f"(no metrics.json in {name_a if not ma else name_b}: the run did not finish)"]
    metric = ma.get("metric") if ma.get("metric") == mb.get("metric") else f"{ma.get('metric')} / {mb.get('metric')}"
    width = max(len(name_a), len(name_b), 10)
    lines = [f"{metric:<8}  {name_a:>{width}}  {name_b:>{width}}  {'b - a':>10}"]
    folds_a, folds_b = ma.get("folds") or [], mb.get("folds") or []
    rows = [(f"fold {k + 1}", folds_a[k] if k < len(folds_a) else None, folds_b[k] if k < len(folds_b) else None)
            for k in range(max(len(folds_a), len(folds_b)))]
    rows += [("cv", ma.get("cv"), mb.get("cv")), ("oof", ma.get("oof"), mb.get("oof"))]
    for label, x, y in rows:
        diff = f"{y - x:+10.5f}" if isinstance(x, (int, float)) and isinstance(y, (int, float)) else ""
        lines.append(f"{label:<8}  {shown(x):>{width}}  {shown(y):>{width}}  {diff:>10}".rstrip())
    return lines


def shown(value):
    return f"{value:.5f}" if isinstance(value, (int, float)) else "-"


def oof_correlation(a, b):
    """Give (Pearson correlation of the two runs' out-of-fold predictions on their shared ids, rows compared), or None.
    """
    import numpy as np
    import pandas as pd

    if not (a / "oof.csv").is_file() or not (b / "oof.csv").is_file():
        return None
    oof_a, oof_b = (pd.read_csv(f / "oof.csv") for f in (a, b))
    id_name = oof_a.columns[0]
    if id_name != oof_b.columns[0]:
        return None
    predictions = [c for c in oof_a.columns if (c == "pred" or c.startswith("pred_")) and c in oof_b.columns]
    if not predictions:
        return None
    merged = oof_a[[id_name, *predictions]].astype({id_name: str}).merge(
        oof_b[[id_name, *predictions]].astype({id_name: str}), on=id_name, suffixes=("_a", "_b"))
    x = merged[[f"{c}_a" for c in predictions]].to_numpy(dtype=float).ravel()
    y = merged[[f"{c}_b" for c in predictions]].to_numpy(dtype=float).ravel()
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1]), len(merged)
