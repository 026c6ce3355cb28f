"""A run stopped in the middle (kill -9, SIGTERM, Ctrl-C, SIGUSR1) goes on where it stopped; --gpus."""
import json
import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import run_exp
from test_parallel import assert_clean_records, slow_training, start_exp, trained_count
from test_runs import EXP, set_config, set_runs

pytestmark = pytest.mark.slow  # runs stopped and resumed in subprocesses

RESULTS = ("oof.csv", "test_pred.csv", "submission.csv", "importance.csv")


def stop_in_fold(project):
    """Make training send itself TEST_STOP_SIGNAL when fold TEST_STOP_IN_FOLD starts (nothing when unset)."""
    path = project / "exp/exp001/train.py"
    anchor = "        train_idx, valid_idx = np.flatnonzero(folds != k), np.flatnonzero(folds == k)\n"
    assert path.read_text().count(anchor) == 1
    hook = ("        import os, signal\n"
            "        if os.environ.get('TEST_STOP_IN_FOLD') == str(k + 1):\n"
            "            os.kill(os.getpid(), getattr(signal, os.environ['TEST_STOP_SIGNAL']))\n"
            "            time.sleep(60)\n")
    path.write_text(path.read_text().replace(anchor, anchor + hook))
    return project


def stop_run(project, name="SIGKILL", *args):
    """Train run001 until fold 3 starts, then stop it with signal `name`; give the exit code."""
    result = run_exp(project, "--run", "1", *args, env={"TEST_STOP_IN_FOLD": "3", "TEST_STOP_SIGNAL": name})
    assert "fold 2/5" in result.stdout and "fold 3/5" not in result.stdout, result.stdout + result.stderr
    assert (project / EXP / ".run001.resume/fold1/fold.json").is_file()
    return result.returncode


def assert_same_results(project, reference, run="run001"):
    """The record equals an uninterrupted run's: predictions, submission, importance and scores (not timings)."""
    for name in RESULTS:
        assert (project / EXP / run / name).read_text() == (reference / EXP / run / name).read_text(), name
    ours, theirs = (json.loads((p / EXP / run / "metrics.json").read_text()) for p in (project, reference))
    for timing in ("fit_seconds", "total_seconds"):
        ours.pop(timing), theirs.pop(timing)
    assert ours == theirs


def run_with_gpus(project, visible, *args, **extra):
    """Run exp.py where CUDA_VISIBLE_DEVICES is `visible` (None: unset), whatever this machine's is."""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg", **extra)
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    return subprocess.run([sys.executable, str(project / "exp/exp001/exp.py"), *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------- resuming

@pytest.mark.parametrize("name, code", [("SIGKILL", -9), ("SIGTERM", 143), ("SIGINT", 130), ("SIGUSR1", 138)])
def test_a_run_stopped_in_fold_3_resumes_at_fold_3_with_the_results_of_an_uninterrupted_run(
        project, trained_project, name, code):
    stop_in_fold(project)
    assert stop_run(project, name) == code
    listing = run_exp(project, "--list").stdout
    assert re.search(r"run001\s+(not run|interrupted)\s*resuming at fold 3 \(folds 1-2 done\)", listing), listing

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "run001: resuming at fold 3 (folds 1-2 done)" in result.stdout
    status = json.loads((project / EXP / "run001/status.json").read_text())
    assert status["resumed"] == "resuming at fold 3 (folds 1-2 done)"
    assert re.search(r"fold 2/5 .*saved before the stop", result.stdout) and "fold 3/5" in result.stdout
    assert "resuming at fold 3" in (project / EXP / "run001/log.txt").read_text()
    assert_same_results(project, trained_project)
    assert_clean_records(project, ["run001"])  # the resumable state is gone once the run is published


@pytest.mark.parametrize("edited, what", [("snippet", "config"), ("metrics.py", "code (metrics.py)")])
def test_a_run_whose_snippet_or_code_was_edited_after_the_kill_starts_clean_and_its_old_state_is_kept_aside(
        project, edited, what):
    stop_in_fold(project)
    assert stop_run(project) == -signal.SIGKILL
    if edited == "snippet":
        set_runs(project, "model:\n  params:\n    num_leaves: 5")
    else:
        with open(project / "exp/exp001/metrics.py", "a") as f:
            f.write("# edited after the kill\n")
    assert f"starts clean: its {what} changed since it stopped" in run_exp(project, "--list").stdout

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.search(rf"run001: its {re.escape(what)} changed since it stopped, so it starts clean; its saved state "
                     r"\(folds 1-2 done\) is kept in "
                     r"data/output/exp/exp001/(\.run001\.resume\.set-aside-\d{8}-\d{6})/\n",
                     result.stdout)
    assert kept, result.stdout
    assert "resuming" not in result.stdout and "saved before the stop" not in result.stdout
    aside = project / EXP / kept.group(1)
    assert sorted(p.name for p in aside.iterdir()) == ["fold0", "fold1", "progress.json", "resume.json"]
    assert not (project / EXP / ".run001.resume").exists()
    assert (project / EXP / "run001/status.json").is_file()


def test_fresh_starts_a_stopped_run_from_scratch_with_the_same_results(project, trained_project):
    stop_in_fold(project)
    assert stop_run(project, "SIGTERM") == 143

    result = run_exp(project, "--run", "1", "--fresh")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "run001: --fresh: starting clean (the state of the stopped run, folds 1-2 done, is removed)" in result.stdout
    assert "saved before the stop" not in result.stdout
    assert_same_results(project, trained_project)
    assert_clean_records(project, ["run001"])


def test_two_processes_racing_to_resume_a_run_one_resumes_it_and_the_other_takes_the_next_run(project):
    stop_in_fold(project)
    slow_training(project)
    assert stop_run(project) == -signal.SIGKILL
    processes = [start_exp(project, "--run", "1-2", env={"TEST_SLEEP": "3"}) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    stdout = [out for out, _ in outputs]
    assert sum(out.count("run001: resuming at fold 3 (folds 1-2 done)") for out in stdout) == 1, stdout
    assert [trained_count(stdout, run) for run in ("run001", "run002")] == [1, 1], stdout
    assert all(trained_count([out], "run001") + trained_count([out], "run002") == 1 for out in stdout), stdout
    assert_clean_records(project, ["run001", "run002"])


# ---------------------------------------------------------------- --gpus

@pytest.mark.parametrize("visible, gpus, expected", [(None, "0,1", ["0", "1"]), ("5,7", "all", ["5", "7"]),
                                                     (None, "all", ["0", "1"])])
def test_gpus_starts_one_worker_per_gpu_each_seeing_only_its_own(project, tmp_path, visible, gpus, expected):
    slow_training(project)  # each worker holds its run long enough for the other worker to take the next one
    fake = tmp_path / "bin" / "nvidia-smi"  # what nvidia-smi -L prints on a machine with two GPUs
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA A100 (UUID: GPU-1a)'\necho 'GPU 1: NVIDIA A100 (UUID: GPU-2b)'\n")
    fake.chmod(0o755)
    result = run_with_gpus(project, visible, "--run", "1-2", "--gpus", gpus, TEST_SLEEP="3",
                           PATH=f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"--gpus: 2 worker processes, one per GPU (CUDA_VISIBLE_DEVICES={', '.join(expected)})" in result.stdout
    seen = sorted(json.loads((project / EXP / run / "provenance.json").read_text())["cuda_visible_devices"]
                  for run in ("run001", "run002"))
    assert seen == expected
    assert_clean_records(project, ["run001", "run002"])


@pytest.mark.parametrize("gpus, visible, message", [
    ("0,x", None, "error: --gpus 0,x: cannot read 'x' as a GPU. Write GPU numbers as nvidia-smi shows them"),
    ("0,0", None, "error: --gpus 0,0: GPU 0 is listed twice; each GPU gets one worker. Fix: --gpus 0."),
    ("all", "", "error: --gpus all: no GPU is visible (CUDA_VISIBLE_DEVICES= lists none)."),
    ("1,2", "4,6",
     "error: --gpus 1,2: there is no GPU 2: this process sees 2 (CUDA_VISIBLE_DEVICES=4,6), numbered 0 to 1."),
])
def test_a_bad_gpu_list_is_one_message_before_any_training(project, gpus, visible, message):
    result = run_with_gpus(project, visible, "--gpus", gpus)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count(message) == 1 and result.stderr.count("error:") == 1, result.stderr
    assert "Traceback" not in result.stderr and "fold 1/5" not in result.stdout
    assert not (project / EXP).exists()


def test_a_resumed_run_continues_the_same_wandb_run(project):
    pytest.importorskip("wandb")
    set_config(project, wandb__enabled=True)
    stop_in_fold(project)
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    run_exp(project, "--run", "1", env={**env, "TEST_STOP_IN_FOLD": "3", "TEST_STOP_SIGNAL": "SIGKILL"})
    started = (project / EXP / ".run001.resume/wandb_id.txt").read_text().strip()

    result = run_exp(project, "--run", "1", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "resuming at fold 3" in result.stdout
    assert json.loads((project / EXP / "run001/wandb.json").read_text())["id"] == started
