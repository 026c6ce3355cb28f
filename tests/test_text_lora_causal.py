"""LoRA over a causal LM's saved weights, and EMA with LoRA.

The base is test_text.py's tiny Qwen2 (a causal LM, pooled at its last real token) with random weights saved beside
its config (no hub), as test_text_lora.py does for BERT. Its fold checkpoints keep only the adapters and the head,
and predict.py, the adapters merged into the base or kept apart, gives back the run's own test predictions. With
train.ema, the average is kept of what trains alone (not a second copy of the base), validates and is what predicts.
"""
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import run_exp
from test_text import OUT, PRED, causal_folder, in_lab, set_runs
from test_text_lora import MERGED_PROBE, TOLERANCE, own_predictions, predict, save_base_weights

LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"], "merge": True}
BASE = "data/input/causal"


@pytest.fixture(scope="module")
def causal_trained(text_baked, tmp_path_factory):
    """Give a text project whose run001 (EMA, merge: true) and run002 (no EMA, merge: false) train LoRA over the
    saved weights of a causal LM: one training but for the average."""
    project = tmp_path_factory.mktemp("text-causal-lora") / text_baked.name
    shutil.copytree(text_baked, project)
    causal_folder(project / BASE, pd.read_csv(project / "data/input/train.csv")["text"].tolist())
    save_base_weights(project / BASE, seed=0)
    set_runs(project, ["train:\n  ema: 0.5", "model:\n  lora:\n    merge: false"],
             **{"model.name": BASE, "model.pooling": "last", "model.pretrained": True, "model.lora": LORA,
                "model.max_length": 32, "cv.n_splits": 2, "train.epochs": 2, "train.lr": 0.01})
    result = run_exp(project, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def test_a_causal_lms_lora_checkpoints_hold_only_its_adapters_and_the_head(causal_trained):
    base_size = (causal_trained / BASE / "model.safetensors").stat().st_size
    for run in ("run001", "run002"):
        for k in range(2):
            path = causal_trained / OUT / run / "models" / f"fold{k}.pt"
            saved = torch.load(path, map_location="cpu", weights_only=True)
            assert saved["weights"] == "trainable"
            names = sorted(saved["model"])
            # 2 layers x (q_proj, v_proj) x (lora_A, lora_B), and the head: nothing of the frozen base
            assert names[-2:] == ["head.bias", "head.weight"] and len(names) == 10, names
            assert all((".lora_A." in n or ".lora_B." in n) and ("q_proj" in n or "v_proj" in n) for n in names[:-2])
            assert path.stat().st_size < base_size / 5, (path.stat().st_size, base_size)
        base = json.loads((causal_trained / OUT / run / "model/base.json").read_text())
        assert base["name"] == BASE and base["fingerprint"]


def test_predict_merged_and_apart_gives_back_the_causal_lm_runs_own_test_predictions_ema_too(causal_trained,
                                                                                             tmp_path):
    for run in ("run001", "run002"):  # EMA and merge: true (the default); no EMA and merge: false
        result, out = predict(causal_trained, run, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        raw = pd.read_csv(out, dtype={"id": str}).set_index("id")[PRED]
        assert np.abs(raw.to_numpy() - own_predictions(causal_trained, run).to_numpy()).max() < TOLERANCE, run
    found = in_lab(causal_trained, MERGED_PROBE)  # merged into q_proj and v_proj's weights, or kept apart
    assert found == {"run001": True, "run002": False}
    # the same training but for the average (EMA draws no random number, changes no gradient): other predictions
    ema, plain = (own_predictions(causal_trained, run).to_numpy() for run in ("run001", "run002"))
    assert np.abs(ema - plain).max() > 1e-3


EMA_PROBE = """
import json, torch
import model as model_io
import network
from runner.config import parse_yaml
cfg = parse_yaml(open("config.yml").read(), "config.yml")  # the causal LM with LoRA over its saved weights
net = network.create_model(cfg, 4)
ema = model_io.Ema(net, 0.9)
named = dict(net.named_parameters())
trainable = sorted(n for n, p in named.items() if p.requires_grad)
old = {n: t.clone() for n, t in net.state_dict().items()}
with torch.no_grad():
    for n in trainable:
        named[n].add_(1.0)  # a step of training
ema.update(net)  # the first update's decay is min(0.9, 1 / 10) = 0.1
first = max(float((ema.shadow[n] - (0.1 * old[n] + 0.9 * named[n])).abs().max()) for n in trainable)
own = {n: t.clone() for n, t in net.state_dict().items()}
with ema.applied(net):
    inside = max(float((named[n] - ema.shadow[n]).abs().max()) for n in trainable)
    frozen = all(torch.equal(t, own[n]) for n, t in net.state_dict().items() if n not in trainable)
back = all(torch.equal(t, own[n]) for n, t in net.state_dict().items())
print(json.dumps({"shadow": sorted(ema.shadow), "trainable": trainable, "first": first, "inside": inside,
                  "frozen": frozen, "back": back, "share": sum(t.numel() for t in ema.shadow.values())
                  / sum(p.numel() for p in net.parameters())}))
"""


def test_ema_with_lora_keeps_an_average_of_the_trainable_weights_alone(causal_trained):
    found = in_lab(causal_trained, EMA_PROBE)
    assert found["shadow"] == found["trainable"] and len(found["shadow"]) == 10  # adapters and head, no base
    assert found["share"] < 0.05, found["share"]
    assert found["first"] < 1e-6  # 0.1 old + 0.9 new
    assert found["inside"] == 0 and found["frozen"]  # the averages in place, the base as it is
    assert found["back"]  # and after, the weights training goes on from, exactly
