"""Build the folder of a Kaggle dataset from an experiment's code and its runs' records, secrets left out.

`python scripts/kaggle_cli.py package exp001/run002 [--upload]` calls build_dataset(); this file only writes
the folder. The dataset holds code/<exp>/ (today's code of the experiment), one folder per run (its models,
config and src/, the code that trained it), kaggle_package.json (what it holds; the notebook finds the
dataset by it) and dataset-metadata.json for `kaggle datasets create`.
"""
import fnmatch
import json
import re
import shutil
from pathlib import Path

from kaggle_project import RECORDS_ROOT, ROOT, UserError, complete_run, read_project, rel

# Experiment files that are not code: left out of a dataset, as new_exp.py leaves them out of a copy.
NOT_CODE = ["__pycache__", ".ipynb_checkpoints", "*.pyc", "*.pyo", ".DS_Store", "wandb", "data", "output", "outputs"]
# Files of a run record that prediction never reads: left out of a dataset to keep it small.
NOT_NEEDED_TO_PREDICT = ["oof.csv", "test_pred.csv", "submission.csv", "log.txt", "git.diff", "*.png", "wandb"]
# Names that look like secrets: never copied into a dataset (matched case-insensitively, files and folders).
SECRET_NAMES = [".env", ".env.*", "*.env", "kaggle.json", "*.pem", "*credentials*", "*token*"]
# Written by `package` at the top of a dataset folder: what it holds (the notebook finds the dataset by it).
PACKAGE_FILE = "kaggle_package.json"


def package_records(exp, run):
    """Give {run: record folder} of the runs to package: the one asked for, else every complete run of exp."""
    runs = [run] if run else sorted(p.name for p in (RECORDS_ROOT / exp).glob("run*") if re.fullmatch(r"run\d{3,}", p.name))
    if not runs:
        raise UserError(f"{exp} has no complete runs in {rel(RECORDS_ROOT / exp)}/. Train it first: python exp/{exp}/exp.py")
    return {name: complete_run(exp, name)[0] for name in runs}


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


def build_dataset(folder, code_dir, exp, records, dataset_id, title):
    """Write the dataset folder, rebuilt from the records every time; give its path. Secret-looking files are named."""
    shutil.rmtree(folder, ignore_errors=True)
    secrets = []
    # code/<exp>/ so that the experiment's own root (two folders up) is the dataset's folder, as in the project.
    copy_without_secrets(code_dir, folder / "code" / exp, NOT_CODE, secrets)
    for name, run_dir in records.items():
        warn_if_code_changed(run_dir, code_dir, f"{exp}/{name}")
        copy_without_secrets(run_dir, folder / name, NOT_NEEDED_TO_PREDICT, secrets)
    runs = list(records)
    write_json(folder / PACKAGE_FILE, {"exp": exp, "runs": runs, "competition": read_project().get("competition")})
    metadata = {"title": title, "id": dataset_id, "licenses": [{"name": "CC0-1.0"}]}
    write_json(folder / "dataset-metadata.json", metadata)
    print(f"dataset folder: {rel(folder)}/ ({', '.join(runs)}; id {metadata['id']})")
    if secrets:
        print(f"left out {len(secrets)} secret-looking file(s), never to be uploaded: "
              f"{', '.join(rel(p) for p in secrets)}. Keep secrets outside exp/ and the run records.")
    return folder


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


def warn_if_code_changed(run_dir, code_dir, name):
    """Warn when the experiment's code differs from the code that trained this run (saved in its src/)."""
    changed = [p.name for p in sorted((run_dir / "src").glob("*.py"))
               if not (code_dir / p.name).is_file() or (code_dir / p.name).read_bytes() != p.read_bytes()]
    if changed:
        print(f"warning: {', '.join(changed)} changed since {name} was trained: code/ holds today's code, "
              f"{name.split('/')[-1]}/src/ the code that trained its models.")
