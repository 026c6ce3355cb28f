"""Submissions: a run's submission.csv checked against the sample before it is sent, and the list of
what was sent, as Kaggle prints it, merged into data/output/submissions.csv (leaderboard.py reads it).
"""
import csv
import json
import re
import shlex

import yaml

from .atomic_files import write_atomically
from .kaggle_auth import kaggle_failed, run_kaggle, run_kaggle_echoed
from .kaggle_project import notebook_message
from .project import SUBMISSIONS_CSV, UserError, data_dir, rel

# The fields of `kaggle competitions submissions` (kaggle 2.x's submission_fields), as saved in submissions.csv.
SUBMISSION_FIELDS = ["ref", "fileName", "date", "description", "status", "publicScore", "privateScore"]


def check_submission(run_dir, config_dir=None):
    """Raise UserError unless run_dir/submission.csv matches the sample submission named in config_dir/config.yml."""
    import pandas as pd

    config = (config_dir or run_dir) / "config.yml"
    data = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("data") or {}
    sample_path = data_dir(data) / data.get("sample_submission", "sample_submission.csv")
    sub_path = run_dir / "submission.csv"
    if not sub_path.is_file():
        raise UserError(f"{rel(sub_path)}: not found; the run record is incomplete.")
    if not sample_path.is_file():
        raise UserError(f"{rel(sample_path)}: not found, so {rel(sub_path)} cannot be checked. "
                        "Fix: python scripts/kaggle_cli.py download, or correct data.sample_submission in config.yml.")
    id_col = data.get("id", "id")
    # Ids as text: 001 and 1 are different ids to Kaggle.
    sample = pd.read_csv(sample_path, dtype={id_col: str})
    sub = pd.read_csv(sub_path, dtype={id_col: str})
    where = f"{rel(sub_path)} does not match {rel(sample_path)}"
    if list(sub.columns) != list(sample.columns):
        raise UserError(f"{where}: columns {list(sub.columns)} instead of {list(sample.columns)}.")
    if len(sub) != len(sample):
        raise UserError(f"{where}: {len(sub)} rows instead of {len(sample)}.")
    if not sub[id_col].equals(sample[id_col]):
        raise UserError(f"{where}: the {id_col} values differ or are in another order (same ids, same order expected).")
    if sub.isna().any().any():
        bad = [c for c in sub.columns if sub[c].isna().any()]
        raise UserError(f"{where}: missing values in {', '.join(bad)}.")


def read_submissions_json(text, command):
    """Give the submissions `kaggle competitions submissions --format json` printed; raise UserError if unreadable."""
    if text.strip() == "No submissions found":
        return []
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("[")), None)  # after notices, if any
    try:
        rows = json.loads("\n".join(lines[start:])) if start is not None else None
    except ValueError:
        rows = None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "description" in r and "date" in r for r in rows):
        said = "\n".join(lines[:5]) or "(nothing)"
        raise UserError(f"cannot read what `{shlex.join(command)}` printed: expected a JSON list of submissions with "
                        f"date and description, got:\n{said}\nNothing was saved. Fix: pip install --upgrade kaggle "
                        "(this script is written for kaggle 2.2.x), or report the output above.")
    for row in rows:  # the same date format as the CSV that older versions saved, so rows merge
        row["date"] = str(row.get("date") or "").replace("T", " ")
        row.update((k, "" if row.get(k) is None else row.get(k)) for k in SUBMISSION_FIELDS)
        row["status"] = plain_status(row["status"])
    return rows


def plain_status(status):
    """Give COMPLETE for kaggle 2.x's SubmissionStatus.COMPLETE (the enum as printed), as the website says it."""
    return str(status).rpartition("SubmissionStatus.")[2]


def read_submissions_csv(text):
    """Give the rows of the saved submissions CSV (statuses saved by earlier versions made plain)."""
    rows = list(csv.DictReader(text.splitlines()))
    for row in rows:
        row["status"] = plain_status(row.get("status") or "")
    return rows


def merge_submissions(saved, fresh):
    """Give saved and fresh submissions together, newest first; a fresh row replaces its saved copy.

    Kaggle lists only the latest page, so older submissions are kept from earlier saves.
    """
    def key(row):
        return row.get("date"), row.get("fileName"), row.get("description")

    merged = {key(row): row for row in saved}
    merged.update((key(row), row) for row in fresh)  # a pending score may have come in since
    return sorted(merged.values(), key=lambda row: row.get("date") or "", reverse=True)


def write_submissions_csv(path, rows):
    """Write the submissions with the fields of SUBMISSION_FIELDS, one row each, whole or not at all.

    The file is the only copy of submissions Kaggle no longer lists: an interrupted write must leave the old one.
    """
    def write(temporary):
        with open(temporary, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=SUBMISSION_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, write)


def submit_kernel(args, username, competition):
    """Submit a code competition: the submission.csv that version N of a Kaggle notebook wrote.

    username() and competition() give the kernel's default owner and the competition, asked only when needed."""
    if not (args.kernel and args.version):
        raise UserError("a code-competition submit needs both --kernel OWNER/SLUG and --version N "
                        "(the version number `notebook --push` printed).")
    if args.run:
        raise UserError(f"give either a run ({args.run}) or --kernel, not both: a code competition scores the "
                        "notebook's own output.")
    kernel = args.kernel.strip().strip("/")
    if "/" not in kernel:
        kernel = f"{username()}/{kernel}"
    if not re.fullmatch(r"[^/\s]+/[a-z0-9][a-z0-9-]*", kernel):
        raise UserError(f"--kernel {args.kernel}: expected OWNER/SLUG as in kaggle.com/code/OWNER/SLUG, e.g. "
                        "alice/my-notebook.")
    if not re.fullmatch(r"[1-9]\d*", str(args.version)):
        raise UserError(f"--version {args.version}: expected the notebook's version number, e.g. --version 3.")
    command = code_submission_command(competition(), kernel, args.version, args.message)
    return send_submission(command, args.dry_run, "Kaggle runs the notebook on the hidden test set; fetch the score "
                                                  "later: python scripts/kaggle_cli.py submissions")


def code_submission_command(competition, kernel, version, extra=None):
    """Give the kaggle command that submits what version `version` of notebook `kernel` writes; its message names
    the run or blend the notebook was built from ('expNNN/runNNN cv=...'), so the leaderboard joins its score."""
    built = notebook_message(kernel)
    message = f"{built} (notebook {kernel} v{version})" if built else f"notebook {kernel} v{version}"
    message += f" {extra}" if extra else ""
    return ["kaggle", "competitions", "submit", competition, "-k", kernel, "-v", str(version),
            "-f", "submission.csv", "-m", message]


def send_submission(command, dry_run, then):
    """Run the kaggle submit command and say what comes next (`then`); on a dry run, only print it."""
    if dry_run:
        print("dry run, nothing sent. From the project root this would run:")
        print(shlex.join(command))
        return 0
    submit_for_ref(command)
    print(f"\nsubmitted. {then}")
    return 0


def submit_for_ref(command):
    """Run the kaggle submit command, showing what it prints; give the submission's ref it printed, or None."""
    printed = run_kaggle_echoed(command)
    ref = re.search(r"^Submission ref: (\d+)", printed, re.M)  # kaggle 2.2.x prints it after the submit
    return int(ref.group(1)) if ref else None


def save_submissions(competition, echo=True):
    """Fetch your submissions from Kaggle and merge them into data/output/submissions.csv; give (the fresh ones,
    all saved). echo=False: the command line is not printed (a poll every minute would flood the screen)."""
    # JSON, read by field name: the CSV and table layouts have changed between kaggle versions.
    command = ["kaggle", "competitions", "submissions", competition, "--format", "json", "--page-size", "200"]
    result = run_kaggle(command, capture=True, check=False, echo=echo)
    if result.returncode != 0 and "unrecognized arguments" in result.stderr:
        raise UserError(f"this kaggle command is too old for `{shlex.join(command)}` ({result.stderr.strip()}). "
                        "Fix: pip install --upgrade kaggle")
    if result.returncode != 0:
        raise kaggle_failed(result)
    fresh = read_submissions_json(result.stdout, command)
    saved = read_submissions_csv(SUBMISSIONS_CSV.read_text(encoding="utf-8")) if SUBMISSIONS_CSV.is_file() else []
    merged = merge_submissions(saved, fresh)
    write_submissions_csv(SUBMISSIONS_CSV, merged)
    return fresh, merged
