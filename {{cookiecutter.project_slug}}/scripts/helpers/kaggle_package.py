"""Build the folder of a Kaggle dataset from an experiment's code and its runs' records, secrets left out.

`python scripts/kaggle_cli.py package exp001/run002 [--upload]` calls build_dataset(); this file only writes
the folder. The dataset holds code/<exp>/ (today's code of the experiment), one folder per run (its models,
config and src/, the code that trained it), kaggle_package.json (what it holds; the notebook finds the
dataset by it) and dataset-metadata.json for `kaggle datasets create`.

`package blend001` calls build_blend_dataset(): the dataset is then a slice of the project, laid out as in it
(exp/<exp>/, data/output/exp/<exp>/<run>/ for each run of the blend, data/output/blend/<name>/blend.json, and
scripts/predict_blend.py with the modules it imports), so the project's own predict_blend.py predicts there.
"""
import fnmatch
import json
import re
import shutil
from pathlib import Path

from .kaggle_project import complete_run, parse_run, read_project
from .project import BLEND_ROOT, RECORDS_ROOT, ROOT, UserError, rel

# Experiment files that are not code: left out of a dataset, as new_exp.py leaves them out of a copy.
NOT_CODE = ["__pycache__", ".ipynb_checkpoints", "*.pyc", "*.pyo", ".DS_Store", "wandb", "data", "output", "outputs"]
# Files of a run record that prediction never reads: left out of a dataset to keep it small.
NOT_NEEDED_TO_PREDICT = ["oof.csv", "test_pred.csv", "submission.csv", "log.txt", "git.diff", "*.png", "wandb"]
# Names that look like secrets: never copied into a dataset (matched case-insensitively, files and folders).
SECRET_NAMES = [".env", ".env.*", "*.env", "kaggle.json", "*.pem", "*credentials*", "*token*"]
# Written by `package` at the top of a dataset folder: what it holds (the notebook finds the dataset by it).
PACKAGE_FILE = "kaggle_package.json"
# What predicts a blend, shipped in its dataset: predict_blend.py and the project modules it imports.
BLEND_SCRIPTS = ["predict_blend.py", "helpers/__init__.py", "helpers/blending.py", "helpers/project.py"]


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
    return finish_dataset(folder, {"exp": exp, "runs": runs}, dataset_id, title, ", ".join(runs), secrets)


def blend_records(summary):
    """Give {'expNNN/runNNN': record folder} of a blend's runs, each complete and able to predict from its record."""
    records = {}
    for name in summary["runs"]:
        exp, run = parse_run(name)
        record = complete_run(exp, run)[0]
        missing = [n for n in ("features.json", "src/predict.py") if not (record / n).is_file()]
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
    secrets = []
    for exp in sorted({run.split("/")[0] for run in records}):
        if (ROOT / "exp" / exp).is_dir():  # today's code, as in a run's dataset; the records' src/ is what predicts
            copy_without_secrets(ROOT / "exp" / exp, folder / "exp" / exp, NOT_CODE, secrets)
    for run, record in records.items():
        code_dir = ROOT / "exp" / run.split("/")[0]
        if code_dir.is_dir():
            warn_if_code_changed(record, code_dir, run)
        copy_without_secrets(record, folder / record.relative_to(ROOT), NOT_NEEDED_TO_PREDICT, secrets)
    blend_dir = BLEND_ROOT / name
    copy_without_secrets(blend_dir, folder / blend_dir.relative_to(ROOT), NOT_NEEDED_TO_PREDICT, secrets)
    for script in BLEND_SCRIPTS:
        (folder / "scripts" / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "scripts" / script, folder / "scripts" / script)
    contents = {"blend": name, "runs": summary["runs"], "weights": summary["weights"]}
    return finish_dataset(folder, contents, dataset_id, title, f"{name}: {' + '.join(summary['runs'])}", secrets)


def finish_dataset(folder, contents, dataset_id, title, what, secrets):
    """Write kaggle_package.json and dataset-metadata.json, say what the folder holds and which secrets stayed out."""
    write_json(folder / PACKAGE_FILE, dict(contents, competition=read_project().get("competition")))
    metadata = {"title": title, "id": dataset_id, "licenses": [{"name": "CC0-1.0"}]}
    write_json(folder / "dataset-metadata.json", metadata)
    print(f"dataset folder: {rel(folder)}/ ({what}; id {metadata['id']})")
    if secrets:
        print(f"left out {len(secrets)} secret-looking file(s), never to be uploaded: "
              f"{', '.join(rel(p) for p in secrets)}. Keep secrets outside exp/, the run records and the blends.")
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
    saved = run_dir / "src"
    changed = [str(p.relative_to(saved)) for p in sorted(saved.rglob("*.py"))
               if not (code_dir / p.relative_to(saved)).is_file() or (code_dir / p.relative_to(saved)).read_bytes() != p.read_bytes()]
    if changed:
        print(f"warning: {', '.join(changed)} changed since {name} was trained: code/ holds today's code, "
              f"{name.split('/')[-1]}/src/ the code that trained its models.")
