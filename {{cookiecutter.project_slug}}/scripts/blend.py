"""Blend finished runs through their out-of-fold predictions, and write the blend's submission.

    python scripts/blend.py exp001/run002 exp003/run001                  equal weights
    python scripts/blend.py exp001/run002 exp003/run001 --weights 0.7,0.3
    python scripts/blend.py exp001/run002 exp003/run001 exp004/run002 --optimize
    python scripts/blend.py exp001/run002 exp003/run001 --dry-run        print the scores, write nothing

Runs must share folds (same CV settings and train rows), task, metric, target and prediction columns.
The blend is scored by the first run's own metric code (its src/), exactly as the runs were. --optimize
finds non-negative weights summing to 1 that do best out of fold, never worse than the best single run.
Written to data/output/blend/<name>/ (default blend001, blend002, ...; never overwritten): blend.json,
oof.csv, test_pred.csv and submission.csv, checked against the sample submission.
To predict another test file with a blend (a hidden test set):
    python scripts/predict_blend.py blend001 --test PATH --out PATH
"""
import argparse
import errno
import itertools
import json
import os
import re
import shutil
import sys
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import yaml

from helpers.atomic_files import temporary_name
from helpers.blending import blend, fill_submission, predictions
from helpers.project import BLEND_ROOT, RECORDS_ROOT, UserError, data_dir, parse_run_ref, read_table, rel


# ---------------------------------------------------------------- reading and checking the runs

def read_run(text):
    """Give a complete run's name, folder, merged config, oof and test predictions (ids as text)."""
    parsed = parse_run_ref(text)
    if not parsed:
        raise UserError(f"{text}: cannot read it as expNNN/runNNN, e.g. exp001/run002 (a --tune trial: "
                        "exp001/tune/trial0003).")
    exp, run = parsed
    folder = RECORDS_ROOT / exp / run
    try:
        status = folder / "status.json"
        done = status.is_file() and json.loads(status.read_text("utf-8")).get("status") == "done"
    except (ValueError, AttributeError) as e:  # hand-edited or cut short
        raise UserError(f"{rel(folder / 'status.json')} cannot be read ({e}), so {exp}/{run} cannot be blended. "
                        f"Fix: restore it, or redo the run: python exp/{exp}/exp.py --run {run} --force") from None
    needed = ("config.yml", "oof.csv", "test_pred.csv", "submission.csv", "src/train.py")
    if not done or not all((folder / n).is_file() for n in needed):
        raise UserError(f"{exp}/{run} has no complete record in {rel(RECORDS_ROOT / exp)}/ (failed, interrupted, not "
                        "run, or missing files). Only finished runs can be blended. "
                        f"Fix: python exp/{exp}/exp.py --run {run}")
    cfg = yaml.safe_load((folder / "config.yml").read_text(encoding="utf-8"))
    # Ids as text: 001 and 1 are different ids to Kaggle.
    oof, test = (pd.read_csv(folder / n, dtype={cfg["data"]["id"]: str}) for n in ("oof.csv", "test_pred.csv"))
    columns = list(test.columns[1:])  # pred, or pred_<class> in the order of the class codes
    return {"name": f"{exp}/{run}", "folder": folder, "cfg": cfg, "oof": oof, "test": test, "columns": columns}


def settings(cfg):
    """Give what runs must share to be blended: task, metric, target and id column."""
    return {"task": cfg["task"], "metric": cfg["metric"], "data.target": cfg["data"]["target"],
            "data.id": cfg["data"]["id"]}


def check_compatible(runs):
    """Raise UserError unless every run predicts the same thing on the same folds as the first one."""
    first = runs[0]
    id_col, target = first["cfg"]["data"]["id"], first["cfg"]["data"]["target"]
    for run in runs[1:]:
        where = f"{run['name']} cannot be blended with {first['name']}"
        ours, theirs = settings(run["cfg"]), settings(first["cfg"])
        differ = [key for key in ours if ours[key] != theirs[key]]
        if differ:
            raise UserError(f"{where}: {differ[0]} is {ours[differ[0]]!r}, not {theirs[differ[0]]!r}. "
                            "Blend only runs of one competition setup.")
        if run["columns"] != first["columns"]:
            raise UserError(f"{where}: it predicts columns {', '.join(run['columns'])}, not "
                            f"{', '.join(first['columns'])}.")
        if not all(run["oof"][c].equals(first["oof"][c]) for c in (id_col, "fold")):
            raise UserError(f"{where}: the fold assignment differs (the {id_col} or fold column of oof.csv), so their "
                            "out-of-fold predictions do not line up. Fix: blend runs with the same cv settings "
                            "(cv.scheme, n_splits, seed, group) and the same train file.")
        if not (run["oof"][target].equals(first["oof"][target]) and run["test"][id_col].equals(first["test"][id_col])):
            raise UserError(f"{where}: the target of oof.csv or the ids of test_pred.csv differ, so it was trained "
                            "on other files. Blend only runs trained on the same train and test files.")


# ---------------------------------------------------------------- weights

def optimize_weights(score_of, n, higher):
    """Give non-negative weights summing to 1 that score best, found by moving weight between pairs of runs.

    A grid search, not a gradient method: label metrics such as accuracy are step functions with no slope.
    It starts from the best of equal weights and each run alone, and keeps only strict gains.
    """
    better = (lambda a, b: a > b + 1e-12) if higher else (lambda a, b: a < b - 1e-12)
    best_w, best = None, None
    for w in [np.full(n, 1 / n), *np.eye(n)]:
        s = score_of(w)
        if best is None or better(s, best):
            best_w, best = w, s
    for step in (0.2, 0.1, 0.05, 0.02, 0.01):
        improved = True
        while improved:
            improved = False
            for i, j in itertools.permutations(range(n), 2):
                w = best_w.copy()
                move = min(step, w[j])
                w[i], w[j] = w[i] + move, w[j] - move
                if move > 1e-12 and better(s := score_of(w), best):
                    best_w, best, improved = w, s, True
        print(f"  step {step:g}: best out-of-fold score {best:.6g}", flush=True)
    return best_w


def parse_weights(text):
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"cannot read {text!r}; write numbers like 0.7,0.3") from None
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: weights must be non-negative, and not all zero")
    return weights


# ---------------------------------------------------------------- writing the blend

def make_submission(first, test_pred, classes, metric):
    """Give the submission laid out like the first run's own submission.csv, checked against the sample."""
    data, folder = first["cfg"]["data"], first["folder"]
    id_col = data["id"]
    sub = pd.read_csv(folder / "submission.csv", dtype={id_col: str})
    order = pd.Index(first["test"][id_col]).get_indexer(sub[id_col])  # the submission is in the sample's order
    sub = fill_submission(sub, test_pred[order], first["cfg"], classes, metric.needs_labels)
    check_submission(sub, order, data_dir(data) / data["sample_submission"], id_col, first["name"])
    return sub


def check_submission(sub, order, sample_path, id_col, first_name):
    """Raise UserError unless `sub` has the sample's ids in the same order, its columns, and no missing values."""
    if not sample_path.is_file():
        raise UserError(f"{rel(sample_path)}: not found, so the blend's submission cannot be checked. "
                        "Fix: python scripts/kaggle_cli.py download, or correct data.sample_submission.")
    sample = read_table(sample_path, id_col)
    problems = [what for bad, what in [
        (list(sub.columns) != list(sample.columns), f"columns {list(sub.columns)} instead of {list(sample.columns)}"),
        ((order < 0).any() or not sub[id_col].equals(sample[id_col].astype(str)), f"other {id_col} values or order"),
        (sub.isna().any().any(), "missing values")] if bad]
    if problems:  # the first run's submission.csv or test_pred.csv no longer fits the competition's files
        raise UserError(f"the blend's submission does not match {rel(sample_path)}: {'; '.join(problems)}. "
                        f"Fix: train {first_name} again with the competition's files, or put them back.")


def write_blend(folder, runs, oof_pred, test_pred, submission, summary, numbered):
    """Write blend.json, oof.csv, test_pred.csv and submission.csv; give the folder, which appears only when whole.

    The files go to a hidden folder of this process's own, renamed into place at the end. The rename
    fails when the name is taken, so two blends at once never share a folder: a numbered blend then
    takes the next number, a named one is an error.
    """
    BLEND_ROOT.mkdir(parents=True, exist_ok=True)
    partial = temporary_name(folder)
    partial.mkdir()
    try:
        columns = runs[0]["columns"]
        for name, frame, pred in (("oof.csv", runs[0]["oof"], oof_pred), ("test_pred.csv", runs[0]["test"], test_pred)):
            frame = frame.drop(columns=columns)  # keeps id (and fold and target) of the first run
            frame[columns] = pred.reshape(len(frame), -1)
            frame.to_csv(partial / name, index=False)
        submission.to_csv(partial / "submission.csv", index=False)
        summary["created"] = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
        (partial / "blend.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        while True:
            try:
                os.rename(partial, folder)  # refused when `folder` exists and holds files
                return folder
            except OSError as e:
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not numbered:
                    raise UserError(f"{rel(folder)}/ already exists and is never overwritten. "
                                    "Fix: pass another --name, or leave it out for the next free blendNNN.") from None
                folder = choose_folder(None)  # another blend took this number a moment ago
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def choose_folder(name):
    """Give the blend's folder: --name, else the next free blendNNN; an existing one is an error."""
    if name is None:
        numbers = [int(p.name[5:]) for p in BLEND_ROOT.glob("blend*") if re.fullmatch(r"blend\d+", p.name)]
        return BLEND_ROOT / f"blend{max(numbers, default=0) + 1:03d}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise UserError(f"--name {name!r}: use letters, digits, '_', '.' and '-' only.")
    if (BLEND_ROOT / name).exists():
        raise UserError(f"{rel(BLEND_ROOT / name)}/ already exists and is never overwritten. "
                        "Fix: pass another --name, or leave it out for the next free blendNNN.")
    return BLEND_ROOT / name


# ---------------------------------------------------------------- main

def encode_target(first):
    """Give (classes, y): the class labels by code ([] for regression) and the target as the metrics take it."""
    cfg, columns = first["cfg"], first["columns"]
    if cfg["task"] == "multilabel":  # the image lab's: one 0/1 column per label, scored as a matrix
        return list(cfg["data"]["target"]), first["oof"][cfg["data"]["target"]].to_numpy(dtype=int)
    target = first["oof"][cfg["data"]["target"]]
    if cfg["task"] == "regression":
        return [], target.to_numpy(dtype=float)
    # The codes the runs used: the order of the pred_<class> columns, or np.unique's order for binary.
    classes = [c[len("pred_"):] for c in columns] if len(columns) > 1 else list(np.unique(target.to_numpy()))
    return classes, pd.Index([str(c) for c in classes]).get_indexer(target.astype(str))


def run_blend(args):
    n = len(args.runs)
    if args.weights and len(args.weights) != n:
        raise UserError(f"--weights has {len(args.weights)} numbers for {n} runs; give one per run, in order.")
    folder = None if args.dry_run else choose_folder(args.name)  # a name clash fails before any work
    runs = [read_run(text) for text in args.runs]
    if n < 2 or len({r["name"] for r in runs}) < n:
        raise UserError(f"give two or more different runs to blend (got {' '.join(r['name'] for r in runs)}).")
    check_compatible(runs)
    cfg, columns = runs[0]["cfg"], runs[0]["columns"]
    sys.path.insert(0, str(runs[0]["folder"] / "src"))  # the run's own train.py, with its data, model and util
    import train
    metric, higher = train.METRICS[cfg["metric"]], train.METRICS[cfg["metric"]].higher_is_better
    classes, y = encode_target(runs[0])
    oofs, tests = ([predictions(r[part], columns) for r in runs] for part in ("oof", "test"))

    def score_of(weights):
        return metric.score(y, blend(oofs, weights))

    if args.optimize:
        print(f"optimizing the weights of {n} runs out of fold (moving weight between pairs, steps 0.2 to 0.01) ...",
              flush=True)
    weights = optimize_weights(score_of, n, higher) if args.optimize else np.array(args.weights or [1.0] * n)
    weights = weights / weights.sum()
    singles, blended = [score_of(w) for w in np.eye(n)], score_of(weights)
    best = max(singles) if higher else min(singles)
    verdict = "ties" if blended == best else "beats" if (blended > best) == higher else "is worse than"
    print(f"{cfg['metric']} ({'higher' if higher else 'lower'} is better), out of fold on {len(y)} rows:")
    for r, s, w in zip(runs, singles, weights):
        print(f"  {r['name']:<16} {s:.5f}  weight {w:.3f}")
    print(f"  {'blend':<16} {blended:.5f}  ({verdict} the best single run, {best:.5f})")
    if folder is None:
        print("dry run: nothing written.")
        return 0
    test_pred = blend(tests, weights)
    submission = make_submission(runs[0], test_pred, classes, metric)
    summary = {"runs": [r["name"] for r in runs], "weights": [round(float(w), 6) for w in weights],
               "optimized": args.optimize, "metric": cfg["metric"], "direction": "maximize" if higher else "minimize",
               "run_oof": {r["name"]: s for r, s in zip(runs, singles)}, "oof": blended,
               "beats_best_run": verdict == "beats"}
    folder = write_blend(folder, runs, blend(oofs, weights), test_pred, submission, summary, numbered=args.name is None)
    print(f"written: {rel(folder)}/ (blend.json, oof.csv, test_pred.csv, submission.csv)")
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="two or more finished runs, e.g. exp001/run002 exp003/run001")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--weights", type=parse_weights, help="one weight per run, e.g. 0.7,0.3 (scaled to sum to 1)")
    how.add_argument("--optimize", action="store_true", help="find the weights that score best out of fold")
    parser.add_argument("--name", help="the blend's folder under data/output/blend/ (default: the next blendNNN)")
    parser.add_argument("--dry-run", action="store_true", help="print the scores, write nothing")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run_blend(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
