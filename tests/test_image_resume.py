"""The image lab resumes a stopped run: stopped mid-epoch in fold 2, resumed, it gives what a run never stopped gives.

The lab is called directly (train.run with a resume folder of the test's own), in a subprocess, and stopped
by a KeyboardInterrupt (what Ctrl-C raises) at a chosen training batch, raised from data.normalize. The
last test goes through the runner: a real Ctrl-C to exp.py, then the same command again.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import run_exp, run_python
from test_image import quick_copy

pytestmark = pytest.mark.slow

DRIVER = '''
import json, sys
from pathlib import Path

import torch
import yaml

project, run_dir, resume, stop_at, overrides = sys.argv[1:]
sys.path.insert(0, str(Path(project) / "exp/exp001"))
import data as data_io
import train
from runner.util import setup_logging

setup_logging()
cfg = yaml.safe_load((Path(project) / "exp/exp001/config.yml").read_text())
for dotted, value in json.loads(overrides).items():
    *head, last = dotted.split(".")
    node = cfg
    for part in head:
        node = node[part]
    node[last] = value
normalize, batches = data_io.normalize, [0]


def stopping(images, cfg):
    if torch.is_grad_enabled():  # a training batch: infer runs without gradients
        batches[0] += 1
        if batches[0] == int(stop_at):
            raise KeyboardInterrupt(f"stopped at training batch {stop_at}")
    return normalize(images, cfg)


data_io.normalize = stopping
Path(run_dir).mkdir(parents=True)
if resume != "-":
    Path(resume).mkdir(exist_ok=True)  # the runner makes it, in runner/resume.py
train.run(cfg, Path(run_dir), resume=None if resume == "-" else Path(resume),
          report=lambda fold, score: print(f"report {fold} {score:.5f}", flush=True))
'''

# 240 images, 3 folds: 160 train images, 10 batches of 16 per epoch; augmentations on, so the RNGs matter.
CONFIG = {"dataset.batch_size": 16, "augment.hflip": 0.5, "augment.random_resized_crop": [0.6, 1.0]}
STOP = 10 * 2 + 10 + 5  # fold 1's two epochs, fold 2's first, then the 5th batch of fold 2's epoch 2


def train_run(project, run_dir, resume=None, stop_at=0, **config):
    """Run driver.py as `python driver.py ...` in the project (forked from a warm Python: conftest.run_python)."""
    return run_python(project, "driver.py", str(project), str(run_dir), str(resume or "-"), str(stop_at),
                      json.dumps({**CONFIG, **config}), timeout=600)


@pytest.fixture(scope="module")
def never_stopped(image_baked, tmp_path_factory):  # noqa: F811
    """Give a quick image project (3 folds, 2 epochs) and the record of its run trained without a stop."""
    project = quick_copy(image_baked, tmp_path_factory.mktemp("image-resume"), epochs=2, n_splits=3)
    (project / "driver.py").write_text(DRIVER)
    result = train_run(project, project / "runs/never-stopped")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("report ")] == ["0", "1", "2"]
    return project, project / "runs/never-stopped"


def outputs(run_dir):
    history = pd.read_csv(run_dir / "history.csv").drop(columns="seconds")
    return {name: pd.read_csv(run_dir / name) for name in ("oof.csv", "test_pred.csv")} | {"history": history}


def assert_same(run_dir, reference):
    for name, frame in outputs(reference).items():
        again = outputs(run_dir)[name]
        assert list(again.columns) == list(frame.columns), name
        numeric = frame.select_dtypes("number").columns
        assert again.drop(columns=numeric).equals(frame.drop(columns=numeric)), name
        assert np.allclose(again[numeric].to_numpy(float), frame[numeric].to_numpy(float), rtol=0, atol=1e-7), name


@pytest.mark.parametrize("minutes, where", [(None, "epoch 2"), (0, "epoch 2, batch 5")])
def test_a_run_stopped_mid_epoch_in_fold_2_resumes_to_the_numbers_of_a_run_never_stopped(never_stopped, minutes, where):
    project, reference = never_stopped
    resume = project / f"runs/.resume-{minutes}"
    stopped = train_run(project, project / f"runs/stopped-{minutes}", resume, STOP,
                        **{"train.checkpoint_minutes": minutes})
    assert stopped.returncode != 0 and "KeyboardInterrupt: stopped at training batch 35" in stopped.stderr
    # fold 1 whole, fold 2 after its first epoch (checkpoint_minutes null) or after 4 batches of its second (0: every
    # step)
    assert json.loads((resume / "progress.json").read_text()) == {"unit": "fold", "done": 1, "of": 3, "epoch": 1}
    assert sorted(p.name for p in (resume / "fold0").iterdir()) == ["fold.json", "fold0.pt", "oof.npy", "test.npy"]
    assert (resume / "state.pt").is_file() and [p.name for p in resume.glob("best.*.pt")] == ["best.1.1.pt"]
    assert not list(resume.glob(".*.tmp"))

    resumed = train_run(project, project / f"runs/resumed-{minutes}", resume, **{"train.checkpoint_minutes": minutes})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    log = resumed.stdout
    assert "fold 1/3 epoch" not in log and "fold 2/3 epoch 1/2" not in log  # not trained again
    assert "fold 1/3 accuracy=" in log and "saved before the stop" in log.split("fold 1/3 accuracy=")[1].splitlines()[0]
    assert f"fold 2/3: resuming at {where} (saved before the stop)" in log
    # --tune hears every fold's score, the saved fold's too
    assert [line.split()[1] for line in log.splitlines() if line.startswith("report ")] == ["0", "1", "2"]
    assert "fold 2/3 epoch 2/2" in log and "fold 3/3 epoch 1/2" in log
    assert_same(project / f"runs/resumed-{minutes}", reference)
    for k in range(3):  # each fold's best checkpoint, as predict.py reads them
        assert (project / f"runs/resumed-{minutes}/models/fold{k}.pt").is_file()
    assert json.loads((resume / "progress.json").read_text()) == {"unit": "fold", "done": 3, "of": 3, "epoch": 0}
    assert not (resume / "state.pt").exists()


def test_a_resume_folder_of_other_rows_is_not_reused(never_stopped):
    project, reference = never_stopped
    resume = project / "runs/.resume-rows"
    (resume / "fold0").mkdir(parents=True)
    (resume / "fold0/fold.json").write_text("{}")  # would not load: it must be dropped, not read
    (resume / "rows.json").write_text('{"rows": "other"}\n')
    result = train_run(project, project / "runs/other-rows", resume, 11)  # stopped in fold 1's second epoch
    assert "the data changed since the run stopped" in result.stdout
    assert not (resume / "fold0").exists()
    assert json.loads((resume / "progress.json").read_text()) == {"unit": "fold", "done": 0, "of": 3, "epoch": 1}
    shutil.rmtree(resume)


def test_a_run_killed_with_sigkill_while_saving_every_step_resumes_to_the_same_numbers(never_stopped):
    project, reference = never_stopped
    resume, run_dir = project / "runs/.resume-killed", project / "runs/killed"
    command = [sys.executable, str(project / "driver.py"), str(project), str(run_dir), str(resume), "0",
               json.dumps({**CONFIG, "train.checkpoint_minutes": 0})]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # killed in fold 2, wherever it is: inside a batch or amid writing state.pt
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            try:
                progress = json.loads((resume / "progress.json").read_text())
            except (OSError, ValueError):
                progress = {}
            if progress.get("done") == 1 and (resume / "state.pt").is_file():  # fold 2 saved at least once
                time.sleep(0.7)
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        assert process.wait(60) == -signal.SIGKILL  # killed, not finished
    result = train_run(project, project / "runs/killed-resumed", resume, **{"train.checkpoint_minutes": 0})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fold 1/3 epoch" not in result.stdout and "fold 2/3: resuming at epoch" in result.stdout
    assert_same(project / "runs/killed-resumed", reference)


def test_an_image_run_stopped_by_ctrl_c_resumes_through_the_runner_to_the_numbers_of_a_run_never_stopped(
        image_baked, tmp_path):  # noqa: F811
    project = quick_copy(image_baked, tmp_path, epochs=12, n_splits=3)
    exp_py, records = project / "exp/exp001/exp.py", project / "data/output/exp/exp001"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    log = tmp_path / "first.txt"
    with open(log, "w") as out:
        first = subprocess.Popen([sys.executable, str(exp_py), "--run", "1"], cwd=project, env=env, stdout=out,
                                 stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while "fold 2/3 epoch 3/12" not in log.read_text():
            assert first.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) == 130, log.read_text()

    # The stopped process was a real one (it got the signal); the runs after it fork from a warm Python.
    listed = run_exp(project, "--list")
    assert "resuming at fold 2, epoch" in listed.stdout and "(fold 1 done)" in listed.stdout, listed.stdout
    again = run_exp(project, "--run", "1")
    assert again.returncode == 0 and "run001: resuming at fold 2, epoch" in again.stdout, again.stdout + again.stderr
    assert "fold 1/3 epoch 1/12" not in again.stdout, "a finished fold is not trained again"
    fresh = run_exp(project, "--run", "1", "--force", "--fresh")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    (replaced,) = records.glob("run001.replaced-*")  # the resumed record, kept by --force
    for name in ("oof.csv", "test_pred.csv", "submission.csv"):
        assert (replaced / name).read_bytes() == (records / "run001" / name).read_bytes(), name
