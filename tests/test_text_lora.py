"""LoRA in the record: a text run with LoRA over pretrained weights keeps only what trained in each fold checkpoint,
and predict.py (in the project, and in the Kaggle notebook where the base model is mounted somewhere else) rebuilds
the base from its folder, loads the adapters and merges them or not as the run's config says. A blend holding such a
run does the same, through predict_blend.py --base-model and in its notebook.

The "pretrained" base is the example's tiny BERT with random weights saved beside its config (no hub): what matters
is that they are read from the folder, not kept per fold.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import run_python
from test_text import EXP, OUT, PACKAGES, PRED, set_runs

LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["query", "value"], "merge": True}
SOURCE = "ada/tiny-bert/transformers/v1/1"  # a Kaggle Model: owner/model/framework/variation/version
# predict.py against the run's own test_pred.csv (float64 means of fp32 outputs): merging W + BA changes the sums'
# order, so the last float32 digits move; an adapter not loaded moves them by far more (the planted bug, below).
# A blend's predictions, a weighted mean of its runs', are within it too.
TOLERANCE = 1e-5


def save_base_weights(folder, seed):
    """Save random weights for the model folder's config.json (a stand-in for a downloaded model's)."""
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(seed)
    AutoModel.from_config(AutoConfig.from_pretrained(folder)).save_pretrained(folder)


@pytest.fixture(scope="module")
def lora_trained(text_baked, tmp_path_factory):
    """Give a text project whose run001 (merge: true, the default) and run002 (merge: false) are one LoRA training,
    and whose run003 fine-tunes the whole base (no LoRA, no model.kaggle_source: its checkpoints hold every weight)."""
    project = tmp_path_factory.mktemp("text-lora") / text_baked.name
    shutil.copytree(text_baked, project)
    save_base_weights(project / "data/input/tiny-bert", seed=0)
    # config.yml keeps model.lora: null (a run may fill a null section, not empty a full one)
    runs = [yaml.safe_dump({"model": {"lora": lora, "kaggle_source": SOURCE}})
            for lora in (LORA, {**LORA, "merge": False})]
    set_runs(project, [*runs, "seed: 42"], **{"model.pretrained": True, "model.max_length": 32, "cv.n_splits": 2,
                                              "train.epochs": 2, "train.lr": 0.01})
    result = run_python(project, f"{EXP}/exp.py", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def predict(project, run, tmp_path, *options):
    out = tmp_path / f"{run}.csv"
    result = run_python(project, f"{EXP}/predict.py", run, "--test", "data/input/test.csv", "--raw-out", str(out),
                        *options)
    return result, out


def own_predictions(project, run):
    return pd.read_csv(project / OUT / run / "test_pred.csv", dtype={"id": str}).set_index("id")[PRED]


def test_a_lora_runs_fold_checkpoints_hold_only_the_adapters_and_the_head(lora_trained):
    base_size = (lora_trained / "data/input/tiny-bert/model.safetensors").stat().st_size
    for k in range(2):
        path = lora_trained / OUT / "run001/models" / f"fold{k}.pt"
        saved = torch.load(path, map_location="cpu", weights_only=True)
        assert saved["weights"] == "trainable"
        names = sorted(saved["model"])
        # 2 layers x (query, value) x (lora_A, lora_B), and the head's weight and bias: nothing of the frozen base
        assert len(names) == 10 and all(".lora_A." in n or ".lora_B." in n for n in names[:-2]), names
        assert names[-2:] == ["head.bias", "head.weight"]
        assert path.stat().st_size < base_size / 10  # tens of kB against the base's ~830 kB
    base = json.loads((lora_trained / OUT / "run001/model/base.json").read_text())
    assert base["name"] == "data/input/tiny-bert" and base["kaggle_source"] == SOURCE and base["fingerprint"]


def test_predict_merged_and_unmerged_gives_back_the_runs_own_test_predictions(lora_trained, tmp_path):
    same = own_predictions(lora_trained, "run001")
    assert np.allclose(same.to_numpy(), own_predictions(lora_trained, "run002").to_numpy(), atol=1e-7)
    for run in ("run001", "run002"):  # merge: true (the default), merge: false
        result, out = predict(lora_trained, run, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        raw = pd.read_csv(out, dtype={"id": str}).set_index("id")[PRED]
        assert np.abs(raw.to_numpy() - own_predictions(lora_trained, run).to_numpy()).max() < TOLERANCE, run
    # merged: the adapters are in the base's weights, so predicting runs the plain layers
    found = subprocess.run([sys.executable, "-c", MERGED_PROBE], cwd=lora_trained / EXP, capture_output=True,
                           text=True, timeout=300)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout.strip().splitlines()[-1]) == {"run001": True, "run002": False}


MERGED_PROBE = """
import json, sys, torch
from pathlib import Path
sys.path.insert(0, ".")
import network
from runner.config import parse_yaml
merged = {}
for run in ("run001", "run002"):
    record = Path("../../data/output/exp/exp001") / run
    cfg = parse_yaml((record / "config.yml").read_text(), "config.yml")
    cfg["model"]["name"] = str(record / "model")
    net = network.predict_model(cfg, record, 4)
    network.load_fold(cfg, net, torch.load(record / "models/fold0.pt", weights_only=True))
    merged[run] = all(m.merged for m in net.modules() if hasattr(m, "lora_A"))
print(json.dumps(merged))
"""


def test_the_notebook_finds_the_base_model_wherever_kaggle_mounts_it_and_lists_it_as_an_input(lora_trained, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(lora_trained, project)
    for step in ("package", "notebook"):
        built = run_python(project, "scripts/kaggle_cli.py", step, "exp001/run001", "--user", "ada")
        assert built.returncode == 0, built.stdout + built.stderr
    notebook = next((project / "data/output/kaggle_notebooks").iterdir())
    metadata = json.loads((notebook / "kernel-metadata.json").read_text())
    assert metadata["model_sources"] == [SOURCE] and len(metadata["dataset_sources"]) == 1
    dataset = next((project / "data/output/kaggle_datasets").iterdir())
    assert not list(dataset.rglob("*.safetensors"))  # the base is the Model input's, not the dataset's
    inputs = kaggle_inputs(project, tmp_path, dataset, "exp001-data")
    run_notebook_offline(notebook, inputs, tmp_path)
    submitted = pd.read_csv(tmp_path / "working/submission.csv", dtype={"id": str})
    own = pd.read_csv(project / OUT / "run001/submission.csv", dtype={"id": str})
    assert submitted.equals(own)
    # In the project, the base moved away from model.name: predict.py says where to give it, then finds it there.
    result, out = predict(project, "run001", tmp_path)
    assert result.returncode == 2 and "is not in" in result.stderr and "--base-model" in result.stderr
    assert "Traceback" not in result.stderr
    result, out = predict(project, "run001", tmp_path, "--base-model", str(inputs))
    assert result.returncode == 0, result.stdout + result.stderr
    raw = pd.read_csv(out, dtype={"id": str}).set_index("id")[PRED]
    assert np.abs(raw.to_numpy() - own_predictions(project, "run001").to_numpy()).max() < TOLERANCE


# ---------------------------------------------------------------- a blend of a LoRA run and a whole fine-tune

def run_notebook_offline(notebook, inputs, tmp_path):
    """Run the notebook's script on the inputs laid out as Kaggle mounts them, offline, into tmp_path/working; check it
    found the base model where the Kaggle Model is mounted."""
    (tmp_path / "working").mkdir()
    result = subprocess.run([sys.executable, str(notebook / "inference.py"), "--input", str(inputs),
                             "--working", str(tmp_path / "working")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"base model: {inputs / 'tiny-bert/transformers/v1/1'}" in result.stdout + result.stderr


def kaggle_inputs(project, tmp_path, dataset, name, probabilities=False):
    """Lay out Kaggle's /kaggle/input/ in tmp_path/input: <competition>/ (with `probabilities`, its sample holds a
    column per class, so the submission holds the numbers), <dataset>/, the base model moved there from the project
    as a Kaggle Model (<model>/<framework>/<variation>/<version>/), and beside it a decoy: the same config with other
    weights, found first. Give the folder."""
    inputs = tmp_path / "input"
    competition = inputs / "playground-series-s5e1"
    shutil.copytree(project / "data/input", competition, ignore=shutil.ignore_patterns("tiny-bert"))
    if probabilities:
        ids = pd.read_csv(competition / "sample_submission.csv", dtype={"id": str})["id"]
        pd.DataFrame({"id": ids, **{p: 0.25 for p in PACKAGES}}).to_csv(competition / "sample_submission.csv",
                                                                        index=False)
    shutil.copytree(dataset, inputs / name)
    shutil.move(project / "data/input/tiny-bert", inputs / "tiny-bert/transformers/v1/1")
    shutil.copytree(inputs / "tiny-bert/transformers/v1/1", inputs / "a-decoy")
    save_base_weights(inputs / "a-decoy", seed=1)
    return inputs


def test_a_blend_holding_a_lora_run_finds_its_base_wherever_it_is_in_the_project_and_in_the_notebook(lora_trained,
                                                                                                     tmp_path):
    project = tmp_path / "p"
    shutil.copytree(lora_trained, project)
    made = run_python(project, "scripts/blend.py", "exp001/run003", "exp001/run001")  # the LoRA run second
    assert made.returncode == 0, made.stdout + made.stderr
    blend = project / "data/output/blend/blend001"
    own = pd.read_csv(blend / "submission.csv", dtype={"id": str})  # labels, as the example's sample asks
    own_pred = pd.read_csv(blend / "test_pred.csv", dtype={"id": str}).set_index("id")[PRED]
    for run in ("run001", "run003"):  # a blend of two runs that predict apart, so each run's part shows
        assert np.abs(own_pred.to_numpy() - own_predictions(project, run).to_numpy()).max() > 0.01, run
    for step in ("package", "notebook"):
        built = run_python(project, "scripts/kaggle_cli.py", step, "blend001", "--user", "ada")
        assert built.returncode == 0, built.stdout + built.stderr
    notebook = next((project / "data/output/kaggle_notebooks").iterdir())
    metadata = json.loads((notebook / "kernel-metadata.json").read_text())
    assert metadata["model_sources"] == [SOURCE]  # the second run's base: the first names none
    dataset = next((project / "data/output/kaggle_datasets").iterdir())
    assert not list(dataset.rglob("*.safetensors"))
    inputs = kaggle_inputs(project, tmp_path, dataset, "blend001-data", probabilities=True)
    run_notebook_offline(notebook, inputs, tmp_path)
    submitted = pd.read_csv(tmp_path / "working/submission.csv", dtype={"id": str}).set_index("id")
    assert list(submitted.columns) == PACKAGES
    assert np.abs(submitted.loc[own_pred.index].to_numpy() - own_pred.to_numpy()).max() < TOLERANCE

    # In the project, the base moved away from model.name: one message saying where to give it; given, the numbers.
    out = tmp_path / "moved.csv"
    result = run_python(project, "scripts/predict_blend.py", "blend001", "--test", "data/input/test.csv",
                        "--out", str(out))
    assert result.returncode == 2 and "is not in" in result.stderr and "--base-model" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    result = run_python(project, "scripts/predict_blend.py", "blend001", "--test", "data/input/test.csv",
                        "--out", str(out), "--base-model", "data/input/tiny-bert")
    assert result.returncode == 2 and "--base-model data/input/tiny-bert: no such folder" in result.stderr
    # Given, from another folder (each record's predict.py starts in the project root): the blend's numbers.
    result = run_python(project, "scripts/predict_blend.py", "blend001", "--test", "data/input/test.csv",
                        "--out", str(out), "--base-model", str(inputs),
                        "--sample", str(inputs / "playground-series-s5e1/sample_submission.csv"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    moved = pd.read_csv(out, dtype={"id": str}).set_index("id")
    assert np.abs(moved.loc[own_pred.index, PACKAGES].to_numpy() - own_pred.to_numpy()).max() < TOLERANCE
    labels = moved.loc[own["id"], PACKAGES].to_numpy().argmax(axis=1)
    assert [PACKAGES[k] for k in labels] == own["package"].tolist()  # the blend's own submission
