"""The guards a quiet bug would remove: each test here fails when its guard is broken (see the mutant named in it).

Claims, folds, the submission's order, metric directions, target transforms, the signal shield, --jobs
and the qwk clip each fail silently when broken: a run trains twice, folds ignore their seed, a
submission lands on the wrong ids, the best run is the worst. Most tests call the experiment's own
modules in a child process (cwd exp/exp001/, as exp.py imports them).
"""
import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from conftest import run_exp
from test_inputs import EXP_DIR, edit_config, edit_file, set_runs
from test_parallel import slow_training, start_exp

pytestmark = pytest.mark.slow  # each guard is shown on trained runs

OUT = "data/output/exp/exp001"


def in_exp(project, code, timeout=120):
    """Run `code` with exp/exp001/ as the current folder and on sys.path; give the JSON its last line prints."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=project / EXP_DIR, capture_output=True,
                            text=True, timeout=timeout, env={"PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
                                                             "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- claims (mutants: pid_alive always True;
# the re-check after creating takeover/ removed)

DEAD_OWNER = """
    import json, subprocess, sys, tempfile
    from pathlib import Path
    from runner import claims
    out = Path(tempfile.mkdtemp())
    folder = out / ".run001.claim"
    folder.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"]); gone.wait()
    dead = {"host": claims.HOST, "pid": gone.pid, "pid_started": None, "token": "old", "started": "2026-01-01T10:00:00"}
"""


def test_claim_of_a_process_that_died_is_taken_over(baked_project):
    held, note = in_exp(baked_project, DEAD_OWNER + """
    (folder / "owner.json").write_text(json.dumps(dead))
    held, note = claims.claim(out, "run001")
    print(json.dumps([held is not None, note]))
    """)

    assert held and "taking over the claim of pid" in note and "gone" in note


def test_claim_taken_over_by_another_process_meanwhile_is_left_to_it(baked_project):
    # We read a dead owner, but before our takeover/ another process took the claim over: our re-check must see it.
    held, note = in_exp(baked_project, DEAD_OWNER + """
    claims.write_owner(folder, "theirs")  # the live owner now: this very process, as the other one
    reads = iter([dead])
    real = claims.read_owner
    claims.read_owner = lambda f: next(reads, None) or real(f)
    held, note = claims.claim(out, "run001")
    print(json.dumps([held is not None, note]))
    """)

    assert not held and "running in pid" in note


# ---------------------------------------------------------------- folds (mutants: cv.seed ignored; read_folds
# accepting bad fold numbers)

def test_folds_follow_cv_seed_and_are_the_same_for_the_same_seed(project):
    folds = in_exp(project, """
    import json
    import data
    from runner.config import load_config
    from tabular.folds import make_folds
    cfg = load_config("config.yml")
    dataset = data.load_data(cfg)
    made = [make_folds(dataset, dict(cfg["cv"], seed=seed), 42).tolist() for seed in (1, 2, 1)]
    print(json.dumps(made))
    """)

    assert folds[0] == folds[2] and folds[0] != folds[1]


@pytest.mark.parametrize("bad", ["7", "-1", "x", "3"])  # "3": a fold with no rows is as wrong as an unknown one
def test_fold_file_with_bad_fold_numbers_is_refused(baked_project, bad):
    problem = in_exp(baked_project, f"""
    import json, tempfile, types
    from pathlib import Path
    import pandas as pd
    from runner.util import DataError
    from tabular.folds import read_folds
    path = Path(tempfile.mkdtemp()) / "folds.csv"
    ids = pd.Series([str(i) for i in range(10)], name="id")
    folds = [str(i % 5) for i in range(10)]
    folds[4] = folds[9] = {bad!r}  # fold 4 loses its rows
    pd.DataFrame({{"id": ids, "fold": folds}}).to_csv(path, index=False)
    try:
        read_folds(path, types.SimpleNamespace(ids=ids), 5)
        print(json.dumps("accepted"))
    except DataError as e:
        print(json.dumps(str(e)))
    """)

    assert "holds fold numbers other than 0 to 4" in problem


# ---------------------------------------------------------------- the submission's order (mutant: test_pred[order]
# dropped)

def test_submission_follows_the_sample_order_not_the_test_order(baked_project):
    filled = in_exp(baked_project, """
    import json, types
    import numpy as np, pandas as pd
    from tabular.submission import make_submission
    cfg = {"data": {"id": "id", "target": "y", "sample_submission": "s.csv", "test": "t.csv"},
           "task": "regression", "metric": "rmse"}
    sample = pd.DataFrame({"id": ["c", "a", "d", "b"], "y": 0.0})  # shuffled against the test file
    run = types.SimpleNamespace(classes=[], sample=sample, test_ids=pd.Series(["a", "b", "c", "d"]))
    sub = make_submission(run, np.array([1.0, 2.0, 3.0, 4.0]), cfg, False)
    print(json.dumps(dict(zip(sub["id"], sub["y"]))))
    """)

    assert filled == {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}


# ---------------------------------------------------------------- metrics and transforms (mutants: r2's direction
# flipped; log1p's inverse expm1 -> exp; the qwk clip removed)

def test_every_metric_scores_a_perfect_prediction_better_than_a_reversed_one(baked_project):
    wrong = in_exp(baked_project, """
    import json
    import numpy as np
    from metrics import METRICS
    y = {"regression": np.arange(1, 21, dtype=float), "binary": np.arange(20) % 2, "multiclass": np.arange(30) % 3}
    good = {"regression": y["regression"], "binary": np.where(y["binary"] == 1, 0.9, 0.1),
            "multiclass": np.eye(3)[y["multiclass"]] * 0.7 + 0.1}
    bad = {"regression": y["regression"][::-1].copy(), "binary": 1 - good["binary"],
           "multiclass": np.roll(good["multiclass"], 1, axis=1)}
    wrong = []
    for name, metric in METRICS.items():
        task = metric.tasks[0]
        better = metric.score(y[task], good[task]) > metric.score(y[task], bad[task])
        if better != metric.higher_is_better:
            wrong.append(name)
    print(json.dumps(wrong))
    """)

    assert wrong == []


def test_target_transforms_come_back_to_the_target(baked_project):
    back = in_exp(baked_project, """
    import json
    import numpy as np
    from tabular.encoding import TARGET_TRANSFORMS, to_model_scale, to_original_scale
    y = np.array([0.0, 0.5, 3.0, 120.0])
    print(json.dumps({name: to_original_scale({"target_transform": name},
                                              to_model_scale({"target_transform": name}, y)).tolist()
                      for name in TARGET_TRANSFORMS}))
    """)

    for name, values in back.items():
        assert np.allclose(values, [0.0, 0.5, 3.0, 120.0]), name


def test_qwk_of_a_regression_scores_and_submits_within_the_targets_range(project):
    # A ridge regression extrapolates: test rows far out of train's range predict far outside 0-2.
    edit_file(project, "train.csv",
              lambda f: f.assign(species=f["species"].map({"setosa": 0, "versicolor": 1, "virginica": 2})))
    edit_file(project, "test.csv", lambda f: f.assign(petal_length=f["petal_length"] * np.where(f.index % 2, 10, -10)))
    edit_config(project, task="regression", metric="qwk", cv__scheme="kfold", model__name="ridge", model__params={})
    set_runs(project, "")
    scored = in_exp(project, """
    import json
    import numpy as np
    from metrics import score
    print(json.dumps(score("qwk", np.array([0.0, 1.0, 2.0, 1.0]), np.array([-3.0, 1.2, 5.0, 0.9]))))
    """)

    result = run_exp(project)

    assert scored == 1.0  # clipped to 0-2, the predictions are exactly right
    assert result.returncode == 0, result.stdout + result.stderr
    raw = pd.read_csv(project / OUT / "run001/test_pred.csv")["pred"]
    submitted = pd.read_csv(project / OUT / "run001/submission.csv")["species"]
    assert raw.min() < -0.5 and raw.max() > 2.5, "the test should leave the target's range"
    assert submitted.between(0, 2).all() and (submitted % 1 == 0).all()


# ---------------------------------------------------------------- signals (mutants: the shield removed;
# --jobs forwarding SIGINT for SIGTERM)

def test_a_signal_during_a_record_write_waits_until_the_write_is_done(baked_project):
    finished, stopped_by = in_exp(baked_project, """
    import json, os, signal, time
    from runner.interrupts import Stop, catch_signals, shielded, stop_if_signalled
    catch_signals()
    finished = False
    try:
        with shielded():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
            finished = True
        stop_if_signalled()
        print(json.dumps([finished, None]))
    except Stop as e:
        print(json.dumps([finished, e.signum]))
    """)

    assert finished and stopped_by == signal.SIGTERM


def test_sigterm_to_jobs_reaches_its_workers_as_sigterm(project):
    edit_config(project, model__num_boost_round=20)
    slow_training(project)
    process = start_exp(project, "--jobs", "2", env={"TEST_SLEEP": "60"})
    deadline = time.monotonic() + 120
    while len(list((project / OUT).glob(".run*/log.txt"))) < 2:
        assert time.monotonic() < deadline and process.poll() is None, "two runs never started"
        time.sleep(0.1)
    time.sleep(0.5)

    process.send_signal(signal.SIGTERM)  # the parent only, as Slurm or `timeout` would
    out, err = process.communicate(timeout=120)

    assert process.returncode == 143, out + err
    statuses = [json.loads(p.read_text()) for p in (project / OUT).glob("run*.failed/status.json")]
    assert len(statuses) == 2 and {s["error"] for s in statuses} == {"SIGTERM"}, statuses
