"""`package ... --to models`: the packaged folder uploaded as a version of a Kaggle Model instead of a dataset.

A Kaggle Model is owner/model/framework/variation, and each upload is a numbered version of a variation; a notebook
names one in kernel-metadata.json's model_sources (owner/model/framework/variation/version) and finds it mounted
under /kaggle/input/<model>/<framework>/<variation>/<version>/ (the notebook looks for the package's own file there
as it does in a dataset). Here the model is the dataset's slug (<competition>-<exp or blend>), the variation the run
(or the blend, or the experiment when all its runs are packaged), the framework "other" (a record mixes libraries'
files: LightGBM text, torch checkpoints, ONNX). The version notes carry the experiment, the runs, their CV and the
commit they were trained at, so Kaggle's page says what each version is.

Uploaded through the `kaggle` command like everything else here (`kaggle models create`, `models instances create`,
`models instances versions create`), not kagglehub: one tool, one sign-in, the same checks and the same tests as
the datasets. The model source it printed is kept in the folder (MODEL_SOURCE_FILE) for `notebook` to list.
"""
import json
import re
import shlex

from .kaggle_auth import run_kaggle_echoed
from .project import UserError, rel

FRAMEWORK = "other"
MODEL_SOURCE_FILE = "kaggle_model_source.json"  # beside the package: what `notebook` lists in model_sources


def model_handle(folder):
    """Give (owner, model slug, variation) of the package folder, from its dataset-metadata.json and contents."""
    dataset_id = json.loads((folder / "dataset-metadata.json").read_text(encoding="utf-8"))["id"]
    owner, slug = dataset_id.split("/", 1)
    contents = json.loads((folder / "kaggle_package.json").read_text(encoding="utf-8"))
    runs = contents.get("runs") or []
    variation = contents.get("blend") or (runs[0] if len(runs) == 1 else contents.get("exp"))
    return owner, slug, variation


def version_notes(folder, message):
    """Give the version notes: each packaged run's exp/run, CV and commit (the blend's runs for a blend), and yours."""
    contents = json.loads((folder / "kaggle_package.json").read_text(encoding="utf-8"))
    parts = []
    for record in sorted(p.parent for p in folder.glob("*/metrics.json")):
        metrics = json.loads((record / "metrics.json").read_text(encoding="utf-8"))
        provenance_path = record / "provenance.json"
        provenance = json.loads(provenance_path.read_text(encoding="utf-8")) if provenance_path.is_file() else {}
        cv = metrics.get("cv")
        commit = ((provenance.get("git") or {}).get("commit") or "")[:12]
        name = f"{provenance.get('exp') or contents.get('exp') or ''}/{record.name}".lstrip("/")
        parts.append(f"{name} cv={cv:.5f}" if isinstance(cv, (int, float)) else name)
        parts[-1] += f" commit {commit}" if commit else ""
    if contents.get("blend"):
        parts.insert(0, contents["blend"])
    return "; ".join(parts + ([message] if message else []))


def package_as_model(folder, title, message, new_version, upload):
    """Make the package folder a Kaggle Model's upload: its metadata files, then the kaggle commands (printed, or run
    with upload)."""
    owner, slug, variation = model_handle(folder)
    notes = version_notes(folder, message)
    model = {"ownerSlug": owner, "slug": slug, "title": title, "subtitle": "", "isPrivate": True,
             "description": f"Trained with cookiecutter-kaggle-exp. {notes}", "publishTime": "",
             "provenanceSources": ""}
    instance = {"ownerSlug": owner, "modelSlug": slug, "instanceSlug": variation, "framework": FRAMEWORK,
                "overview": notes, "usage": "", "licenseName": "Apache 2.0", "fineTunable": False,
                "trainingData": [], "modelInstanceType": "Unspecified"}
    # the kaggle command reads these two and never uploads them
    for name, data in (("model-metadata.json", model), ("model-instance-metadata.json", instance)):
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if upload:
        upload_model(folder, new_version, notes)
    else:
        commands = "\n".join(shlex.join(c) for c in upload_commands(folder, new_version, notes))
        print(f"upload it as a Kaggle Model from the project root with:\n{commands}\n(or add --upload)")
    return 0


def upload_commands(folder, new_version, notes):
    """Give the kaggle commands that upload the folder: a new model and its variation (version 1), or a new version
    of the variation (--version)."""
    owner, slug, variation = model_handle(folder)
    path = rel(folder)
    if new_version:
        return [["kaggle", "models", "instances", "versions", "create", f"{owner}/{slug}/{FRAMEWORK}/{variation}",
                 "-p", path, "-n", notes, "--dir-mode", "zip"]]
    return [["kaggle", "models", "create", "-p", path],
            ["kaggle", "models", "instances", "create", "-p", path, "--dir-mode", "zip"]]


def upload_model(folder, new_version, notes):
    """Run the upload commands; keep and give the notebook's model source (owner/model/framework/variation/version)."""
    owner, slug, variation = model_handle(folder)
    printed = ""
    for command in upload_commands(folder, new_version, notes):
        printed = run_kaggle_echoed(command)
        if "creation error" in printed:
            exists = "already" in printed.lower() and not new_version
            raise UserError(f"Kaggle refused the model ({printed.strip().splitlines()[-1]}). Fix: "
                            + ("upload a new version instead: add --version" if exists else "check the message above")
                            + ".")
    found = re.search(rf"/models/{re.escape(owner)}/{re.escape(slug)}/\w+/{re.escape(variation)}/(\d+)", printed)
    version = int(found.group(1)) if found else 1 if not new_version else None
    if version is None:
        raise UserError(f"Kaggle gave no version number for the new version ({printed.strip()}). Fix: find it on "
                        f"kaggle.com/models/{owner}/{slug} and add it to the notebook's model_sources by hand.")
    source = f"{owner}/{slug}/{FRAMEWORK}/{variation}/{version}"
    (folder / MODEL_SOURCE_FILE).write_text(json.dumps({"model_source": source}) + "\n", encoding="utf-8")
    print(f"Kaggle Model version: {source} (a notebook lists it in model_sources: "
          f"python scripts/kaggle_cli.py notebook ...)")
    return source


def with_package_model(folder, inputs):
    """Give the notebook's inputs (kaggle_notebook.model_inputs) with the package's Kaggle Model, when the folder was
    last uploaded as one, in model_sources first and the dataset left out (there may be none)."""
    path = folder / MODEL_SOURCE_FILE
    if not path.is_file():
        return inputs
    source = json.loads(path.read_text(encoding="utf-8"))["model_source"]
    return dict(inputs, model_sources=[source, *inputs.get("model_sources", [])], package_in_a_model=True)
