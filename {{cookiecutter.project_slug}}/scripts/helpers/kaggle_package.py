"""Build the folder of a Kaggle dataset from an experiment's code and its runs' records, chosen by allowlist.

`python scripts/kaggle_cli.py package exp001/run002 [--upload]` calls build_dataset(); this file only writes
the folder. The dataset holds code/<exp>/ (today's code of the experiment), one folder per run (its models,
config and src/, the code that trained it), kaggle_package.json (what it holds; the notebook finds the
dataset by it) and dataset-metadata.json for `kaggle datasets create`.

`package blend001` calls build_blend_dataset(): the dataset is then a slice of the project, laid out as in it
(exp/<exp>/, data/output/exp/<exp>/<run>/ for each run of the blend, data/output/blend/<name>/blend.json, and
scripts/predict_blend.py with the modules it imports), so the project's own predict_blend.py predicts there.
"""
import fnmatch
import importlib.util
import json
import re
import shutil
from pathlib import Path

from .kaggle_project import complete_run, parse_run, read_project
from .project import BLEND_ROOT, RECORDS_ROOT, ROOT, UserError, rel

# What a dataset ships is chosen by allowlist: anything else (a key file, a notebook's scratch, data) stays out.
# Code of the experiment (code/<exp>/, a record's src/): text files of these kinds, outside the folders below.
CODE_SUFFIXES = (".py", ".yml", ".yaml", ".md", ".json", ".txt")
NOT_CODE_FOLDERS = ("__pycache__", ".ipynb_checkpoints", "wandb", "data", "output", "outputs")
# A run record: its metadata at the top, its fold models, its src/ (code, as above).
RECORD_FILES = ("*.json", "*.yml", "*.yaml", "importance.csv")
MODEL_SUFFIXES = (".txt", ".ubj", ".json", ".cbm", ".pkl", ".pt")  # .pt: the image lab's fold checkpoints
# A blend's folder: its blend.json.
BLEND_FILES = ("*.json",)
# Left out without a word: caches, and the outputs every record has that prediction never reads (kaggle_submission.json:
# the record's push to score, kaggle_score.py).
ROUTINE = ("*.pyc", "*.pyo", "oof.csv", "test_pred.csv", "submission.csv", "log.txt", "git.diff", "*.png",
           "kaggle_submission.json")
# Names that look like secrets: never shipped even when their kind is allowed, and named apart (case-insensitive).
SECRET_NAMES = [".env", ".env.*", "*.env", "kaggle.json", "*.pem", "*.key", "*credentials*", "*token*", "*secret*",
                "*password*", "*api*key*", "*service*account*", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
                ".netrc", "_netrc", ".pgpass", ".pypirc"]
# What a secret's text holds: a text file of an allowed kind holding one of these stays out too.
SECRET_TEXT = ("PRIVATE KEY-----", '"private_key"', "aws_secret_access_key")
# Written by `package` at the top of a dataset folder: what it holds (the notebook finds the dataset by it).
PACKAGE_FILE = "kaggle_package.json"
# What predicts a blend, shipped in its dataset: predict_blend.py and the project modules it imports.
BLEND_SCRIPTS = ["predict_blend.py", "helpers/__init__.py", "helpers/blending.py", "helpers/project.py"]


def package_records(exp, run):
    """Give {run: record folder} of the runs to package: the one asked for, else every complete run of exp."""
    runs = [run] if run else sorted(p.name for p in (RECORDS_ROOT / exp).glob("run*")
                                    if re.fullmatch(r"run\d{3,}", p.name))
    if not runs:
        raise UserError(f"{exp} has no complete runs in {rel(RECORDS_ROOT / exp)}/. Train it first: python "
                        f"exp/{exp}/exp.py")
    return {name: complete_run(exp, name)[0] for name in runs}


def dataset_names(args, exp, run):
    """Give (slug, title) of the dataset, checked against Kaggle's rules."""
    competition = str(args.competition or read_project().get("competition") or ROOT.name)
    base = re.sub(r"[^a-z0-9]+", "-", competition.lower()).strip("-")
    slug = args.slug or f"{base[: 50 - len(exp) - 1].rstrip('-')}-{exp}".lstrip("-")
    title = getattr(args, "title", None) or f"{exp} models - {competition}"[:50].rstrip()
    # Kaggle refuses slugs or titles outside 6-50 characters (kaggle-api: dataset_create_new).
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{4,48}[a-z0-9]", slug):
        raise UserError(f"dataset slug {slug!r}: use 6-50 lowercase letters, digits and '-', no '-' at either end. "
                        "Fix: pass --slug.")
    if not 6 <= len(title) <= 50:
        raise UserError(f"dataset title {title!r} has {len(title)} characters; Kaggle wants 6-50. Fix: pass --title.")
    return slug, title


def build_dataset(folder, code_dir, exp, records, dataset_id, title):
    """Write the dataset folder, rebuilt from the records every time; give its path. Secret-looking files are named."""
    shutil.rmtree(folder, ignore_errors=True)
    left_out, check = [], credential_check(code_dir, folder)
    # code/<exp>/ so that the experiment's own root (two folders up) is the dataset's folder, as in the project.
    copy_allowed(code_dir, folder / "code" / exp, is_code, left_out, check)
    for name, run_dir in records.items():
        warn_if_code_changed(run_dir, code_dir, f"{exp}/{name}")
        copy_allowed(run_dir, folder / name, is_record_file, left_out, check)
    runs = list(records)
    return finish_dataset(folder, {"exp": exp, "runs": runs}, dataset_id, title, ", ".join(runs), left_out)


def blend_records(summary):
    """Give {'expNNN/runNNN': record folder} of a blend's runs, each complete and able to predict from its record."""
    records = {}
    for name in summary["runs"]:
        exp, run = parse_run(name)
        record = complete_run(exp, run)[0]
        labels = "labels.json" if (record / "labels.json").is_file() else "features.json"  # image or tabular record
        missing = [n for n in (labels, "src/predict.py") if not (record / n).is_file()]
        if missing:
            raise UserError(f"{name} has no {missing[0]} in its record ({rel(record)}/): it was trained before runs "
                            f"could predict from their record, so no notebook can predict it. Fix: train it again "
                            f"(python exp/{exp}/exp.py --run {run} --force), then blend again, or blend other runs.")
        records[name] = record
    return records


def build_blend_dataset(folder, name, summary, dataset_id, title):
    """Write the dataset folder of a blend (each run's code and record, blend.json, predict_blend.py); give its path."""
    records = blend_records(summary)
    shutil.rmtree(folder, ignore_errors=True)
    left_out = []
    for exp in sorted({run.split("/")[0] for run in records}):
        if (ROOT / "exp" / exp).is_dir():  # today's code, as in a run's dataset; the records' src/ is what predicts
            copy_allowed(ROOT / "exp" / exp, folder / "exp" / exp, is_code, left_out,
                         credential_check(ROOT / "exp" / exp, folder))
    for run, record in records.items():
        code_dir = ROOT / "exp" / run.split("/")[0]
        if code_dir.is_dir():
            warn_if_code_changed(record, code_dir, run)
        copy_allowed(record, folder / record.relative_to(ROOT), is_record_file, left_out,
                     credential_check(code_dir, folder))
    blend_dir = BLEND_ROOT / name
    copy_allowed(blend_dir, folder / blend_dir.relative_to(ROOT), lambda parts: fnmatch_any(parts[-1], BLEND_FILES)
                 and len(parts) == 1, left_out)
    for script in BLEND_SCRIPTS:
        (folder / "scripts" / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "scripts" / script, folder / "scripts" / script)
    contents = {"blend": name, "runs": summary["runs"], "weights": summary["weights"]}
    return finish_dataset(folder, contents, dataset_id, title, f"{name}: {' + '.join(summary['runs'])}", left_out)


def finish_dataset(folder, contents, dataset_id, title, what, left_out):
    """Write kaggle_package.json and dataset-metadata.json, say what the folder holds and what stayed out."""
    write_json(folder / PACKAGE_FILE, dict(contents, competition=read_project().get("competition")))
    metadata = {"title": title, "id": dataset_id, "licenses": [{"name": "CC0-1.0"}]}
    write_json(folder / "dataset-metadata.json", metadata)
    print(f"dataset folder: {rel(folder)}/ ({what}; id {metadata['id']})")
    secrets = [p for p in left_out if looks_secret(p)]
    others = [p for p in left_out if p not in secrets]
    if secrets:
        print(f"left out {len(secrets)} secret-looking file(s), never to be uploaded: "
              f"{', '.join(rel(p) for p in secrets)}. Keep secrets outside exp/, the run records and the blends.")
    if others:
        shown = ", ".join(rel(p) for p in others[:20]) + (f" and {len(others) - 20} more" if len(others) > 20 else "")
        print(f"left out {len(others)} file(s) a notebook does not need (only code, the models and the records' "
              f"metadata are shipped): {shown}")
    return folder


def fnmatch_any(name, patterns):
    return any(fnmatch.fnmatch(name.lower(), pattern) for pattern in patterns)


def is_code(parts):
    """Tell whether a file of an experiment's folder (its path parts inside it) is code a notebook needs."""
    return Path(parts[-1]).suffix.lower() in CODE_SUFFIXES and not set(parts[:-1]) & set(NOT_CODE_FOLDERS)


def is_record_file(parts):
    """Tell whether a file of a run record (its path parts inside it) is needed to predict: metadata, models, src/."""
    if parts[0] == "src":
        return len(parts) > 1 and is_code(parts[1:])
    if parts[0] == "models":
        return len(parts) == 2 and Path(parts[1]).suffix.lower() in MODEL_SUFFIXES
    if parts[0] == "model":  # a text run's tokenizer and model config (never weights: models/ holds those)
        return len(parts) >= 2
    return len(parts) == 1 and fnmatch_any(parts[0], RECORD_FILES)


def looks_secret(path):
    """Tell whether a file looks like it holds a secret: by its name, or (a small text file) by what it holds."""
    if fnmatch_any(path.name, SECRET_NAMES) and not fnmatch.fnmatch(path.name.lower(), "*tokenizer*"):
        return True  # (a tokenizer's files match *token* and are no secret)
    try:
        return path.stat().st_size < 1_000_000 and any(text in path.read_text(errors="replace") for text in SECRET_TEXT)
    except OSError:
        return False


def credential_check(exp_dir, folder):
    """Give check(path): raise UserError (removing the half-built dataset `folder`) when the file holds a credential.

    What one looks like is the experiment's runner/leaks.py, the definition exp.py checks its code with;
    an experiment made before it has none, and its files are only checked by name and SECRET_TEXT.
    """
    definition = exp_dir / "runner" / "leaks.py"
    if not definition.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"leaks_of_{exp_dir.name}", definition)
    leaks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(leaks)

    def check(path):
        if path.stat().st_size > 1_000_000:  # models and data, not text a key is pasted into
            return
        problem = leaks.credential_problem({rel(path): path.read_text(errors="replace")}, ROOT)
        if problem:
            shutil.rmtree(folder, ignore_errors=True)
            raise UserError(f"nothing packaged: {problem}")
    return check


def copy_allowed(source, dest, allowed, left_out, check=None):
    """Copy the files of `source` that allowed(path parts) accepts and that do not look secret; add the rest to
    left_out. check(path), when given, may refuse a file by what it holds (credential_check)."""
    for path in sorted(source.rglob("*")):
        if path.is_dir() or (path.is_symlink() and not path.resolve().is_relative_to(source.resolve())):
            if path.is_symlink():
                left_out.append(path)  # a link out of the folder would ship what it points to
            continue
        parts = path.relative_to(source).parts
        if not allowed(parts) or looks_secret(path):
            routine = (set(parts[:-1]) & {"__pycache__", ".ipynb_checkpoints", "wandb"}
                       or fnmatch_any(parts[-1], ROUTINE))
            if looks_secret(path) or not routine:
                left_out.append(path)
            continue
        if check is not None:
            check(path)
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def write_json(path, data):
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def warn_if_code_changed(run_dir, code_dir, name):
    """Warn when the experiment's code differs from the code that trained this run (saved in its src/)."""
    saved = run_dir / "src"
    changed = [str(p.relative_to(saved)) for p in sorted(saved.rglob("*.py"))
               if not (code_dir / p.relative_to(saved)).is_file()
               or (code_dir / p.relative_to(saved)).read_bytes() != p.read_bytes()]
    if changed:
        print(f"warning: {', '.join(changed)} changed since {name} was trained: code/ holds today's code, "
              f"{name.split('/')[-1]}/src/ the code that trained its models.")
