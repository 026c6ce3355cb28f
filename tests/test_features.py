"""The lab's extension points: features learned inside each fold, and a run that switches the model family."""
import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_exp, run_python
from test_competitions import edit_config, set_runs
from test_predict import wine_competition
from test_competitions import write_competition

RECORDS = "data/output/exp/exp001"
TARGET_ENCODING = '''
import pandas as pd


def fit_fold(X, y, options):
    """Learn the mean target of each level of one column from the fold's train rows."""
    column = options.get("target_encode")
    if not column:
        return None
    means = pd.Series(y, index=X.index).groupby(X[column].astype(str)).mean()
    return {"column": column, "means": means.to_dict(), "prior": float(y.mean())}


def apply_fold(X, state, options):
    encoded = X[state["column"]].astype(str).map(state["means"]).fillna(state["prior"])
    return X.assign(**{state["column"] + "_te": encoded.astype("float32")})
'''


@pytest.fixture(scope="module")
def encoded(baked_project, tmp_path_factory):
    """Give a project whose run001 target-encodes a column inside each fold, and run002 does not (read-only)."""
    project = tmp_path_factory.mktemp("fold_features") / baked_project.name
    import shutil
    shutil.copytree(baked_project, project)
    train, test, _ = wine_competition()
    write_competition(project, train, test, pd.DataFrame({"id": test["id"], "cultivar": "barolo"}))
    edit_config(project, data__target="cultivar", metric="accuracy", cv__n_splits=3,
                model__params={"num_leaves": 7, "min_child_samples": 5, "verbosity": -1},
                model__num_boost_round=30, model__early_stopping_rounds=None)
    path = project / "exp/exp001/features.py"
    source = path.read_text()
    start = source.index("def fit_fold(X, y, options):")
    path.write_text(source[:start] + TARGET_ENCODING)
    set_runs(project, ["    features:\n      +target_encode: band", "    features:\n      +unused_switch: 1"])
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    return project, train


@pytest.mark.slow
def test_features_learned_in_a_fold_come_from_its_train_rows_only_and_each_fold_trains_on_its_own(encoded):
    project, train = encoded
    run = project / RECORDS / "run001"
    folds = pd.read_csv(run / "oof.csv")[["id", "fold"]].merge(train[["id", "band", "cultivar"]], on="id")
    classes = sorted(train["cultivar"].unique())
    for k in range(3):
        state = json.loads((run / f"models/fold{k}_features.json").read_text())
        fold_train = folds[folds["fold"] != k]
        codes = fold_train["cultivar"].map({c: i for i, c in enumerate(classes)})
        expected = codes.groupby(fold_train["band"].astype(str)).mean()
        assert state["column"] == "band"
        assert state["means"] == pytest.approx(expected.to_dict()), k
    # The three folds' features differ, so none may reuse another's bins: each is binned on its own.
    assert (run / "log.txt").read_text().count("lightgbm: binned") == 3
    importance = pd.read_csv(run / "importance.csv")
    assert "band_te" in set(importance["feature"])
    # A run without fold features shares one matrix (and bins) across its folds.
    assert not list((project / RECORDS / "run002/models").glob("*_features.json"))
    assert "band_te" not in set(pd.read_csv(project / RECORDS / "run002/importance.csv")["feature"])


@pytest.mark.slow
def test_predicting_from_the_record_applies_each_fold_s_saved_features(encoded, tmp_path):
    project, _ = encoded
    run = project / RECORDS / "run001"
    result = run_python(project, "exp/exp001/predict.py", "run001", "--test", "data/input/test.csv",
                        "--out", str(tmp_path / "submission.csv"), "--raw-out", str(tmp_path / "test_pred.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "submission.csv").read_text() == (run / "submission.csv").read_text()
    own, again = (pd.read_csv(p) for p in (run / "test_pred.csv", tmp_path / "test_pred.csv"))
    assert np.allclose(own.iloc[:, 1:], again.iloc[:, 1:], rtol=1e-12)


def test_a_run_switches_the_model_family_by_replacing_model_params(project):
    edit_config(project)
    set_runs(project,
             ["    model:\n      name: random_forest\n      =params:\n        n_estimators: 20\n        max_depth: 3"])
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    config = (project / RECORDS / "run001/config.yml").read_text()
    assert "n_estimators: 20" in config and "num_leaves" not in config
    assert json.loads((project / RECORDS / "run001/metrics.json").read_text())["model"] == "random_forest"


@pytest.mark.parametrize("snippet, message", [
    ("    =cv:\n      n_splits: 3", "=cv would replace the section cv whole"),
    ("    model:\n      =parms: {}",
     "=model.parms replaces a section config.yml does not have: model.parms (did you mean model.params?)"),
    ("    model:\n      =params: 3", "=model.params must be a section"),
])
def test_replacing_a_section_is_checked_as_strictly_as_adding_a_key(project, snippet, message):
    edit_config(project)
    set_runs(project, [snippet])
    result = run_exp(project)
    assert result.returncode == 2 and message in result.stderr, result.stdout + result.stderr
    assert not (project / RECORDS).exists()
