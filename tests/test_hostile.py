"""Hostile inputs: values a model library refuses, values it takes silently, data that drifts
(edges: test_hostile_edges.py).

Like tests/test_inputs.py, each case breaks one thing in a fresh copy of the baked iris project and
checks for one message (exit 2, no traceback, no run record) before any run trains.
"""
import ast
import json
import re
from pathlib import Path

import pytest

from conftest import run_exp, run_python
from test_inputs import assert_refused, edit_config, edit_file, set_runs

pytestmark = pytest.mark.slow  # each bad input goes through exp.py's preflight



# ---------------------------------------------------------------- values the model library refuses (preflight)

@pytest.mark.parametrize("snippet, phrases", [
    ("model:\n  params:\n    +max_bin: 1",
     ["run002: lightgbm refuses this run's settings (Check failed: (max_bin) > (1)",
      "The key is model.params.max_bin = 1"]),
    ("model:\n  params:\n    +num_class: 5",
     ["run002: lightgbm trained with these model.params predicts (5,) per row, but task multiclass needs (3,)",
      "The key is model.params.num_class = 5"]),
    ("model:\n  params:\n    +metric: auc",
     ["run002: lightgbm refuses this run's settings (Multiclass objective and metrics don't match)",
      "The key is model.params.metric = 'auc'"]),
    ("model:\n  name: xgboost\n  =params:\n    max_bin: 1",
     ["run002: xgboost refuses this run's settings (", "max_bin", "The key is model.params.max_bin = 1"]),
    ("model:\n  name: catboost\n  =params:\n    depth: 40",
     ["run002: catboost refuses this run's settings (", "Maximum tree depth is 16",
      "The key is model.params.depth = 40"]),
    ("model:\n  name: random_forest\n  =params:\n    n_estimators: 0",
     ["run002: random_forest refuses this run's settings (The 'n_estimators' parameter of RandomForestClassifier",
      "The key is model.params.n_estimators = 0"]),
])
def test_value_the_model_library_refuses_is_named_before_any_run_trains(project, snippet, phrases):
    edit_config(project)
    set_runs(project, "", snippet)  # run001 is fine: it must not train before run002's refusal

    result = run_exp(project)

    assert_refused(result, project, *phrases, "before any run trains")


PREFLIGHT_COUNT = """
import copy, json
import yaml
import data
from runner.util import ConfigError
from tabular import preflight

tried, refused = [], []
real = preflight.try_settings
preflight.try_settings = lambda cfg, dataset: tried.append(1) or real(cfg, dataset)
cfg = yaml.safe_load(open("exp/exp001/config.yml"))
dataset = data.load_data(cfg)
preflight.preflight(cfg, dataset)
preflight.preflight({**cfg, "cv": {**cfg["cv"], "seed": 7}}, dataset)  # other folds: the same settings
other = copy.deepcopy(cfg)
other["model"]["params"]["num_leaves"] = 7
preflight.preflight(other, dataset)
other["model"]["params"]["max_bin"] = 1
for _ in range(2):
    try:
        preflight.preflight(other, dataset)
    except ConfigError:
        refused.append(1)
print(json.dumps({"tried": len(tried), "refused": len(refused)}))
"""


def test_the_preflight_tries_each_distinct_model_setting_once_and_a_refused_one_every_time(project):
    (project / "exp/exp001/preflight_count.py").write_text(PREFLIGHT_COUNT)

    result = run_python(project, "exp/exp001/preflight_count.py")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"tried": 4, "refused": 2}


# ---------------------------------------------------------------- values the libraries take without a word

@pytest.mark.parametrize("snippet, phrases", [
    ("model:\n  params:\n    learning_rate: 0",
     ["run001: model.params.learning_rate is 0, so the model would learn nothing"]),
    ("model:\n  params:\n    +objective: binary",
     ["run001: model.params.objective is 'binary', an objective for binary, but task is multiclass"]),
    ("model:\n  params:\n    +objective: regression",
     ["run001: model.params.objective is 'regression', an objective for regression, but task is multiclass"]),
    ("model:\n  name: xgboost\n  =params:\n    eval_metric: logloss",
     ["run001: model.params.eval_metric 'logloss' scores binary, but task is multiclass"]),
    ("model:\n  num_boost_round: 0", ["run001: model.num_boost_round is 0; allowed: a whole number of at least 1"]),
    ("model:\n  num_boost_round: true", ["run001: model.num_boost_round is a number in config.yml (1000) but this run "
                                         "sets a true/false (true)"]),
    ("seed: 4294967296", ["run001: seed is 4294967296; allowed: a whole number from 0 to 2**32 - 1"]),
    ("model:\n  seeds: [0, 0]", ["run001: model.seeds is [0, 0]", "a repeated seed trains the same model twice"]),
    ("model:\n  early_stopping_rounds: 0",
     ["run001: model.early_stopping_rounds is 0; allowed: a whole number of at least 1"]),
    ("debug:\n  n_rows: 0", ["run001: debug.n_rows is 0; allowed: a whole number of rows, at least 1"]),
    ("cv:\n  seed: /../../../../tmp/x", ["run001: cv.seed is a number in config.yml (42) but this run sets a text"]),
])
def test_value_a_library_would_take_silently_is_refused_before_training(project, snippet, phrases):
    set_runs(project, snippet)

    result = run_exp(project, "--dry-run")

    assert_refused(result, project, *phrases)


@pytest.mark.parametrize("changes, phrases", [
    ({"model__params": [{"learning_rate": 0.1}]},
     ["config.yml: model.params is [{'learning_rate': 0.1}]; allowed: a section"]),
    ({"cv__seed": "/../../../../tmp/x"}, ["config.yml: cv.seed is '/../../../../tmp/x'; allowed: a whole number"]),
])
def test_bad_value_in_config_yml_is_blamed_on_config_yml(project, changes, phrases):
    edit_config(project, **changes)

    result = run_exp(project)

    assert_refused(result, project, *phrases)
    assert not (project / "tmp").exists() and not (project / "data/output/folds").exists()


def test_empty_run_option_names_no_run_instead_of_all(project):
    result = run_exp(project, "--run", "")

    assert_refused(result, project, "--run : cannot read ''")


def test_cv_group_with_dots_never_reaches_a_path(project):
    edit_file(project, "train.csv", lambda frame: frame.rename(columns={"sepal_width": "../../../escape"}))
    edit_file(project, "test.csv", lambda frame: frame.rename(columns={"sepal_width": "../../../escape"}))
    edit_config(project, cv__scheme="group", cv__group="../../../escape")

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    written = [p.name for p in (project / "data/output/folds").iterdir()]
    assert len(written) == 1 and written[0].startswith("group_k5_") and ".." not in written[0]
    assert not list(project.parent.glob("**/escape*"))


# ---------------------------------------------------------------- data as it really drifts

def text_in(name, column, values):
    def change(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[: len(values) - 1, column] = values
        return frame
    return name, change


@pytest.mark.parametrize("edits, changes, phrases", [
    ([text_in("test.csv", "sepal_width", ["3,1", "abc"])], {},
     ["column 'sepal_width' holds numbers in data/input/train.csv but text in data/input/test.csv ('3,1', "
      "'abc' on 2 rows)",
      "Fix: clean it in add_features"]),
    ([text_in("train.csv", "petal_width", ["?"])], {},
     ["column 'petal_width' holds numbers in data/input/test.csv but text in data/input/train.csv ('?' on 1 rows)"]),
    ([("train.csv", lambda f: f.assign(species=f["species"].where(f.index != 3, " Setosa")))], {},
     ["target 'species' has labels that differ only by spaces or case", "' Setosa'", "'setosa'"]),
    ([("train.csv", lambda f: f.assign(petal_length=f["petal_length"].where(f.index != 5, float("inf"))))], {},
     ["data/input/train.csv: column 'petal_length' has 1 infinite values (inf)", "replace([np.inf, -np.inf], np.nan)"]),
    ([("test.csv", lambda f: f.assign(sepal_length=f["sepal_length"].where(f.index != 0, float("-inf"))))], {},
     ["data/input/test.csv: column 'sepal_length' has 1 infinite values (-inf)"]),
    ([("train.csv", lambda f: f.assign(species=(f.index % 4).astype(float)))],
     {"task": "regression", "metric": "mape", "cv__scheme": "kfold"},
     ["target 'species' is 0 on 30 rows, and metric mape divides by the target", "Fix: set metric to smape or mae"]),
])
def test_data_that_drifts_is_named_before_training(project, edits, changes, phrases):
    for name, change in edits:
        edit_file(project, name, change)
    edit_config(project, **changes)

    result = run_exp(project)

    assert_refused(result, project, *phrases)


# ---------------------------------------------------------------- the README's count, from the test files

def bad_inputs(path):
    """Give the number of test cases in `path` that feed a bad input and expect its message (they call assert_refused).
    """
    total = 0
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")) or not any(
                isinstance(n, ast.Call) and getattr(n.func, "id", None) == "assert_refused" for n in ast.walk(node)):
            continue
        cases = 1
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", None) == "parametrize":
                cases *= len(decorator.args[1].elts)
        total += cases
    return total


def test_readme_counts_the_bad_inputs_the_tests_feed():
    tests = Path(__file__).parent
    count = bad_inputs(tests / "test_inputs.py") + bad_inputs(tests / "test_hostile.py")
    readme = (tests.parent / "README.md").read_text(encoding="utf-8")

    said = re.search(r"`tests/test_inputs.py` and `tests/test_hostile.py` feed it (\d+) bad inputs", readme)

    assert said and int(said.group(1)) == count, f"README.md should say: feed it {count} bad inputs"


def test_lightgbm_on_a_gpu_trains_there_or_says_why_not_before_training(project):
    edit_config(project, model__device="gpu")
    set_runs(project, "")

    result = run_exp(project)

    if result.returncode == 0:  # a machine with LightGBM's GPU build and a GPU
        return
    assert_refused(result, project, "run001: model.device is gpu, but lightgbm cannot train on a GPU here (",
                   "Fix: install lightgbm's GPU build", "or set model.device: cpu")
    assert "runs on the CPU only" not in result.stderr

