"""The image lab's numbers, as properties: the epoch kept, TTA, gradient accumulation, the regression scale, patience.

Each test would fail on a one-line bug in those numbers (a flipped comparison, a wrong flip axis, a partial
accumulation group never stepped, a dropped target mean, a patience-stopped fold trained again on resume).
The lab is called directly, in a process forked from a warm Python (conftest.run_python), on 240 digits at
8 pixels: a few seconds each.
"""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import run_python
from test_image import quick_copy

DRIVER = '''
import json, sys
from pathlib import Path

import yaml

project, run_dir, resume, overrides, stop = sys.argv[1:]
sys.path.insert(0, str(Path(project) / "exp/exp001"))
import data as data_io
import train
from deep import checkpoints
from runner.util import setup_logging

setup_logging()
cfg = yaml.safe_load((Path(project) / "exp/exp001/config.yml").read_text())
for dotted, value in json.loads(overrides).items():
    *head, last = dotted.split(".")
    node = cfg
    for part in head:
        node = node[part]
    node[last] = value
if stop == "yes":  # a stop after fold 1 trained, before it is saved as finished (its last state is)
    def stop_saving(*args, **kwargs):
        raise KeyboardInterrupt("stopped before the fold was saved")
    checkpoints.save_fold = stop_saving
elif stop.startswith("batch"):  # a stop at this training batch (as Ctrl-C would), counted over the whole run
    import torch
    normalize, batches = data_io.normalize, [0]

    def stopping(images, cfg):
        if torch.is_grad_enabled():  # a training batch: inference runs without gradients
            batches[0] += 1
            if batches[0] == int(stop[5:]):
                raise KeyboardInterrupt(f"stopped at training batch {stop[5:]}")
        return normalize(images, cfg)
    data_io.normalize = stopping
Path(run_dir).mkdir(parents=True, exist_ok=True)
if resume != "-":
    Path(resume).mkdir(exist_ok=True)
try:
    train.run(cfg, Path(run_dir), resume=None if resume == "-" else Path(resume))
except KeyboardInterrupt as e:
    print(f"stopped: {e}")
'''

TTA_DRIVER = '''
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

project = sys.argv[1]
sys.path.insert(0, str(Path(project) / "exp/exp001"))
import data as data_io
import train


class LeftMinusRight(torch.nn.Module):
    """Sums the image's left half minus its mirrored right half: any image and its horizontal flip give opposite
    outputs."""

    def forward(self, x):
        width = x.shape[3]
        weights = torch.linspace(-1, 1, width).view(1, 1, 1, width)  # w[j] = -w[width - 1 - j]
        return (x * weights).sum(dim=(1, 2, 3)).unsqueeze(1)


cfg = yaml.safe_load((Path(project) / "exp/exp001/config.yml").read_text())
cfg["task"] = "regression"
paths = sorted((Path(project) / "data/input/train_images").glob("*.png"))[:20]
dataset = data_io.ImageDataset(paths, (8, 8), data_io.load_images(paths, (8, 8)))
net, device = LeftMinusRight(), torch.device("cpu")
for flips in ([], ["hflip"], ["vflip"]):
    pred, _ = train.infer(cfg, net, dataset, device, (0.0, 1.0), flips)
    print(" ".join(flips) or "none", float(np.abs(pred).max()))
'''

SMALL = {"image.size": 8, "dataset.batch_size": 16, "train.epochs": 3, "cv.n_splits": 2, "tta.hflip": False}


def lab_run(project, run_dir, resume=None, stop_in_save_fold=False, **overrides):
    """Train one run with the lab directly, config.yml with `overrides` (dotted keys); give the CompletedProcess."""
    result = run_python(project, "numbers_driver.py", str(project), str(run_dir), str(resume or "-"),
                        json.dumps({**SMALL, **overrides}), "yes" if stop_in_save_fold else "no", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def numbers_project(image_baked, tmp_path_factory):
    """Give a quick image project with the lab drivers beside it and a regression target: the digit plus 100."""
    project = quick_copy(image_baked, tmp_path_factory.mktemp("image-numbers"))
    (project / "numbers_driver.py").write_text(DRIVER)
    (project / "tta_driver.py").write_text(TTA_DRIVER)
    train = pd.read_csv(project / "data/input/train.csv")
    train.assign(value=train["label"] + 100.0).to_csv(project / "data/input/train.csv", index=False)
    sample = pd.read_csv(project / "data/input/sample_submission.csv")
    sample.assign(value=0.0).to_csv(project / "data/input/sample_submission_value.csv", index=False)
    return project


REGRESSION = {"task": "regression", "metric": "rmse", "data.target": "value", "cv.scheme": "kfold",
              "data.sample_submission": "sample_submission_value.csv", "train.epochs": 4}


@pytest.fixture(scope="module")
def regression_run(numbers_project):
    run_dir = numbers_project / "runs/regression"
    lab_run(numbers_project, run_dir, **REGRESSION)
    return run_dir


@pytest.mark.slow
def test_the_epoch_kept_is_the_one_with_the_lowest_rmse(regression_run):
    history = pd.read_csv(regression_run / "history.csv")
    for fold, rows in history.groupby("fold"):
        best = int(rows.loc[rows["rmse"].idxmin(), "epoch"])  # the first of equal scores: later ones are no better
        assert rows.loc[rows["best"], "epoch"].iloc[-1] == best, rows
        kept = torch.load(regression_run / "models" / f"fold{fold}.pt", map_location="cpu", weights_only=True)
        assert kept["epoch"] == best and kept["rmse"] == pytest.approx(rows["rmse"].min())
    assert json.loads((regression_run / "metrics.json").read_text())["best_epochs"] == [
        int(rows.loc[rows["rmse"].idxmin(), "epoch"]) for _, rows in history.groupby("fold")]


@pytest.mark.slow
def test_regression_predictions_come_back_on_the_target_s_scale(numbers_project, regression_run):
    target = pd.read_csv(numbers_project / "data/input/train.csv")["value"]
    oof = pd.read_csv(regression_run / "oof.csv")["pred"]
    assert abs(oof.mean() - target.mean()) < target.std()  # the targets are 100 to 109: a dropped mean gives ~0
    test = pd.read_csv(regression_run / "test_pred.csv")["pred"]
    assert abs(test.mean() - target.mean()) < target.std()


def test_hflip_tta_averages_an_image_with_its_horizontal_mirror(numbers_project):
    result = run_python(numbers_project, "tta_driver.py", str(numbers_project))
    assert result.returncode == 0, result.stdout + result.stderr
    largest = dict(line.rsplit(" ", 1) for line in result.stdout.strip().splitlines())
    assert float(largest["none"]) > 1  # the network does tell left from right
    assert float(largest["hflip"]) < 1e-4  # with its mirror it gives 0
    assert float(largest["vflip"]) > 1  # an upside-down image is no mirror of it


@pytest.mark.slow
def test_gradient_accumulation_steps_the_last_partial_group_so_the_cosine_schedule_ends_at_zero(numbers_project):
    # 2 folds: 120 train images in 8 batches of 16, so accumulate 3 gives groups of 3, 3 and 2.
    run_dir = numbers_project / "runs/accumulate"
    lab_run(numbers_project, run_dir, **{"train.accumulate": 3, "train.warmup_epochs": 0, "train.epochs": 2})
    history = pd.read_csv(run_dir / "history.csv")
    last_lr = history.groupby("fold")["lr"].last()
    assert np.allclose(last_lr, 0.0, atol=1e-12), last_lr
    first_lr = history.groupby("fold")["lr"].first()
    assert (first_lr > 0).all()  # after epoch 1 of 2 the schedule is halfway, not over


def test_a_fold_stopped_by_patience_is_not_trained_again_on_resume(numbers_project):
    # lr 1e-12: the weights stay put, the valid score never improves on epoch 1, so patience 1 stops at epoch 2.
    run_dir, resume = numbers_project / "runs/patience", numbers_project / "runs/patience.resume"
    settings = {"train.lr": 1e-12, "train.patience": 1, "train.epochs": 6, "train.warmup_epochs": 0}
    first = lab_run(numbers_project, run_dir, resume, stop_in_save_fold=True, **settings)
    assert "stopped: stopped before the fold was saved" in first.stdout
    assert ("fold 1/2 epoch 2/6" in first.stderr + first.stdout
            and "fold 1/2 epoch 3/6" not in first.stderr + first.stdout)
    again = lab_run(numbers_project, run_dir, resume, **settings)
    log = again.stderr + again.stdout
    assert "fold 1/2 epoch" not in log, log  # fold 1 ended at epoch 2; going on would train epochs 3 to 6
    history = pd.read_csv(run_dir / "history.csv")
    assert history[history["fold"] == 0]["epoch"].tolist() == [1, 2]
