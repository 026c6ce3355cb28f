"""Talk to Kaggle through the official `kaggle` command: data, submissions, datasets of models.

    python scripts/kaggle_cli.py download                      competition files into data/input/ (unzipped)
    python scripts/kaggle_cli.py submit exp001/run002 -m "more leaves" [--dry-run]
    python scripts/kaggle_cli.py submissions                   save your submissions and their LB scores
                                                               to data/output/submissions.csv (leaderboard.py reads it)
    python scripts/kaggle_cli.py package exp001/run002         a Kaggle dataset folder with the code, models and
                                                               run record (--upload to upload it)
    python scripts/kaggle_cli.py notebook exp001/run002 --push a code-competition notebook that predicts offline
    python scripts/kaggle_cli.py submit --kernel alice/my-notebook --version 3    submit a code competition

The competition comes from project.yml (--competition overrides it). Setup, once:
pip install kaggle six, then `kaggle auth login` (or an API token from https://www.kaggle.com/settings).
Only the `kaggle` command is used (through subprocess; written for kaggle 2.2.x).
"""
import argparse
import csv
import fnmatch
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

from kaggle_notebook import build_notebook

# scripts/kaggle_cli.py -> the project root, whatever the current directory is.
ROOT = Path(__file__).resolve().parents[1]
INPUT_DIR = ROOT / "data" / "input"
OUTPUT_DIR = ROOT / "data" / "output"
RECORDS_ROOT = OUTPUT_DIR / "exp"
BLEND_ROOT = OUTPUT_DIR / "blend"
SUBMISSIONS_CSV = OUTPUT_DIR / "submissions.csv"
DATASETS_DIR = OUTPUT_DIR / "kaggle_datasets"
NOTEBOOKS_DIR = OUTPUT_DIR / "kaggle_notebooks"
# The fields of `kaggle competitions submissions` (kaggle 2.x's submission_fields), as saved in submissions.csv.
SUBMISSION_FIELDS = ["ref", "fileName", "date", "description", "status", "publicScore", "privateScore"]
# Experiment files that are not code: left out of a dataset, as new_exp.py leaves them out of a copy.
NOT_CODE = ["__pycache__", ".ipynb_checkpoints", "*.pyc", "*.pyo", ".DS_Store", "wandb", "data", "output", "outputs"]
# Files of a run record that prediction never reads: left out of a dataset to keep it small.
NOT_NEEDED_TO_PREDICT = ["oof.csv", "test_pred.csv", "submission.csv", "log.txt", "git.diff", "*.png", "wandb"]
# Names that look like secrets: never copied into a dataset (matched case-insensitively, files and folders).
SECRET_NAMES = [".env", ".env.*", "*.env", "kaggle.json", "*.pem", "*credentials*", "*token*"]
# Experiment code reads its data from here when it is set (the Kaggle notebook sets it to the competition's input).
DATA_DIR_VARIABLE = "KAGGLE_EXP_DATA_DIR"
# Written by `package` at the top of a dataset folder: what it holds (the notebook finds the dataset by it).
PACKAGE_FILE = "kaggle_package.json"

SETUP_HELP = """To use Kaggle from here, once:
  1. pip install kaggle six                         (kaggle 2.2.5 imports six but does not install it)
  2. sign in, in one of these ways:
       kaggle auth login                            (recommended: signs in through the browser)
       export KAGGLE_API_TOKEN=<token>              or save the token in ~/.kaggle/access_token
                                                    (token from https://www.kaggle.com/settings, section API)
       a legacy kaggle.json in ~/.kaggle/ (chmod 600 it), or KAGGLE_USERNAME=<name> KAGGLE_KEY=<key>
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


def kaggle_config_dir():
    """Give the one folder where the kaggle command (2.x) reads kaggle.json, chosen as it chooses it."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"])
    dot_kaggle = Path.home() / ".kaggle"
    if sys.platform.startswith("linux") and not dot_kaggle.exists():  # kaggle then follows XDG
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"
    return dot_kaggle


def read_json_file(path):
    """Give the JSON object in path, or {} when it is missing or unreadable (as the kaggle command treats it)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def non_empty_file(path):
    return bool(path) and Path(path).is_file() and bool(Path(path).read_text(encoding="utf-8", errors="replace").strip())


def access_token_source():
    """Give where the kaggle command would find an access token (its first choice), or None."""
    env = os.environ
    in_notebook = env.get("KAGGLE_KERNEL_RUN_TYPE") is not None and env.get("KAGGLE_DATA_PROXY_URL") is not None
    if in_notebook and non_empty_file(env.get("KAGGLE_API_V1_TOKEN")):
        return "the Kaggle notebook's token"
    if env.get("KAGGLE_API_TOKEN"):
        token = env["KAGGLE_API_TOKEN"]
        return "KAGGLE_API_TOKEN" if not Path(token).exists() or non_empty_file(token) else None
    for name in ("access_token", "access_token.txt"):  # always ~/.kaggle, whatever KAGGLE_CONFIG_DIR says
        if non_empty_file(Path.home() / ".kaggle" / name):
            return f"~/.kaggle/{name}"
    return None


def legacy_config():
    """Give kaggle.json of the kaggle command's config folder with KAGGLE_* variables over it, as the CLI reads them."""
    config = read_json_file(kaggle_config_dir() / "kaggle.json")
    config.update((k[len("KAGGLE_"):].lower(), v) for k, v in os.environ.items() if k.startswith("KAGGLE_"))
    return config


def oauth_credentials():
    """Give what `kaggle auth login` saved (~/.kaggle/credentials.json), or {} when it has not been run."""
    saved = read_json_file(Path.home() / ".kaggle" / "credentials.json")
    return saved if saved.get("refresh_token") else {}


def credential_source():
    """Give the form of Kaggle credentials the kaggle command will use, in its own order, or None."""
    config, token = legacy_config(), access_token_source()
    if token:
        return f"access token ({token})"
    if config.get("username") and config.get("key"):
        return "legacy API key"
    if oauth_credentials():
        return "kaggle auth login"
    return None


def misplaced_kaggle_json():
    """Give a hint when a kaggle.json sits in a folder the kaggle command does not read, else ''."""
    used = kaggle_config_dir()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"
    for folder in (Path.home() / ".kaggle", xdg):
        if folder != used and (folder / "kaggle.json").is_file():
            return (f" A kaggle.json is in {folder}, but the kaggle command reads only {used}/ "
                    f"(KAGGLE_CONFIG_DIR, else ~/.kaggle when it exists, else $XDG_CONFIG_HOME/kaggle): move it there.")
    return ""


_kaggle_started = False


def check_kaggle_starts():
    """Raise UserError in one line when the kaggle command crashes before doing anything (e.g. a missing module)."""
    global _kaggle_started
    if _kaggle_started:
        return
    try:
        result = subprocess.run(["kaggle", "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"the kaggle command does not start ({e}). Fix: pip install --force-reinstall kaggle")
    said = result.stdout + result.stderr
    if result.returncode != 0:
        missing = re.search(r"ModuleNotFoundError: No module named '([\w]+)", said)
        if missing:  # kaggle 2.2.5 imports six without requiring it
            module = missing.group(1)
            raise UserError(f"the kaggle command crashes at start: the Python module '{module}' it imports is not "
                            f"installed. Fix: pip install {module} (in the Python environment of the kaggle command)")
        last = [line for line in said.splitlines() if line.strip()][-1:] or [f"exit code {result.returncode}"]
        raise UserError(f"the kaggle command crashes at start: {last[0].strip()}. See the whole error with "
                        "`kaggle --version`; pip install --upgrade kaggle may fix it.")
    _kaggle_started = True


def check_kaggle_ready():
    """Raise UserError with the setup steps when the kaggle command is missing, crashes or has no credentials."""
    if shutil.which("kaggle") is None:
        raise UserError(f"the kaggle command is not installed (not found on PATH).\n{SETUP_HELP}")
    check_kaggle_starts()
    if credential_source() is None:
        raise UserError("no Kaggle credentials found (no `kaggle auth login`, no KAGGLE_API_TOKEN or "
                        f"~/.kaggle/access_token, no kaggle.json in {kaggle_config_dir()}/, no KAGGLE_USERNAME/"
                        f"KAGGLE_KEY).{misplaced_kaggle_json()}\n{SETUP_HELP}")


def run_kaggle(command, capture=False, check=True):
    """Run the kaggle command from the project root; give its CompletedProcess; raise UserError when it fails."""
    check_kaggle_ready()
    print(f"$ {shlex.join(command)}", flush=True)
    result = subprocess.run(command, cwd=ROOT, text=True, capture_output=capture)
    if check and result.returncode != 0:
        raise kaggle_failed(result)
    return result


def run_kaggle_echoed(command):
    """Run the kaggle command, showing its output as it comes; give what it printed on stdout.

    Some kaggle commands report a refusal on stdout and still exit 0 ("Dataset creation error: ..."),
    so the caller reads the text. Progress bars (stderr) stay live.
    """
    check_kaggle_ready()
    print(f"$ {shlex.join(command)}", flush=True)
    with subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE) as process:
        lines = []
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    printed = "".join(lines)
    if process.returncode != 0:
        raise UserError(f"the kaggle command failed (exit code {process.returncode}). See its message above.")
    return printed


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


def input_dir(data):
    """Give the folder of the competition's files: $KAGGLE_EXP_DATA_DIR when set, else data.dir of config.yml."""
    if os.environ.get(DATA_DIR_VARIABLE):
        return Path(os.environ[DATA_DIR_VARIABLE]).resolve()
    return ROOT / data.get("dir", "data/input")


def check_submission(run_dir, config_dir=None):
    """Raise UserError unless run_dir/submission.csv matches the sample submission named in config_dir/config.yml."""
    import pandas as pd

    config = (config_dir or run_dir) / "config.yml"
    data = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("data") or {}
    sample_path = input_dir(data) / data.get("sample_submission", "sample_submission.csv")
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
    if args.kernel or args.version:
        return submit_kernel(args)
    if not args.run:
        raise UserError("submit what? Give a run (submit exp001/run002), a blend (submit blend001), "
                        "or a code-competition notebook (submit --kernel OWNER/SLUG --version N).")
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
    print("\nsubmitted. Fetch the public score later: python scripts/kaggle_cli.py submissions && python scripts/leaderboard.py")
    return 0


def submit_kernel(args):
    """Submit a code competition: the submission.csv that version N of a Kaggle notebook wrote."""
    if not (args.kernel and args.version):
        raise UserError("a code-competition submit needs both --kernel OWNER/SLUG and --version N "
                        "(the version number `notebook --push` printed).")
    if args.run:
        raise UserError(f"give either a run ({args.run}) or --kernel, not both: a code competition scores the "
                        "notebook's own output.")
    kernel = args.kernel.strip().strip("/")
    if "/" not in kernel:
        kernel = f"{kaggle_username(args)}/{kernel}"
    if not re.fullmatch(r"[^/\s]+/[a-z0-9][a-z0-9-]*", kernel):
        raise UserError(f"--kernel {args.kernel}: expected OWNER/SLUG as in kaggle.com/code/OWNER/SLUG, e.g. alice/my-notebook.")
    if not re.fullmatch(r"[1-9]\d*", str(args.version)):
        raise UserError(f"--version {args.version}: expected the notebook's version number, e.g. --version 3.")
    run = notebook_run(kernel)
    message = f"{run} (notebook {kernel} v{args.version})" if run else f"notebook {kernel} v{args.version}"
    message += f" {args.message}" if args.message else ""
    command = ["kaggle", "competitions", "submit", competition_slug(args), "-k", kernel, "-v", str(args.version),
               "-f", "submission.csv", "-m", message]
    if args.dry_run:
        print("dry run, nothing sent. From the project root this would run:")
        print(shlex.join(command))
        return 0
    run_kaggle(command)
    print("\nsubmitted. Kaggle runs the notebook on the hidden test set; fetch the score later: "
          "python scripts/kaggle_cli.py submissions")
    return 0


def notebook_run(kernel):
    """Give 'expNNN/runNNN cv=...' for a notebook built here by `notebook`, so the leaderboard can join its score."""
    for path in sorted(NOTEBOOKS_DIR.glob("*/kernel-metadata.json")):
        if read_json_file(path).get("id") == kernel:
            built = read_json_file(path.parent / "built_from.json")
            if built.get("run"):
                return f"{built['run']} cv={built['cv']:.5f}" if isinstance(built.get("cv"), (int, float)) else built["run"]
    return None


def submissions(args):
    slug = competition_slug(args)
    # JSON, read by field name: the CSV and table layouts have changed between kaggle versions.
    command = ["kaggle", "competitions", "submissions", slug, "--format", "json", "--page-size", "200"]
    result = run_kaggle(command, capture=True, check=False)
    if result.returncode != 0 and "unrecognized arguments" in result.stderr:
        raise UserError(f"this kaggle command is too old for `{shlex.join(command)}` ({result.stderr.strip()}). "
                        "Fix: pip install --upgrade kaggle")
    if result.returncode != 0:
        raise kaggle_failed(result)
    fresh = read_submissions_json(result.stdout, command)
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
    return rows


def read_submissions_csv(text):
    """Give the rows of the saved submissions CSV."""
    return list(csv.DictReader(text.splitlines()))


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
    """Give the Kaggle user name: --user, else what the kaggle command signs in as (asking it for a token)."""
    if getattr(args, "user", None):
        return args.user
    if not access_token_source():  # a token names its user only when the CLI asks Kaggle
        name = legacy_config().get("username") or oauth_credentials().get("username")
        if name:
            return str(name)
    if shutil.which("kaggle") and credential_source():
        check_kaggle_starts()
        print("$ kaggle config view   (to learn your user name; --user NAME skips this)", flush=True)
        result = subprocess.run(["kaggle", "config", "view"], capture_output=True, text=True, timeout=120)
        name = re.search(r"^- username: (\S+)\s*$", result.stdout, re.M)
        if result.returncode == 0 and name and name.group(1) != "None":
            return name.group(1)
    raise UserError("the dataset and notebook ids need your Kaggle user name, and none was found (no --user, no "
                    f"KAGGLE_USERNAME, no username in {kaggle_config_dir()}/kaggle.json or from `kaggle auth login`, "
                    "and `kaggle config view` named none). Fix: pass --user <your name>.")


def dataset_names(args, exp, run):
    """Give (slug, title) of the dataset, checked against Kaggle's rules."""
    competition = str(args.competition or read_project().get("competition") or ROOT.name)
    base = re.sub(r"[^a-z0-9]+", "-", competition.lower()).strip("-")
    slug = args.slug or f"{base[: 50 - len(exp) - 1].rstrip('-')}-{exp}".lstrip("-")
    title = getattr(args, "title", None) or f"{exp} models - {competition}"[:50].rstrip()
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
    records = {name: complete_run(exp, name)[0] for name in runs}
    slug, title = dataset_names(args, exp, run)
    user = kaggle_username(args)

    folder = DATASETS_DIR / slug
    shutil.rmtree(folder, ignore_errors=True)  # rebuilt from the records every time
    secrets = []
    # code/<exp>/ so that the experiment's own root (two folders up) is the dataset's folder, as in the project.
    copy_without_secrets(code_dir, folder / "code" / exp, NOT_CODE, secrets)
    for name, run_dir in records.items():
        warn_if_code_changed(run_dir, code_dir, f"{exp}/{name}")
        copy_without_secrets(run_dir, folder / name, NOT_NEEDED_TO_PREDICT, secrets)
    write_json(folder / PACKAGE_FILE, {"exp": exp, "runs": runs, "competition": read_project().get("competition")})
    metadata = {"title": title, "id": f"{user}/{slug}", "licenses": [{"name": "CC0-1.0"}]}
    write_json(folder / "dataset-metadata.json", metadata)
    print(f"dataset folder: {rel(folder)}/ ({', '.join(runs)}; id {metadata['id']})")
    if secrets:
        print(f"left out {len(secrets)} secret-looking file(s), never to be uploaded: "
              f"{', '.join(rel(p) for p in secrets)}. Keep secrets outside exp/ and the run records.")

    if args.version:
        notes = args.message or f"{exp} {' '.join(runs)}"
        command = ["kaggle", "datasets", "version", "-p", rel(folder), "-m", notes, "--dir-mode", "zip"]
    else:
        command = ["kaggle", "datasets", "create", "-p", rel(folder), "--dir-mode", "zip"]
    if not args.upload:
        what = "a new version" if args.version else "a new private dataset (the first time; later add --version)"
        print(f"upload it as {what} from the project root with:\n{shlex.join(command)}\n(or add --upload)")
        return 0
    printed = run_kaggle_echoed(command)
    if "creation error" in printed:
        retry = ("upload a new version instead: add --version" if "already in use" in printed and not args.version
                 else "check the message above")
        raise UserError(f"Kaggle refused the dataset ({printed.strip().splitlines()[-1]}). Fix: {retry}.")
    return 0


def is_secret(name):
    """Tell whether a file or folder name looks like it holds a secret (an API key, a token, a private key)."""
    return any(fnmatch.fnmatch(name.lower(), pattern) for pattern in SECRET_NAMES)


def copy_without_secrets(source, dest, not_needed, secrets):
    """Copy the folder source to dest, leaving out not_needed names and secret-looking ones (added to secrets)."""
    def ignore(folder, names):
        skipped = set(shutil.ignore_patterns(*not_needed)(folder, names))
        for name in names:
            if name not in skipped and is_secret(name):
                secrets.append(Path(folder) / name)
                skipped.add(name)
        return skipped

    shutil.copytree(source, dest, ignore=ignore)


def write_json(path, data):
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def notebook(args):
    exp, run = parse_run(args.target)
    run_dir, status = complete_run(exp, run)
    slug, _ = dataset_names(args, exp, run)
    dataset = DATASETS_DIR / slug
    packaged = read_json_file(dataset / PACKAGE_FILE)
    if run not in packaged.get("runs", []):
        raise UserError(f"{rel(dataset)}/ does not hold {exp}/{run}: the notebook predicts from that dataset. "
                        f"Fix: python scripts/kaggle_cli.py package {exp}/{run} --upload"
                        + (f" --slug {slug}" if args.slug else "") + ", then run this again.")
    dataset_id = read_json_file(dataset / "dataset-metadata.json")["id"]
    user = args.user or dataset_id.split("/")[0]
    competition = competition_slug(args)
    kernel_slug = args.kernel_slug or f"{slug[: 50 - len(run) - 1].rstrip('-')}-{run}"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{3,48}[a-z0-9]", kernel_slug):
        raise UserError(f"notebook slug {kernel_slug!r}: use 5-50 lowercase letters, digits and '-', no '-' at "
                        "either end. Fix: pass --kernel-slug.")
    data = (yaml.safe_load((run_dir / "config.yml").read_text(encoding="utf-8")) or {}).get("data") or {}
    folder = build_notebook(
        NOTEBOOKS_DIR / kernel_slug, kernel_id=f"{user}/{kernel_slug}", title=kernel_slug,  # a title that slugifies to the id
        competition=competition, dataset_id=dataset_id, exp=exp, run=run, gpu=args.gpu, package_file=PACKAGE_FILE,
        test_file=data.get("test", "test.csv"), sample_file=data.get("sample_submission", "sample_submission.csv"),
        built_from={"cv": status.get("cv"), "dataset": dataset_id})
    print(f"notebook folder: {rel(folder)}/ (id {user}/{kernel_slug}; dataset {dataset_id}; "
          f"internet off; {'GPU' if args.gpu else 'CPU'})")
    command = ["kaggle", "kernels", "push", "-p", rel(folder)]
    if not args.push:
        print(f"push it (after uploading the dataset) from the project root with:\n{shlex.join(command)}\n(or add --push)")
        return 0
    printed = run_kaggle_echoed(command)
    if "Kernel push error" in printed or "not valid" in printed:
        raise UserError(f"Kaggle did not take the notebook as it is (see above). If the dataset is missing, upload it: "
                        f"python scripts/kaggle_cli.py package {exp}/{run} --upload")
    version = re.search(r"Kernel version (\d+) successfully", printed)
    print(f"when this version has run on Kaggle, submit it with:\npython scripts/kaggle_cli.py submit "
          f"--kernel {user}/{kernel_slug} --version {version.group(1) if version else 'N'}")
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
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{download,submit,submissions,package,notebook}")

    def add(name, func, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--competition", help="competition slug (default: competition in project.yml)")
        sub.set_defaults(func=func)
        return sub

    sub = add("download", download, "download the competition's files into data/input/ and unzip them")
    sub.add_argument("--force", action="store_true", help="download again even when the archive is up to date")
    sub.add_argument("--keep-zip", action="store_true", help="keep the downloaded archive after unzipping it")

    sub = add("submit", submit, "check a run's submission.csv and submit it, with 'expNNN/runNNN cv=...' as its message")
    sub.add_argument("run", nargs="?", help="the run to submit, e.g. exp001/run002, or a blend, e.g. blend001 (scripts/blend.py)")
    sub.add_argument("-m", "--message", help="text added after 'expNNN/runNNN cv=...'")
    sub.add_argument("--dry-run", action="store_true", help="check and print the kaggle command, send nothing")
    sub.add_argument("--kernel", metavar="OWNER/SLUG", help="code competition: submit what this notebook writes")
    sub.add_argument("--version", metavar="N", help="code competition: the notebook version (printed by notebook --push)")

    add("submissions", submissions, "save your submissions with their scores to data/output/submissions.csv")

    sub = add("package", package, "build a Kaggle dataset folder with an experiment's code and its runs' models")
    sub.add_argument("target", help="expNNN (every complete run) or expNNN/runNNN (one run)")
    sub.add_argument("--user", help="your Kaggle user name (default: the one the kaggle command signs in as)")
    sub.add_argument("--slug", help="dataset slug, 6-50 of a-z 0-9 - (default: <competition>-<exp>)")
    sub.add_argument("--title", help="dataset title, 6-50 characters")
    sub.add_argument("--version", action="store_true", help="upload as a new version of an existing dataset")
    sub.add_argument("-m", "--message", help="version notes, with --version")
    sub.add_argument("--upload", action="store_true", help="run the kaggle command instead of printing it")

    sub = add("notebook", notebook, "build a code-competition notebook that predicts a packaged run offline on Kaggle")
    sub.add_argument("target", help="expNNN/runNNN, packaged first with: package expNNN/runNNN")
    sub.add_argument("--slug", help="slug of the dataset made by package, when you gave package --slug")
    sub.add_argument("--kernel-slug", help="notebook slug, 5-50 of a-z 0-9 - (default: <dataset slug>-<run>)")
    sub.add_argument("--user", help="the notebook's owner (default: the dataset's owner)")
    sub.add_argument("--gpu", action="store_true", help="run the notebook with a GPU (enable_gpu)")
    sub.add_argument("--push", action="store_true", help="run `kaggle kernels push` instead of printing it")
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
