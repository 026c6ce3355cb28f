"""The project as kaggle_cli.py sees it: its folders, project.yml, and the finished runs and blends it can send.

Every kaggle_*.py module raises UserError (project.py) for a problem the user can fix; kaggle_cli.py prints it.
"""
import json
import re
from pathlib import Path

import yaml

from .project import BLEND_ROOT, OUTPUT_DIR, RECORDS_ROOT, ROOT, UserError, parse_run_ref, rel

DATASETS_DIR = OUTPUT_DIR / "kaggle_datasets"
NOTEBOOKS_DIR = OUTPUT_DIR / "kaggle_notebooks"


def notebook_gpu(forced, config_dir):
    """Tell whether the notebook of a run (or of a blend whose first run is config_dir's) asks for a GPU: --gpu, or
    project.yml's submit.device (auto: for a deep-learning run, whose record has labels.json; cpu: never, as in
    BirdCLEF, whose notebooks run on the CPU alone; gpu: always)."""
    device = submit_setting("device", "auto")
    if device not in ("auto", "cpu", "gpu"):
        raise UserError(f"project.yml: submit.device is {device!r}. Fix: auto, cpu or gpu.")
    return forced or device == "gpu" or device == "auto" and (config_dir / "labels.json").is_file()


def submit_setting(key, default):
    """Give project.yml's submit.<key> (projects made before the submit section said notebook_device)."""
    project = read_project()
    section = project.get("submit") if isinstance(project.get("submit"), dict) else {}
    old_names = {"device": "notebook_device"}
    return section.get(key, project.get(old_names.get(key, key), default))


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


def read_json_file(path):
    """Give the JSON object in path, or {} when it is missing or unreadable (as the kaggle command treats it)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- runs

def parse_run(text, need_run=True):
    """Give (exp, run or None) from 'exp001/run002' (also 'exp1/run2', a trial's 'exp001/tune/trial0003');
    run may be left out when need_run is False."""
    parsed = parse_run_ref(text)
    if parsed:
        return parsed
    match = re.fullmatch(r"exp(\d+)/?", text.strip())
    if not match or need_run:
        form = "expNNN/runNNN" if need_run else "expNNN or expNNN/runNNN"
        raise UserError(f"{text}: cannot read it as {form}, e.g. exp001/run002 "
                        "(a --tune trial: exp001/tune/trial0003).")
    return f"exp{int(match.group(1)):03d}", None


def complete_run(exp, run):
    """Give the record folder and status of a complete run; raise UserError for any other run."""
    folder = RECORDS_ROOT / exp / run
    status_file = folder / "status.json"
    if status_file.is_file():
        status = read_status(status_file, exp, run)
        if status.get("status") == "done":
            return folder, status
    failed = RECORDS_ROOT / exp / f"{run}.failed"
    if (failed / "status.json").is_file():
        state = read_status(failed / "status.json", exp, run).get("status", "failed")
        raise UserError(f"{exp}/{run} did not finish ({state}); see {rel(failed / 'log.txt')}. Only complete runs "
                        f"can be used. Fix the problem, then: python exp/{exp}/exp.py --run {run}")
    raise UserError(f"{exp}/{run} has no complete record in {rel(RECORDS_ROOT / exp)}/. Train it first: "
                    f"python exp/{exp}/exp.py --run {run} (list the runs with --list).")


def read_status(path, exp, run):
    """Give a record's status.json, or raise UserError naming it when it cannot be read (hand-edited, cut short)."""
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
        status.get("status")
        return status
    except (ValueError, AttributeError) as e:
        raise UserError(f"{rel(path)} cannot be read ({e}), so {exp}/{run} cannot be used. Fix: restore it, or redo "
                        f"the run: python exp/{exp}/exp.py --run {run} --force") from None


def parse_blend(text):
    """Give the blend's name from 'blend001' or 'blend/<name>', else None (the text names a run)."""
    match = re.fullmatch(r"blend/([^/]+)/?|(blend\d+)/?", text.strip())
    return (match.group(1) or match.group(2)) if match else None


def complete_blend(name):
    """Give the folder, summary and run folder of a blend written by scripts/blend.py; raise UserError if there is none.
    """
    folder = BLEND_ROOT / name
    if not (folder / "blend.json").is_file():
        made = (sorted(p.name for p in BLEND_ROOT.iterdir() if (p / "blend.json").is_file())
                if BLEND_ROOT.is_dir() else [])
        raise UserError(f"{rel(folder)}: no finished blend there. Blends: {', '.join(made) or 'none yet'}. "
                        "Make one with: python scripts/blend.py exp001/run002 exp002/run001")
    summary = json.loads((folder / "blend.json").read_text(encoding="utf-8"))
    exp, run = parse_run(summary["runs"][0])
    return folder, summary, RECORDS_ROOT / exp / run


# ---------------------------------------------------------------- submission messages

def blend_message(name, summary):
    """Give the submission message of a blend: its name, OOF score and runs (the leaderboard reads it)."""
    return f"blend/{name} oof={summary['oof']:.5f} ({'+'.join(summary['runs'])})"


def notebook_message(kernel):
    """Give the message of what a notebook built here by `notebook` predicts ('expNNN/runNNN cv=...', or the blend's),
    so the leaderboard can join its score."""
    for path in sorted(NOTEBOOKS_DIR.glob("*/kernel-metadata.json")):
        if read_json_file(path).get("id") == kernel:
            return read_json_file(path.parent / "built_from.json").get("message")
    return None
