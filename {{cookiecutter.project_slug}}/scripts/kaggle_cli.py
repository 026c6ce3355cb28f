"""Talk to Kaggle through the official `kaggle` command: data, submissions, datasets of models.

    python scripts/kaggle_cli.py download                      competition files into data/input/ (unzipped)
    python scripts/kaggle_cli.py submit exp001/run002 -m "more leaves" [--dry-run]
    python scripts/kaggle_cli.py submissions                   save your submissions and their LB scores
                                                               to data/output/submissions.csv (leaderboard.py reads it)
    python scripts/kaggle_cli.py package exp001/run002         a Kaggle dataset folder with the code and models
    python scripts/kaggle_cli.py package exp001 --upload       ... with every run's models, and upload it

The competition comes from project.yml (--competition overrides it). Setup, once:
pip install kaggle, then create an API token at https://www.kaggle.com/settings.
"""
import argparse
import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import yaml

# scripts/kaggle_cli.py -> the project root, whatever the current directory is.
ROOT = Path(__file__).resolve().parents[1]
INPUT_DIR = ROOT / "data" / "input"
OUTPUT_DIR = ROOT / "data" / "output"
RECORDS_ROOT = OUTPUT_DIR / "exp"
BLEND_ROOT = OUTPUT_DIR / "blend"
SUBMISSIONS_CSV = OUTPUT_DIR / "submissions.csv"
DATASETS_DIR = OUTPUT_DIR / "kaggle_datasets"
# The columns of `kaggle competitions submissions -v` (kaggle's submission_fields).
SUBMISSION_FIELDS = ["fileName", "date", "description", "status", "publicScore", "privateScore"]
# Experiment files that are not code: left out of a dataset, as new_exp.py leaves them out of a copy.
NOT_CODE = ["__pycache__", ".ipynb_checkpoints", "*.pyc", "*.pyo", ".DS_Store", "wandb", "data", "output", "outputs"]

SETUP_HELP = """To use Kaggle from here, once:
  1. pip install kaggle
  2. create an API token at https://www.kaggle.com/settings (section API)
  3. give it to the kaggle command in one of these ways:
       export KAGGLE_API_TOKEN=<the token>          or save the token in ~/.kaggle/access_token
       save the kaggle.json of "Create Legacy API Key" as ~/.kaggle/kaggle.json (chmod 600 it)
       export KAGGLE_USERNAME=<your name> KAGGLE_KEY=<the key of kaggle.json>
Then run this command again."""


class UserError(Exception):
    """A problem the user can fix: printed as a message, exit code 2, no traceback."""


# ---------------------------------------------------------------- project and kaggle command

def read_project():
    """Give project.yml as a dict."""
    path = ROOT / "project.yml"
    if not path.is_file():
        raise UserError(f"{path}: not found. Run this script inside a project made from the template.")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def competition_slug(args):
    """Give the competition slug: --competition, else project.yml's competition."""
    slug = args.competition or read_project().get("competition")
    if not slug:
        raise UserError("no competition: project.yml has no 'competition:'. Fix: add the slug from "
                        "kaggle.com/competitions/<slug> to project.yml, or pass --competition SLUG.")
    return str(slug)


def kaggle_config_dirs():
    """Give the folders where the kaggle command looks for kaggle.json, in its own order."""
    home = Path.home()
    dirs = [Path(os.environ["KAGGLE_CONFIG_DIR"])] if os.environ.get("KAGGLE_CONFIG_DIR") else []
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return dirs + [home / ".kaggle", xdg / "kaggle"]


def has_credentials():
    """Tell whether any form of Kaggle credentials is set up (the kaggle command checks them for real)."""
    env = os.environ
    if env.get("KAGGLE_API_TOKEN") or (env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY")):
        return True
    if env.get("KAGGLE_KERNEL_RUN_TYPE"):  # inside a Kaggle notebook, which is signed in already
        return True
    names = ("kaggle.json", "access_token", "access_token.txt", "credentials.json")
    return any((folder / name).is_file() for folder in kaggle_config_dirs() for name in names)


def check_kaggle_ready():
    """Raise UserError with the setup steps when the kaggle command or the credentials are missing."""
    if shutil.which("kaggle") is None:
        raise UserError(f"the kaggle command is not installed (not found on PATH).\n{SETUP_HELP}")
    if not has_credentials():
        raise UserError(f"no Kaggle credentials found (no KAGGLE_API_TOKEN, KAGGLE_USERNAME/KAGGLE_KEY, "
                        f"~/.kaggle/access_token or kaggle.json).\n{SETUP_HELP}")


def run_kaggle(command, capture=False, check=True):
    """Run the kaggle command from the project root; give its CompletedProcess; raise UserError when it fails."""
    check_kaggle_ready()
    print(f"$ {shlex.join(command)}", flush=True)
    result = subprocess.run(command, cwd=ROOT, text=True, capture_output=capture)
    if check and result.returncode != 0:
        raise kaggle_failed(result)
    return result


def kaggle_failed(result):
    """Give the UserError for a failed kaggle command, with what it said when that was captured."""
    said = f" It said:\n{result.stdout}{result.stderr}".rstrip() if result.stdout is not None else " See its message above."
    return UserError(f"the kaggle command failed (exit code {result.returncode}).{said}")


def rel(path):
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- runs

def parse_run(text, need_run=True):
    """Give (exp, run or None) from 'exp001/run002' (also 'exp1/run2'); run may be left out when need_run is False."""
    match = re.fullmatch(r"exp(\d+)(?:/run(\d+))?/?", text.strip())
    if not match or (need_run and match.group(2) is None):
        form = "expNNN/runNNN" if need_run else "expNNN or expNNN/runNNN"
        raise UserError(f"{text}: cannot read it as {form}, e.g. exp001/run002.")
    run = f"run{int(match.group(2)):03d}" if match.group(2) else None
    return f"exp{int(match.group(1)):03d}", run


def complete_run(exp, run):
    """Give the record folder and status of a complete run; raise UserError for any other run."""
    folder = RECORDS_ROOT / exp / run
    status_file = folder / "status.json"
    if status_file.is_file():
        status = json.loads(status_file.read_text(encoding="utf-8"))
        if status.get("status") == "done":
            return folder, status
    failed = RECORDS_ROOT / exp / f"{run}.failed"
    if (failed / "status.json").is_file():
        state = json.loads((failed / "status.json").read_text(encoding="utf-8")).get("status", "failed")
        raise UserError(f"{exp}/{run} did not finish ({state}); see {rel(failed / 'log.txt')}. Only complete runs "
                        f"can be used. Fix the problem, then: python exp/{exp}/exp.py --run {run}")
    raise UserError(f"{exp}/{run} has no complete record in {rel(RECORDS_ROOT / exp)}/. Train it first: "
                    f"python exp/{exp}/exp.py --run {run} (list the runs with --list).")


def complete_blend(name):
    """Give the folder, summary and run folder of a blend written by scripts/blend.py; raise UserError if there is none."""
    folder = BLEND_ROOT / name
    if not (folder / "blend.json").is_file():
        made = sorted(p.name for p in BLEND_ROOT.iterdir() if (p / "blend.json").is_file()) if BLEND_ROOT.is_dir() else []
        raise UserError(f"{rel(folder)}: no finished blend there. Blends: {', '.join(made) or 'none yet'}. "
                        "Make one with: python scripts/blend.py exp001/run002 exp002/run001")
    summary = json.loads((folder / "blend.json").read_text(encoding="utf-8"))
    exp, run = parse_run(summary["runs"][0])
    return folder, summary, RECORDS_ROOT / exp / run


def check_submission(run_dir, config_dir=None):
    """Raise UserError unless run_dir/submission.csv matches the sample submission named in config_dir/config.yml."""
    import pandas as pd

    config = (config_dir or run_dir) / "config.yml"
    data = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("data") or {}
    sample_path = ROOT / data.get("dir", "data/input") / data.get("sample_submission", "sample_submission.csv")
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


# ---------------------------------------------------------------- subcommands

def download(args):
    slug = competition_slug(args)
    INPUT_DIR.mkdir(parents=True, exist_ok=True)
    started = time.time()
    command = ["kaggle", "competitions", "download", slug, "-p", rel(INPUT_DIR)] + (["-o"] if args.force else [])
    run_kaggle(command)
    archives = [p for p in INPUT_DIR.glob("*.zip") if p.name == f"{slug}.zip" or p.stat().st_mtime >= started - 1]
    if not archives:
        raise UserError(f"the kaggle command left no {slug}.zip in {rel(INPUT_DIR)}/. Check its message above.")
    for archive in archives:
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            z.extractall(INPUT_DIR)  # extractall drops '..' and leading '/', so files stay inside data/input
        print(f"unzipped {archive.name}: {len(names)} files into {rel(INPUT_DIR)}/")
        for name in names[:20]:
            print(f"  {name}")
        if not args.keep_zip:
            archive.unlink()  # the files are unzipped; the archive would only double the disk space
    return 0


def submit(args):
    blend = re.fullmatch(r"blend/([^/]+)/?|(blend\d+)", args.run.strip())
    if blend:  # a blend of runs: its message names the blend and the runs it mixes
        name = blend.group(1) or blend.group(2)
        folder, summary, first_run = complete_blend(name)
        check_submission(folder, config_dir=first_run)
        message = f"blend/{name} oof={summary['oof']:.5f} ({'+'.join(summary['runs'])})"
    else:
        exp, run = parse_run(args.run)
        folder, status = complete_run(exp, run)
        check_submission(folder)
        message = f"{exp}/{run} cv={status['cv']:.5f}"
    message += f" {args.message}" if args.message else ""
    slug = competition_slug(args)
    command = ["kaggle", "competitions", "submit", slug, "-f", rel(folder / "submission.csv"), "-m", message]
    if args.dry_run:
        print("dry run, nothing sent. From the project root this would run:")
        print(shlex.join(command))
        return 0
    run_kaggle(command)
    print("submitted. Fetch the public score later: python scripts/kaggle_cli.py submissions && python scripts/leaderboard.py")
    return 0


def submissions(args):
    slug = competition_slug(args)
    command = ["kaggle", "competitions", "submissions", slug, "-v", "--page-size", "200"]  # 200: the most it allows
    result = run_kaggle(command, capture=True, check=False)
    if result.returncode != 0 and "--page-size" in result.stderr:  # kaggle before 1.8 has no paging
        result = run_kaggle(command[:-2], capture=True)
    elif result.returncode != 0:
        raise kaggle_failed(result)
    fresh = read_submissions_csv(result.stdout)
    saved = read_submissions_csv(SUBMISSIONS_CSV.read_text(encoding="utf-8")) if SUBMISSIONS_CSV.is_file() else []
    merged = merge_submissions(saved, fresh)
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    with open(SUBMISSIONS_CSV, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=SUBMISSION_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(merged)
    print(f"{len(fresh)} submissions from Kaggle, {len(merged)} in {rel(SUBMISSIONS_CSV)}; "
          "see them next to CV: python scripts/leaderboard.py")
    return 0


def read_submissions_csv(text):
    """Give the rows of a submissions CSV; lines before its header (notices such as 'a newer version exists') are skipped."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("fileName,")), None)
    return list(csv.DictReader(lines[start:])) if start is not None else []


def merge_submissions(saved, fresh):
    """Give saved and fresh submissions together, newest first; a fresh row replaces its saved copy.

    Kaggle lists only the latest page, so older submissions are kept from earlier saves.
    """
    def key(row):
        return row.get("date"), row.get("fileName"), row.get("description")

    merged = {key(row): row for row in saved}
    merged.update((key(row), row) for row in fresh)  # a pending score may have come in since
    return sorted(merged.values(), key=lambda row: row.get("date") or "", reverse=True)


def kaggle_username(args):
    """Give the Kaggle user name: --user, else KAGGLE_USERNAME, else kaggle.json's username."""
    if args.user:
        return args.user
    if os.environ.get("KAGGLE_USERNAME"):
        return os.environ["KAGGLE_USERNAME"]
    for folder in kaggle_config_dirs():
        path = folder / "kaggle.json"
        if path.is_file():
            name = json.loads(path.read_text(encoding="utf-8")).get("username")
            if name:
                return name
    raise UserError("the dataset id needs your Kaggle user name, and none was found "
                    "(no --user, no KAGGLE_USERNAME, no username in ~/.kaggle/kaggle.json). Fix: pass --user <your name>.")


def dataset_names(args, exp, run):
    """Give (slug, title) of the dataset, checked against Kaggle's rules."""
    competition = str(args.competition or read_project().get("competition") or ROOT.name)
    base = re.sub(r"[^a-z0-9]+", "-", competition.lower()).strip("-")
    slug = args.slug or f"{base[: 50 - len(exp) - 1].rstrip('-')}-{exp}".lstrip("-")
    title = args.title or f"{exp} models - {competition}"[:50].rstrip()
    # Kaggle refuses slugs or titles outside 6-50 characters (kaggle-api: dataset_create_new).
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{4,48}[a-z0-9]", slug):
        raise UserError(f"dataset slug {slug!r}: use 6-50 lowercase letters, digits and '-', no '-' at either end. Fix: pass --slug.")
    if not 6 <= len(title) <= 50:
        raise UserError(f"dataset title {title!r} has {len(title)} characters; Kaggle wants 6-50. Fix: pass --title.")
    return slug, title


def package(args):
    exp, run = parse_run(args.target, need_run=False)
    code_dir = ROOT / "exp" / exp
    if not code_dir.is_dir():
        raise UserError(f"{rel(code_dir)}: no such experiment.")
    runs = [run] if run else sorted(p.name for p in (RECORDS_ROOT / exp).glob("run*") if re.fullmatch(r"run\d{3,}", p.name))
    if not runs:
        raise UserError(f"{exp} has no complete runs in {rel(RECORDS_ROOT / exp)}/. Train it first: python exp/{exp}/exp.py")
    user = kaggle_username(args)
    slug, title = dataset_names(args, exp, run)

    folder = DATASETS_DIR / slug
    shutil.rmtree(folder, ignore_errors=True)  # rebuilt from the records every time
    shutil.copytree(code_dir, folder / "code", ignore=shutil.ignore_patterns(*NOT_CODE))
    for name in runs:
        run_dir, _ = complete_run(exp, name)
        warn_if_code_changed(run_dir, code_dir, f"{exp}/{name}")
        shutil.copytree(run_dir / "models", folder / name / "models")
        if (run_dir / "src").is_dir():  # the exact code that trained these models, whatever code/ has become since
            shutil.copytree(run_dir / "src", folder / name / "src")
        for kept in ("config.yml", "config_update.yml", "metrics.json"):  # what inference needs to rebuild features
            shutil.copy2(run_dir / kept, folder / name / kept)
    metadata = {"title": title, "id": f"{user}/{slug}", "licenses": [{"name": "CC0-1.0"}]}
    (folder / "dataset-metadata.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    print(f"dataset folder: {rel(folder)}/ ({', '.join(runs)}; id {metadata['id']})")

    if args.version:
        notes = args.message or f"{exp} {' '.join(runs)}"
        command = ["kaggle", "datasets", "version", "-p", rel(folder), "-m", notes, "--dir-mode", "zip"]
    else:
        command = ["kaggle", "datasets", "create", "-p", rel(folder), "--dir-mode", "zip"]
    if not args.upload:
        what = "a new version" if args.version else "a new private dataset (the first time; later add --version)"
        print(f"upload it as {what} from the project root with:\n{shlex.join(command)}\n(or add --upload)")
        return 0
    run_kaggle(command)
    return 0


def warn_if_code_changed(run_dir, code_dir, name):
    """Warn when the experiment's code differs from the code that trained this run (saved in its src/)."""
    changed = [p.name for p in sorted((run_dir / "src").glob("*.py"))
               if not (code_dir / p.name).is_file() or (code_dir / p.name).read_bytes() != p.read_bytes()]
    if changed:
        print(f"warning: {', '.join(changed)} changed since {name} was trained: code/ holds today's code, "
              f"{name.split('/')[-1]}/src/ the code that trained its models.")


# ---------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{download,submit,submissions,package}")

    def add(name, func, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--competition", help="competition slug (default: competition in project.yml)")
        sub.set_defaults(func=func)
        return sub

    sub = add("download", download, "download the competition's files into data/input/ and unzip them")
    sub.add_argument("--force", action="store_true", help="download again even when the archive is up to date")
    sub.add_argument("--keep-zip", action="store_true", help="keep the downloaded archive after unzipping it")

    sub = add("submit", submit, "check a run's submission.csv and submit it, with 'expNNN/runNNN cv=...' as its message")
    sub.add_argument("run", help="the run to submit, e.g. exp001/run002, or a blend, e.g. blend001 (scripts/blend.py)")
    sub.add_argument("-m", "--message", help="text added after 'expNNN/runNNN cv=...'")
    sub.add_argument("--dry-run", action="store_true", help="check and print the kaggle command, send nothing")

    add("submissions", submissions, "save your submissions with their scores to data/output/submissions.csv")

    sub = add("package", package, "build a Kaggle dataset folder with an experiment's code and its runs' models")
    sub.add_argument("target", help="expNNN (every complete run) or expNNN/runNNN (one run)")
    sub.add_argument("--user", help="your Kaggle user name (default: KAGGLE_USERNAME or ~/.kaggle/kaggle.json)")
    sub.add_argument("--slug", help="dataset slug, 6-50 of a-z 0-9 - (default: <competition>-<exp>)")
    sub.add_argument("--title", help="dataset title, 6-50 characters")
    sub.add_argument("--version", action="store_true", help="upload as a new version of an existing dataset")
    sub.add_argument("-m", "--message", help="version notes, with --version")
    sub.add_argument("--upload", action="store_true", help="run the kaggle command instead of printing it")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
