"""Predicting from a finished run's record: exp/expNNN/predict.py and scripts/predict_blend.py.

One session project trains every model family once on a multiclass competition with a text
categorical column (few rounds, three folds); the iris example's trained record covers the rest.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

import conftest
from conftest import run_exp
from test_competitions import edit_config, set_runs, write_competition

RECORDS = "data/output/exp/exp001"
CLASSES = ["barolo", "grignolino", "barbera"]
FAMILIES = {  # run -> model.name and a few params: the tests check predictions, not accuracy
    "run001": ("lightgbm", {"num_leaves": 7, "min_child_samples": 5, "verbosity": -1}),
    "run002": ("xgboost", {"max_depth": 3, "learning_rate": 0.3}),
    "run003": ("catboost", {"depth": 4, "learning_rate": 0.3}),
    "run004": ("logistic_regression", {"max_iter": 500}),
}


def wine_competition():
    """Give (train, test, sample): wine with a text column of three levels and missing values, sample in class columns.
    """
    wine = datasets.load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine["cultivar"] = wine["cultivar"].map(dict(enumerate(CLASSES)))
    wine.insert(0, "band", pd.cut(wine["alcohol"], [0, 12.5, 13.5, 99], labels=["low", "mid", "high"]).astype(object))
    wine.loc[::9, "band"] = np.nan
    wine = wine.sample(frac=1, random_state=0).reset_index(drop=True)
    wine.insert(0, "id", np.arange(1000, 1000 + len(wine)))
    n_test = len(wine) // 3
    train, test = wine.iloc[n_test:], wine.iloc[:n_test].drop(columns="cultivar")
    sample = pd.DataFrame({"id": test["id"], **{c: 1 / 3 for c in ("grignolino", "barbera", "barolo")}})
    return train, test, sample


@pytest.fixture(scope="session")
def families(baked_project, tmp_path_factory):
    """Give a project whose exp001 trained lightgbm, xgboost, catboost and logistic regression (read-only)."""
    project = tmp_path_factory.mktemp("predict_families") / baked_project.name
    shutil.copytree(baked_project, project)
    write_competition(project, *wine_competition())
    edit_config(project, data__target="cultivar", metric="logloss", cv__n_splits=3, model__params={},
                model__num_boost_round=30, model__early_stopping_rounds=10)
    snippets = []
    for name, params in FAMILIES.values():
        lines = "\n".join(f"        +{k}: {json.dumps(v)}" for k, v in params.items())
        snippets.append(f"    model:\n      name: {name}\n      params:\n{lines}")
    set_runs(project, snippets)
    result = run_exp(project, env={"KAGGLE_EXP_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def predict(project, *args, env=None, bytecode=False):
    return run_python(project, "exp/exp001/predict.py", *args, env=env, bytecode=bytecode)


def run_python(project, script, *args, env=None, bytecode=False):
    """conftest's run_python; bytecode=True lets Python write __pycache__ as it does by default for a user."""
    if not bytecode:
        return conftest.run_python(project, script, *args, env=env)
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    full_env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run([sys.executable, str(project / script), *args], cwd=project, env=full_env,
                          capture_output=True, text=True, timeout=300)


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def read_pred(path):
    return pd.read_csv(path, dtype={"id": str}).set_index("id")


def refused(result, *phrases):
    """True when the command stopped with exit code 2 and one line of message (no traceback) holding every phrase."""
    lines = result.stderr.strip().splitlines()
    return (result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")
            and all(p in lines[0] for p in phrases))


# ---------------------------------------------------------------- the run's own test file

@pytest.mark.slow
@pytest.mark.parametrize("run", list(FAMILIES))
def test_prediction_of_the_runs_own_test_file_is_its_test_pred_and_submission(families, run, tmp_path):
    record = families / RECORDS / run
    before = files_under(families)

    result = predict(families, run, "--test", "data/input/test.csv", "--out", str(tmp_path / "submission.csv"),
                     "--raw-out", str(tmp_path / "test_pred.csv"), bytecode=True)

    assert result.returncode == 0, result.stdout + result.stderr
    own, again = read_pred(record / "test_pred.csv"), read_pred(tmp_path / "test_pred.csv")
    assert list(again.columns) == [f"pred_{c}" for c in sorted(CLASSES)] and again.index.equals(own.index)
    assert np.allclose(again.to_numpy(), own.to_numpy(), rtol=1e-12, atol=1e-15), FAMILIES[run][0]
    assert (tmp_path / "submission.csv").read_text() == (record / "submission.csv").read_text(), FAMILIES[run][0]
    assert files_under(families) == before  # nothing written beside the code or into the record (no __pycache__)


@pytest.mark.slow
@pytest.mark.parametrize("run", list(FAMILIES))
def test_each_row_of_a_shuffled_subset_with_fewer_levels_predicts_as_in_the_full_file(families, run, tmp_path):
    test = pd.read_csv(families / "data/input/test.csv", dtype={"id": str})
    subset = test[test["band"] != "high"].sample(frac=0.6, random_state=1)  # "high" is gone, rows in another order
    # A row whose level train never had predicts as it did with the level missing.
    missing = test[test["band"].isna()].iloc[0]
    subset = pd.concat([subset[subset["id"] != missing["id"]], missing.to_frame().T.assign(band="huge")])
    subset.to_csv(tmp_path / "subset.csv", index=False)
    assert set(subset["band"].dropna()) - {"huge"} == {"low", "mid"} and len(subset) < len(test)

    result = predict(families, run, "--test", str(tmp_path / "subset.csv"), "--raw-out", str(tmp_path / "pred.csv"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rows of band have values train does not have (huge); they count as missing" in result.stdout
    full, part = read_pred(families / RECORDS / run / "test_pred.csv"), read_pred(tmp_path / "pred.csv")
    assert list(part.index) == list(subset["id"])
    assert np.allclose(part.to_numpy(), full.loc[part.index].to_numpy(), rtol=1e-12, atol=1e-15), FAMILIES[run][0]


@pytest.mark.slow
def test_regression_scored_by_qwk_submits_the_same_whole_numbers_as_its_run(project, tmp_path):
    diabetes = datasets.load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    diabetes.insert(0, "id", np.arange(len(diabetes)))
    train, test = diabetes.iloc[100:], diabetes.iloc[:100].drop(columns="progression")
    write_competition(project, train, test, pd.DataFrame({"id": test["id"], "progression": 0}))
    edit_config(project, data__target="progression", task="regression", metric="qwk", cv__n_splits=3,
                model__num_boost_round=30, model__early_stopping_rounds=10)
    set_runs(project, [""])
    assert run_exp(project).returncode == 0

    result = predict(project, "run001", "--test", "data/input/test.csv", "--out", str(tmp_path / "submission.csv"))

    assert result.returncode == 0, result.stdout + result.stderr
    own = (project / RECORDS / "run001" / "submission.csv").read_text()
    assert (tmp_path / "submission.csv").read_text() == own
    values = pd.read_csv(tmp_path / "submission.csv")["progression"]
    assert (values == values.round()).all() and values.between(train["progression"].min(),
                                                               train["progression"].max()).all()


# ---------------------------------------------------------------- the run's saved code

@pytest.mark.parametrize("edited", [["model.py"], ["model.py", "data.py", "predict.py"]])
def test_run_whose_code_was_edited_after_training_predicts_with_its_saved_code(trained, tmp_path, edited):
    for name in edited:
        with open(trained / "exp" / "exp001" / name, "a") as f:
            f.write('\nraise RuntimeError("edited after training")\n' if name != "predict.py" else "\n# edited\n")

    result = predict(trained, "run002", "--test", "data/input/test.csv", "--out", str(tmp_path / "submission.csv"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert ("predicting with the run's saved code" in result.stdout) == ("predict.py" in edited)
    own = trained / RECORDS / "run002" / "submission.csv"
    assert (tmp_path / "submission.csv").read_text() == own.read_text()


# ---------------------------------------------------------------- bad input

def without_column(project, tmp_path):
    pd.read_csv(project / "data/input/test.csv").drop(columns="petal_width").to_csv(tmp_path / "t.csv", index=False)
    return ["run002", "--test", str(tmp_path / "t.csv")]


def fewer_rows(project, tmp_path):
    pd.read_csv(project / "data/input/test.csv").head(10).to_csv(tmp_path / "t.csv", index=False)
    return ["run002", "--test", str(tmp_path / "t.csv")]


@pytest.mark.parametrize("make_args, phrases", [
    (lambda project, tmp: ["run002", "--test", "data/input/hidden_test.csv"],
     ["--test data/input/hidden_test.csv: file not found"]),
    (without_column, ["t.csv: no column 'petal_width' (did you mean 'sepal_width'?)", "Columns are: id, sepal_length"]),
    (fewer_rows, ["sample_submission.csv: 20 of its 30 ids are not in", "t.csv"]),
    (lambda project, tmp: ["run004", "--test", "data/input/test.csv"],
     ["exp001/run004 is not a finished run", "python exp/exp001/exp.py --run run004"]),
    (lambda project, tmp: ["--run-dir", str(project / RECORDS / "run002" / "src"), "--test", "data/input/test.csv"],
     ["is not a finished run", "status.json is missing"]),
])
def test_bad_input_is_one_line_that_says_what_and_where(trained_project, tmp_path, make_args, phrases):
    out = tmp_path / "submission.csv"
    result = predict(trained_project, *make_args(trained_project, tmp_path), "--out", str(out))
    assert refused(result, *phrases), result.stdout + result.stderr
    assert not out.exists()


def test_output_that_would_overwrite_the_runs_record_or_the_test_file_is_refused(trained_project):
    record = trained_project / RECORDS / "run002"
    for out in (record / "submission.csv", trained_project / "data/input/test.csv"):
        before = out.read_bytes()
        result = predict(trained_project, "run002", "--test", "data/input/test.csv", "--out", str(out))
        assert refused(result, "would overwrite the test file, the sample or the run's record"), result.stderr
        assert out.read_bytes() == before


# ---------------------------------------------------------------- where the data lives

@pytest.mark.slow
def test_data_dir_from_the_environment_is_read_instead_of_data_dir(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(project / "data" / "input", elsewhere)
    env = {"KAGGLE_EXP_DATA_DIR": str(elsewhere)}

    trained = run_exp(project, "--run", "1", env=env)
    unset = run_exp(project, "--run", "2")

    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert unset.returncode != 0 and "data file not found: data/input/train.csv" in unset.stderr
    out = tmp_path / "submission.csv"  # the sample comes from there too
    result = predict(project, "run001", "--test", str(elsewhere / "test.csv"), "--out", str(out), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_text() == (project / RECORDS / "run001" / "submission.csv").read_text()


def test_a_missing_file_under_the_environments_data_dir_names_the_variable(project, tmp_path):
    result = run_exp(project, "--run", "1", env={"KAGGLE_EXP_DATA_DIR": str(tmp_path / "nowhere")})
    assert result.returncode != 0
    assert f"data file not found: {tmp_path / 'nowhere' / 'train.csv'}" in result.stderr
    assert "unset KAGGLE_EXP_DATA_DIR" in result.stderr


# ---------------------------------------------------------------- blends

@pytest.mark.slow
def test_blend_predicts_its_own_submission_with_labels(trained, tmp_path):
    made = run_python(trained, "scripts/blend.py", "exp001/run001", "exp001/run003", "--weights", "0.7,0.3")
    assert made.returncode == 0, made.stdout + made.stderr

    result = run_python(trained, "scripts/predict_blend.py", "blend001", "--test", "data/input/test.csv",
                        "--out", str(tmp_path / "submission.csv"), bytecode=True)

    assert result.returncode == 0, result.stdout + result.stderr
    own = trained / "data/output/blend/blend001/submission.csv"
    assert (tmp_path / "submission.csv").read_text() == own.read_text()
    assert "exp001/run001 x0.700, exp001/run003 x0.300" in result.stdout
    assert not list((trained / "data/output").rglob("__pycache__"))  # the records stay as they were


@pytest.mark.slow
def test_blend_of_two_families_predicts_its_own_probabilities(families, tmp_path):
    made = run_python(families, "scripts/blend.py", "exp001/run001", "exp001/run003", "--name", "probabilities")
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        result = run_python(families, "scripts/predict_blend.py", "probabilities", "--test", "data/input/test.csv",
                            "--out", str(tmp_path / "submission.csv"))
        own = (families / "data/output/blend/probabilities/submission.csv").read_text()
    finally:
        shutil.rmtree(families / "data/output/blend")  # the session project stays as it was
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "submission.csv").read_text() == own
    sub = pd.read_csv(tmp_path / "submission.csv", dtype={"id": str})
    assert list(sub.columns) == ["id", "grignolino", "barbera", "barolo"]
    assert np.allclose(sub[["grignolino", "barbera", "barolo"]].sum(axis=1), 1)


@pytest.mark.slow
def test_blend_of_a_run_that_cannot_predict_the_file_says_which(trained, tmp_path):
    assert run_python(trained, "scripts/blend.py", "exp001/run001", "exp001/run002").returncode == 0
    pd.read_csv(trained / "data/input/test.csv").drop(columns="sepal_length").to_csv(tmp_path / "t.csv", index=False)

    result = run_python(trained, "scripts/predict_blend.py", "blend001", "--test", str(tmp_path / "t.csv"),
                        "--out", str(tmp_path / "submission.csv"))

    assert result.returncode == 2
    assert "no column 'sepal_length'" in result.stderr
    assert "exp001/run001 could not predict" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "submission.csv").exists()
