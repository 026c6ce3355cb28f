"""Real competitions: files in data/input plus an edited config.yml are all exp001 needs.

Each test turns a dataset scikit-learn ships into Kaggle-style train/test/sample_submission
files, edits only config.yml (RUNS too where a test says so), and trains one run.
"""
import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import datasets

from conftest import run_exp

RUN_DIR = "data/output/exp/exp001/run001"


# ---------------------------------------------------------------- helpers

def split_competition(frame, target, seed=0):
    """Give (train, test, answers) with an id column: a quarter of the rows is the test, its target the answers."""
    frame = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    frame.insert(0, "id", np.arange(1000, 1000 + len(frame)))
    n_test = len(frame) // 4
    return frame.iloc[n_test:], frame.iloc[:n_test].drop(columns=target), frame[target].iloc[:n_test]


def sklearn_competition(loader, target, labels=None):
    """Give (train, test, answers) from a scikit-learn dataset, the target renamed and its codes turned into labels."""
    frame = loader(as_frame=True).frame.rename(columns={"target": target})
    if labels:
        frame[target] = frame[target].map(dict(enumerate(labels)))
    return split_competition(frame, target)


def write_competition(project, train, test, sample, folder="data/input", fmt="csv"):
    """Write the three files where the config's data.dir points."""
    path = project / folder
    path.mkdir(parents=True, exist_ok=True)
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        (path / name).unlink(missing_ok=True)  # the iris example's files
    for name, frame in (("train", train), ("test", test), ("sample_submission", sample)):
        if fmt == "parquet":
            frame.to_parquet(path / f"{name}.parquet", index=False)
        else:
            frame.to_csv(path / f"{name}.csv", index=False)


def edit_config(project, **changes):
    """Set dotted keys (data__target -> data.target) in exp001's config.yml; boosting stays short."""
    path = project / "exp/exp001/config.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    changes = {"model__num_boost_round": 100, "model__early_stopping_rounds": 20, **changes}
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        section = config
        for parent in parents:
            section = section[parent]
        section[key] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def set_runs(project, snippets):
    """Replace the RUNS list of exp001's exp.py by these snippets."""
    path = project / "exp/exp001/exp.py"
    body = "".join(f'    """\n{snippet}\n    """,\n' for snippet in snippets)
    source, count = re.subn(r"^RUNS = \[\n.*?^\]\n", lambda _: f"RUNS = [\n{body}]\n", path.read_text(encoding="utf-8"),
                            flags=re.S | re.M)
    assert count == 1, "RUNS list not found in exp.py"
    path.write_text(source, encoding="utf-8")


def train_first_run(project):
    """Run exp001's run001; give (metrics, submission), asserting the run finished."""
    result = run_exp(project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    return read_first_run(project)


def read_first_run(project):
    run_dir = project / RUN_DIR
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return metrics, pd.read_csv(run_dir / "submission.csv", dtype={"id": str})


def assert_matches_sample(submission, sample):
    assert list(submission.columns) == list(sample.columns)
    assert submission["id"].tolist() == sample["id"].astype(str).tolist()
    assert not submission.isna().any().any()


def assert_probabilities(values):
    assert np.issubdtype(values.dtype, np.floating)
    assert ((values >= 0) & (values <= 1)).all()
    assert len(np.unique(values)) > 10  # real probabilities, not labels written as 0.0 / 1.0


# ---------------------------------------------------------------- tasks and submissions

@pytest.mark.slow
def test_binary_competition_with_text_labels_submits_labels(project):
    train, test, _ = sklearn_competition(datasets.load_breast_cancer, "diagnosis", labels=["malignant", "benign"])
    sample = pd.DataFrame({"id": test["id"], "diagnosis": "benign"})
    write_competition(project, train, test, sample)
    edit_config(project, data__target="diagnosis", task="binary", metric="accuracy")

    metrics, submission = train_first_run(project)

    assert_matches_sample(submission, sample)
    assert set(submission["diagnosis"]) == {"benign", "malignant"}
    assert metrics["cv"] > 0.9 and metrics["direction"] == "maximize"


def test_binary_auc_competition_submits_probabilities(project):
    train, test, _ = sklearn_competition(datasets.load_breast_cancer, "target")
    sample = pd.DataFrame({"id": test["id"], "target": 0.5})
    write_competition(project, train, test, sample)
    edit_config(project, data__target="target", task="binary", metric="auc")

    metrics, submission = train_first_run(project)

    assert_matches_sample(submission, sample)
    assert_probabilities(submission["target"])
    assert metrics["cv"] > 0.95


@pytest.mark.slow
def test_boolean_target_submits_True_and_False_as_the_sample_spells_them_on_a_large_test_file(project):
    # Spaceship Titanic's target is True/False. Files of 10,000 rows and more are written by pyarrow,
    # which would spell them true/false, and a submission must keep the sample's spelling.
    X, y = datasets.make_classification(n_samples=13_000, n_features=6, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(6)]).assign(Transported=y.astype(bool))
    train, test, _ = split_competition(frame.iloc[:1_000].copy(), "Transported")
    test = pd.concat([test, frame.iloc[1_000:].drop(columns="Transported").assign(id=np.arange(5_000, 17_000))])
    sample = pd.DataFrame({"id": test["id"], "Transported": False})
    write_competition(project, train, test, sample)
    edit_config(project, data__target="Transported", task="binary", metric="accuracy")

    metrics, submission = train_first_run(project)

    assert_matches_sample(submission, sample)
    lines = (project / RUN_DIR / "submission.csv").read_text().splitlines()
    assert len(lines) == len(sample) + 1 and {line.rsplit(",", 1)[1] for line in lines[1:]} == {"True", "False"}
    oof = (project / RUN_DIR / "oof.csv").read_text().splitlines()
    assert oof[0] == "id,fold,Transported,pred" and {line.split(",")[2] for line in oof[1:]} == {"True", "False"}
    assert metrics["cv"] > 0.8


@pytest.mark.slow
def test_multiclass_competition_in_a_subfolder_submits_labels(project):
    train, test, _ = sklearn_competition(datasets.load_wine, "cultivar", labels=["barolo", "grignolino", "barbera"])
    sample = pd.DataFrame({"id": test["id"], "cultivar": "barolo"})
    write_competition(project, train, test, sample, folder="data/input/wine")
    edit_config(project, data__dir="data/input/wine", data__target="cultivar", task="multiclass", metric="accuracy")

    metrics, submission = train_first_run(project)

    assert_matches_sample(submission, sample)
    assert set(submission["cultivar"]) == {"barolo", "grignolino", "barbera"}
    assert metrics["cv"] > 0.85


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["", "cultivar_"], ids=["class_names", "target_prefixed"])
def test_multiclass_logloss_submits_one_probability_column_per_class_in_sample_order(project, prefix):
    train, test, answers = sklearn_competition(datasets.load_wine, "cultivar",
                                               labels=["barolo", "grignolino", "barbera"])
    columns = [f"{prefix}{label}" for label in ("grignolino", "barbera", "barolo")]  # not in sorted order
    sample = pd.DataFrame({"id": test["id"], **{c: 1 / 3 for c in columns}})
    write_competition(project, train, test, sample)
    edit_config(project, data__target="cultivar", task="multiclass", metric="logloss")

    metrics, submission = train_first_run(project)

    assert_matches_sample(submission, sample)
    for c in columns:
        assert_probabilities(submission[c])
    assert np.allclose(submission[columns].sum(axis=1), 1)
    # Each column holds its own class: the likeliest column is mostly the test row's true class.
    assert (submission[columns].idxmax(axis=1) == prefix + answers.to_numpy()).mean() > 0.85
    assert metrics["cv"] < 0.5 and metrics["direction"] == "minimize"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_regression_competition_submits_numbers(project, fmt):
    train, test, _ = sklearn_competition(datasets.load_diabetes, "progression")
    sample = pd.DataFrame({"id": test["id"], "progression": 0.0})
    write_competition(project, train, test, sample, fmt=fmt)
    edit_config(project, data__train=f"train.{fmt}", data__test=f"test.{fmt}",
                data__sample_submission=f"sample_submission.{fmt}",
                data__target="progression", task="regression", metric="r2")

    metrics, submission = train_first_run(project)

    assert_matches_sample(submission, sample)
    assert submission["progression"].between(25, 346).all()  # within the target's range
    assert submission["progression"].nunique() > 20
    assert metrics["cv"] > 0.2


# ---------------------------------------------------------------- features

@pytest.mark.slow
def test_text_and_integer_categories_with_missing_values_and_unseen_test_categories_train(project):
    rng = np.random.default_rng(0)
    n = 800
    frame = pd.DataFrame({
        "city": rng.choice(["tokyo", "osaka", "kyoto", "nagoya"], n).astype(object),  # text, not declared
        "shop_code": rng.integers(0, 8, n),                                             # integer codes, declared
        "amount": rng.normal(100, 20, n),
    })
    # Codes 1, 4 and 6 share nothing a numeric split can find: only categories learn this (~0.8 as numbers).
    frame["bought"] = np.where(frame["city"].isin(["tokyo", "kyoto"]) ^ frame["shop_code"].isin([1, 4, 6]), "yes", "no")
    frame.loc[rng.random(n) < 0.1, "city"] = np.nan
    frame.loc[rng.random(n) < 0.1, "amount"] = np.nan
    train, test, _ = split_competition(frame, "bought")
    # leading zeros must survive
    train, test = (part.assign(id=part["id"].map("{:06d}".format)) for part in (train, test))
    test.iloc[:5, test.columns.get_loc("city")] = "sapporo"      # a category only test has
    test.iloc[5:10, test.columns.get_loc("shop_code")] = 99
    sample = pd.DataFrame({"id": test["id"], "bought": "no"})
    write_competition(project, train, test, sample)
    edit_config(project, data__target="bought", data__categorical=["shop_code"], task="binary", metric="accuracy")

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "non-numeric columns used as categorical features: city" in result.stdout
    metrics, submission = read_first_run(project)
    assert_matches_sample(submission, sample)
    assert set(submission["bought"]) == {"yes", "no"}
    assert metrics["cv"] > 0.9
    assert "categorical: city, shop_code" in (project / RUN_DIR / "log.txt").read_text(encoding="utf-8")
    assert "[categorical_feature: 0,1]" in (project / RUN_DIR / "models" / "fold0.txt").read_text(encoding="utf-8")


# ---------------------------------------------------------------- cross-validation and models

@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["group", "stratified_group"])
def test_group_cv_keeps_each_group_within_one_fold(project, scheme):
    train, test, _ = sklearn_competition(datasets.load_breast_cancer, "target")
    train = train.assign(patient=np.arange(len(train)) // 4)  # four rows per patient
    sample = pd.DataFrame({"id": test["id"], "target": 0})
    write_competition(project, train, test, sample)  # the test file needs no patient: it is dropped
    edit_config(project, data__target="target", data__drop=["patient"], task="binary", metric="accuracy",
                cv__scheme=scheme, cv__group="patient")

    metrics, _ = train_first_run(project)

    oof = pd.read_csv(project / RUN_DIR / "oof.csv").merge(train[["id", "patient"]], on="id")
    assert len(oof) == len(train)
    assert (oof.groupby("patient")["fold"].nunique() == 1).all()
    assert oof["fold"].nunique() == 5
    assert metrics["n_features"] == 30  # patient is dropped, not a feature
    folds = list((project / "data/output/folds").glob(f"{scheme}_k5_*.csv"))
    assert len(folds) == 1


@pytest.mark.slow
def test_scikit_learn_model_is_chosen_by_name(project):
    train, test, _ = sklearn_competition(datasets.load_breast_cancer, "target")
    sample = pd.DataFrame({"id": test["id"], "target": 0})
    write_competition(project, train, test, sample)
    edit_config(project, data__target="target", task="binary", metric="accuracy",
                model__name="random_forest", model__params={"n_estimators": 50, "max_depth": 6})
    set_runs(project, ["    model:\n      params:\n        max_depth: 4"])  # RUNS tune this model's params

    metrics, submission = train_first_run(project)

    assert_matches_sample(submission, sample)
    assert set(submission["target"]) == {0, 1}
    assert metrics["model"] == "random_forest" and metrics["cv"] > 0.9
    assert (project / RUN_DIR / "models" / "fold0.pkl").is_file()


@pytest.mark.slow
def test_lightgbm_params_left_for_a_scikit_learn_model_are_reported_before_training(project):
    edit_config(project, model__name="random_forest")

    result = run_exp(project, "--run", "1")

    assert result.returncode == 2
    assert "learning_rate, num_leaves" in result.stderr and "n_estimators" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project / RUN_DIR).exists()


# ---------------------------------------------------------------- errors

def test_missing_data_file_is_reported_with_its_path(project):
    (project / "data/input/train.csv").unlink()

    result = run_exp(project, "--run", "1")

    assert result.returncode == 2
    assert "data/input/train.csv" in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_target_column_lists_the_columns(project):
    edit_config(project, data__target="Survived")

    result = run_exp(project, "--run", "1")

    assert result.returncode == 2
    assert "no column 'Survived'" in result.stderr
    assert "sepal_length" in result.stderr and "species" in result.stderr and "data.target" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_target_name_in_the_wrong_case_gets_the_right_name_suggested(project):
    edit_config(project, data__target="Species")
    result = run_exp(project, "--dry-run")
    assert result.returncode == 0  # a dry run reads no data
    result = run_exp(project, "--run", "1")
    assert result.returncode == 2
    assert "no column 'Species' (did you mean 'species'?)" in result.stderr


def test_regression_target_left_as_multiclass_is_caught_before_training(project):
    train, test, _ = sklearn_competition(datasets.load_diabetes, "progression")
    write_competition(project, train, test, pd.DataFrame({"id": test["id"], "progression": 0.0}))
    edit_config(project, data__target="progression")  # task stays multiclass, as in the iris example

    result = run_exp(project)

    assert result.returncode == 2
    assert "it looks like a regression target. Fix: set task: regression" in result.stderr
    assert not (project / "data/output/exp").exists()


@pytest.mark.slow
def test_features_added_in_add_features_are_used(project):
    path = project / "exp/exp001/features.py"
    source = path.read_text(encoding="utf-8")
    stub = '''    return frame


# ----'''
    assert stub in source
    path.write_text(source.replace(stub, '''    frame["petal_area"] = frame["petal_length"] * frame["petal_width"]
    return frame


# ----'''), encoding="utf-8")

    metrics, _ = train_first_run(project)

    importance = pd.read_csv(project / RUN_DIR / "importance.csv")
    assert "petal_area" in importance["feature"].tolist()
    assert metrics["n_features"] == 5


@pytest.mark.slow
def test_text_column_unique_on_every_row_is_flagged_as_an_id(project):
    for name in ("train", "test"):
        path = project / f"data/input/{name}.csv"
        frame = pd.read_csv(path)
        frame["passenger_name"] = [f"name {i}" for i in frame["id"]]
        frame.to_csv(path, index=False)
    edit_config(project)

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stderr
    assert ("passenger_name: a different value on nearly every row, like an id or free text. Add it to data.drop"
            in result.stdout)
