"""Read the run records and the saved public LB scores into leaderboard rows, one dict per run.

leaderboard.py ranks and shows the rows; this file only reads. A record that is not whole yet (no
status.json) is left out, so a leaderboard built while runs train never shows a half-written one.
"""
import csv
import json
import re
import sys
from datetime import datetime

import yaml

from .project import RECORDS_ROOT, ROOT, SUBMISSIONS_CSV

EXP_NAME = re.compile(r"exp(\d{3,})")
# runNNN is a complete run, runNNN.failed a failed or interrupted one; .runNNN.partial (in
# progress) and runNNN.replaced-<time> (kept after --force) are not on the board.
RUN_FOLDER = re.compile(r"(run\d{3,})(\.failed)?")
TRIAL_FOLDER = re.compile(r"(trial\d{4,})(\.failed|\.pruned)?")  # --tune's trials, under expNNN/tune/
RUN_REF = re.compile(r"\b(exp\d{3,})/(run\d{3,})\b")

# The C loader is many times faster; it matters with a thousand runs.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

COLUMNS = ["metric", "direction", "rank", "exp", "run", "best", "status", "cv", "cv_std", "oof",
           "public_lb", "private_lb", "changes", "model", "fit_seconds", "commit", "dirty",
           "started", "finished", "error", "path"]


def read_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


_WARNED = set()


def warn_unreadable(path):
    """Name, once per command, a status.json that is there but cannot be read (hand-edited, cut short)."""
    if path.is_file() and path not in _WARNED:
        _WARNED.add(path)
        print(f"warning: {path.relative_to(ROOT)} cannot be read, so that run is left out of the board. "
              "Fix: restore it, or redo the run with --force.", file=sys.stderr)


def read_yaml(path):
    try:
        value = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, yaml.YAMLError):
        return {}
    return value if isinstance(value, dict) else {}


def flatten(tree, prefix=""):
    """Give {'model.params.max_depth': 5} for a nested dict, as exp.py prints a run's changes."""
    flat = {}
    for key, value in tree.items():
        dotted = f"{prefix}{str(key).lstrip('+')}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def last_line(text):
    """Give the last line of an error (a traceback ends with the exception itself)."""
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""


def describe_changes(update):
    """Give a snippet's changes on one line: model.params.max_depth=5, seed=7."""
    return ", ".join(f"{k}={v}" for k, v in flatten(update).items()) or "(base config)"


def exp_number(name):
    match = EXP_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def find_run_folders(trials=False):
    """Give (exp, run, folder, failed) of every complete or failed run record, in number order."""
    found = []
    if not RECORDS_ROOT.is_dir():
        return found
    experiments = [p for p in RECORDS_ROOT.iterdir() if exp_number(p.name) is not None and p.is_dir()]
    for exp_dir in sorted(experiments, key=lambda p: exp_number(p.name)):
        for folder in exp_dir.iterdir():
            match = RUN_FOLDER.fullmatch(folder.name)
            if match:
                found.append((exp_dir.name, match.group(1), folder, bool(match.group(2))))
        for folder in (exp_dir / "tune").iterdir() if trials and (exp_dir / "tune").is_dir() else ():
            match = TRIAL_FOLDER.fullmatch(folder.name)
            if match:
                found.append((exp_dir.name, f"tune/{match.group(1)}", folder, bool(match.group(2))))
    # Runs in number order, then trials in number order, within each experiment.
    found.sort(key=lambda item: (exp_number(item[0]), item[1].startswith("tune/"), int(re.sub(r"\D", "", item[1]))))
    return found


def read_run(exp, run, folder, failed):
    """Give one board row for a run record, or None when the record is not whole."""
    status = read_json(folder / "status.json")
    if not status:  # status.json is written last: without it the record is incomplete
        warn_unreadable(folder / "status.json")
        return None
    row = dict.fromkeys(COLUMNS, "")
    row.update(exp=exp, run=run, status=status.get("status", "failed" if failed else "done"),
               started=status.get("started", ""), finished=status.get("finished", ""),
               path=str(folder.relative_to(ROOT)))
    row["changes"] = describe_changes(read_yaml(folder / "config_update.yml"))
    if failed or row["status"] != "done":
        # Metrics never came; the merged config still says which metric and model it was for.
        config = read_yaml(folder / "config.yml")
        row.update(metric=config.get("metric", ""), model=(config.get("model") or {}).get("name", ""),
                   error=last_line(status.get("error")))
    else:
        metrics = read_json(folder / "metrics.json")
        row.update(metric=metrics.get("metric", status.get("metric", "")), cv=metrics.get("cv", status.get("cv")),
                   cv_std=metrics.get("cv_std", ""), oof=metrics.get("oof", ""), model=metrics.get("model", ""),
                   fit_seconds=metrics.get("total_seconds", ""),
                   direction=metrics.get("direction")
                   or ("maximize" if metrics.get("higher_is_better", True) else "minimize"))
    git = read_json(folder / "provenance.json").get("git") or {}
    row["commit"] = (git.get("commit") or "")[:7]
    row["dirty"] = git.get("dirty") if git.get("dirty") is not None else ""
    return row


def read_runs(trials=False):
    """Give a board row for every run record under data/output/exp/ (and --tune's trials when `trials`)."""
    rows = [read_run(*found) for found in find_run_folders(trials)]
    return [row for row in rows if row is not None]


# ---------------------------------------------------------------- public LB

def read_submissions(path=SUBMISSIONS_CSV):
    """Give {(exp, run): (public, private)} from a saved `kaggle competitions submissions -v` CSV.

    A submission belongs to the run named in its description (kaggle_cli.py submit writes
    'expNNN/runNNN cv=...'); when a run was submitted more than once, the newest scored one counts.
    """
    if not path.is_file():
        return {}
    scores = {}
    with open(path, newline="", encoding="utf-8") as f:
        submissions = [s for s in csv.DictReader(f) if score_or_blank(s.get("publicScore")) != ""]
    for sub in sorted(submissions, key=lambda s: s.get("date") or ""):  # newest last, so it wins
        description = sub.get("description") or ""
        # A blend's message names its runs after its own name (blend/blend001 ... (exp001/run001+...)): not theirs.
        match = None if description.startswith("blend/") else RUN_REF.search(description)
        if match:
            scores[match.groups()] = (score_or_blank(sub.get("publicScore")), score_or_blank(sub.get("privateScore")))
    return scores


def score_or_blank(text):
    """Give the score as a float, or '' when Kaggle has none yet (blank, None, pending)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return ""


def join_lb(rows, scores):
    for row in rows:
        row["public_lb"], row["private_lb"] = scores.get((row["exp"], row["run"]), ("", ""))


def finish_time(row):
    """Give when a run finished as a comparable time (records may carry different UTC offsets)."""
    try:
        return datetime.fromisoformat(row["finished"] or row["started"]).timestamp()
    except ValueError:
        return 0.0

