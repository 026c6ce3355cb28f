"""scripts/blend.py: ensembles of finished runs, through their out-of-fold predictions.

The iris example is trained once (three runs sharing one fold assignment); each test blends a fresh
copy of it. Regression and binary blends use run records written by hand, with the experiment's code as src/.
"""
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_python

PRED_COLUMNS = ["pred_setosa", "pred_versicolor", "pred_virginica"]


# ---------------------------------------------------------------- fixtures and helpers

def blend(project, *args):
    return run_python(project, "scripts/blend.py", *args)


def record(project, name):
    return project / "data" / "output" / "exp" / name


def blend_folder(project, name="blend001"):
    return project / "data" / "output" / "blend" / name


def read_csv(path):
    return pd.read_csv(path, dtype={"id": str})


def refused(result, *phrases):
    """True when the script stopped with exit code 2 and one message (no traceback) holding every phrase."""
    return (result.returncode == 2 and "Traceback" not in result.stderr
            and all(p in result.stderr for p in phrases))


# ---------------------------------------------------------------- blends of the trained example

def test_blending_two_runs_writes_a_submission_with_the_samples_ids_and_iris_labels(trained):
    result = blend(trained, "exp001/run001", "exp001/run003")

    assert result.returncode == 0, result.stdout + result.stderr
    folder = blend_folder(trained)
    assert sorted(p.name for p in folder.iterdir()) == ["blend.json", "oof.csv", "submission.csv", "test_pred.csv"]
    sub, sample = read_csv(folder / "submission.csv"), read_csv(trained / "data" / "input" / "sample_submission.csv")
    assert list(sub.columns) == list(sample.columns) and sub["id"].tolist() == sample["id"].tolist()
    iris = set(pd.read_csv(trained / "data" / "input" / "train.csv")["species"])
    assert sub["species"].notna().all() and set(sub["species"]) <= iris
    summary = json.loads((folder / "blend.json").read_text())
    assert summary["runs"] == ["exp001/run001", "exp001/run003"]
    assert summary["metric"] == "accuracy" and summary["direction"] == "maximize"
    for name in summary["runs"]:  # scored by the runs' own metric code, so each run scores as it did
        metrics = json.loads((record(trained, name) / "metrics.json").read_text())
        assert summary["run_oof"][name] == pytest.approx(metrics["oof"])
        assert f"{metrics['oof']:.5f}" in result.stdout
    assert f"{summary['oof']:.5f}" in result.stdout and "best single run" in result.stdout


@pytest.mark.slow
def test_runs_get_equal_weights_unless_weights_are_given(trained):
    equal = blend(trained, "exp001/run001", "exp001/run002")
    weighted = blend(trained, "exp001/run001", "exp001/run002", "--weights", "3,1", "--name", "weighted")

    assert equal.returncode == 0 and weighted.returncode == 0, equal.stderr + weighted.stderr
    a, b = (read_csv(record(trained, f"exp001/{run}") / "oof.csv") for run in ("run001", "run002"))
    ta, tb = (read_csv(record(trained, f"exp001/{run}") / "test_pred.csv") for run in ("run001", "run002"))
    for name, wa in (("blend001", 0.5), ("weighted", 0.75)):  # 3,1 is scaled to 0.75,0.25
        folder = blend_folder(trained, name)
        summary = json.loads((folder / "blend.json").read_text())
        assert summary["weights"] == [wa, 1 - wa]
        oof, test = read_csv(folder / "oof.csv"), read_csv(folder / "test_pred.csv")
        assert oof[["id", "fold", "species"]].equals(a[["id", "fold", "species"]])
        np.testing.assert_allclose(oof[PRED_COLUMNS], wa * a[PRED_COLUMNS] + (1 - wa) * b[PRED_COLUMNS])
        np.testing.assert_allclose(test[PRED_COLUMNS], wa * ta[PRED_COLUMNS] + (1 - wa) * tb[PRED_COLUMNS])
        labels = np.array([c[5:] for c in PRED_COLUMNS])
        accuracy = np.mean(labels[oof[PRED_COLUMNS].to_numpy().argmax(1)] == oof["species"])
        assert summary["oof"] == pytest.approx(accuracy)


@pytest.mark.slow
def test_optimized_weights_score_at_least_as_well_as_the_best_single_run(trained):
    result = blend(trained, "exp001/run001", "exp001/run002", "exp001/run003", "--optimize")

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((blend_folder(trained) / "blend.json").read_text())
    assert summary["optimized"] is True
    assert summary["oof"] >= max(summary["run_oof"].values())
    assert min(summary["weights"]) >= 0 and sum(summary["weights"]) == pytest.approx(1)


def test_dry_run_prints_the_scores_and_writes_nothing(trained):
    result = blend(trained, "exp001/run001", "exp001/run003", "--dry-run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "exp001/run003" in result.stdout and "weight 0.500" in result.stdout and "nothing written" in result.stdout
    assert not (trained / "data" / "output" / "blend").exists()


@pytest.mark.slow
def test_an_existing_blend_folder_is_never_overwritten(trained):
    assert blend(trained, "exp001/run001", "exp001/run002").returncode == 0
    assert blend(trained, "exp001/run001", "exp001/run003").returncode == 0  # the next free number
    first = (blend_folder(trained, "blend001") / "blend.json").read_text()

    result = blend(trained, "exp001/run002", "exp001/run003", "--name", "blend001")

    assert refused(result, "blend001/ already exists", "--name")
    assert (blend_folder(trained, "blend001") / "blend.json").read_text() == first
    assert json.loads((blend_folder(trained, "blend002") / "blend.json").read_text())["runs"][1] == "exp001/run003"


@pytest.mark.slow
def test_a_missing_or_unfinished_run_is_refused(trained):
    missing = blend(trained, "exp001/run001", "exp001/run009")
    record(trained, "exp001/run002").rename(record(trained, "exp001/run002.failed"))
    failed = blend(trained, "exp001/run001", "exp001/run002")

    assert refused(missing, "exp001/run009 has no complete record", "python exp/exp001/exp.py --run run009")
    assert refused(failed, "exp001/run002 has no complete record")
    assert not (trained / "data" / "output" / "blend").exists()


@pytest.mark.slow
def test_weights_that_do_not_fit_the_runs_are_refused(trained):
    assert refused(blend(trained, "exp001/run001", "exp001/run002", "--weights", "1"),
                   "--weights has 1 numbers for 2 runs")
    assert refused(blend(trained, "exp001/run001", "exp001/run002", "--weights", "1,-1"), "non-negative")
    assert refused(blend(trained, "exp001/run001", "exp001/run001"), "two or more different runs")


def swap_folds(folder):
    oof = read_csv(folder / "oof.csv")
    oof["fold"] = oof["fold"].replace({0: 1, 1: 0})
    oof.to_csv(folder / "oof.csv", index=False)


def change_metric(folder):
    config = folder / "config.yml"
    config.write_text(config.read_text().replace("metric: accuracy", "metric: logloss"))


def rename_a_class(folder):
    for name in ("oof.csv", "test_pred.csv"):
        frame = read_csv(folder / name).rename(columns={"pred_virginica": "pred_other"})
        frame.to_csv(folder / name, index=False)


@pytest.mark.parametrize("change, message", [
    (swap_folds, "the fold assignment differs"),
    (change_metric, "metric is 'logloss', not 'accuracy'"),
    (rename_a_class, "predicts columns"),
])
def test_runs_that_do_not_line_up_are_refused(trained, change, message):
    other = record(trained, "exp002/run001")  # as if another experiment had trained it
    shutil.copytree(record(trained, "exp001/run002"), other)
    change(other)

    result = blend(trained, "exp001/run001", "exp002/run001")

    assert refused(result, "exp002/run001 cannot be blended with exp001/run001", message)
    assert not (trained / "data" / "output" / "blend").exists()


# ---------------------------------------------------------------- regression and binary, from records written by hand

def write_run(project, run, task, metric, target, oof_pred, test_pred):
    """Write a complete run record of exp009 by hand: ids with leading zeros, two folds, one prediction column."""
    folder = record(project, f"exp009/{run}")
    shutil.copytree(project / "exp" / "exp001", folder / "src")  # the code a run keeps, as it was
    config = {"task": task, "metric": metric, "data": {"dir": "data/input", "sample_submission": "fake_sample.csv",
                                                       "id": "id", "target": "y"}}
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    ids = [f"{i:03d}" for i in range(len(target))]
    pd.DataFrame({"id": ids, "fold": [i % 2 for i in range(len(ids))], "y": target, "pred": oof_pred}).to_csv(
        folder / "oof.csv", index=False)
    pd.DataFrame({"id": ["t0", "t1", "t2"], "pred": test_pred}).to_csv(folder / "test_pred.csv", index=False)
    shutil.copy(project / "data" / "input" / "fake_sample.csv", folder / "submission.csv")  # only its layout is used
    (folder / "status.json").write_text(json.dumps({"status": "done", "metric": metric}))


@pytest.mark.slow
@pytest.mark.parametrize("task, metric, target, runs, expected, blend_score", [
    # Each run is 1.0 off on one row; their mean is exact. The sample lists the test ids as t2, t0, t1.
    ("regression", "rmse", [1.0, 2.0, 3.0, 4.0],
     [([1, 2, 3, 6], [1, -2, 3]), ([1, 2, 3, 2], [3, 0, 5])], [4.0, 2.0, -1.0], 0.0),
    # P(yes): each run gets 3 of 4 rows right; their mean gets all 4.
    ("binary", "accuracy", ["no", "yes", "yes", "no"],
     [([0.6, 0.9, 0.8, 0.1], [0.9, 0.2, 0.4]), ([0.2, 0.3, 0.9, 0.3], [0.5, 0.4, 0.4])], ["no", "yes", "no"], 1.0),
])
def test_regression_values_and_binary_labels_are_blended_in_the_samples_order(project, task, metric, target, runs,
                                                                               expected, blend_score):
    (project / "data" / "input" / "fake_sample.csv").write_text("id,y\nt2,0\nt0,0\nt1,0\n")
    for k, (oof_pred, test_pred) in enumerate(runs, 1):
        write_run(project, f"run{k:03d}", task, metric, target, oof_pred, test_pred)

    result = blend(project, "exp009/run001", "exp009/run002")

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((blend_folder(project) / "blend.json").read_text())
    assert summary["oof"] == pytest.approx(blend_score) and summary["beats_best_run"] is True
    sub = read_csv(blend_folder(project) / "submission.csv")
    assert sub["id"].tolist() == ["t2", "t0", "t1"]
    assert sub["y"].tolist() == expected
    assert "beats the best single run" in result.stdout
