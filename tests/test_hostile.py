"""Hostile inputs: values a model library refuses, data that drifts, paths that would escape the project.

Like tests/test_inputs.py, each case breaks one thing in a fresh copy of the baked iris project and
checks for one message (exit 2, no traceback, no run record) before any run trains.
"""
import ast
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_exp, run_python
from test_inputs import EXP_DIR, assert_refused, edit_config, edit_file, set_runs



# ---------------------------------------------------------------- values the model library refuses (preflight)

@pytest.mark.parametrize("snippet, phrases", [
    ("model:\n  params:\n    +max_bin: 1",
     ["run002: lightgbm refuses this run's settings (Check failed: (max_bin) > (1)", "The key is model.params.max_bin = 1"]),
    ("model:\n  params:\n    +num_class: 5",
     ["run002: lightgbm trained with these model.params predicts (5,) per row, but task multiclass needs (3,)",
      "The key is model.params.num_class = 5"]),
    ("model:\n  params:\n    +metric: auc",
     ["run002: lightgbm refuses this run's settings (Multiclass objective and metrics don't match)",
      "The key is model.params.metric = 'auc'"]),
    ("model:\n  name: xgboost\n  =params:\n    max_bin: 1",
     ["run002: xgboost refuses this run's settings (", "max_bin", "The key is model.params.max_bin = 1"]),
    ("model:\n  name: catboost\n  =params:\n    depth: 40",
     ["run002: catboost refuses this run's settings (", "Maximum tree depth is 16", "The key is model.params.depth = 40"]),
    ("model:\n  name: random_forest\n  =params:\n    n_estimators: 0",
     ["run002: random_forest refuses this run's settings (The 'n_estimators' parameter of RandomForestClassifier",
      "The key is model.params.n_estimators = 0"]),
])
def test_value_the_model_library_refuses_is_named_before_any_run_trains(project, snippet, phrases):
    edit_config(project)
    set_runs(project, "", snippet)  # run001 is fine: it must not train before run002's refusal

    result = run_exp(project)

    assert_refused(result, project, *phrases, "before any run trains")


# ---------------------------------------------------------------- values the libraries take without a word

@pytest.mark.parametrize("snippet, phrases", [
    ("model:\n  params:\n    learning_rate: 0", ["run001: model.params.learning_rate is 0, so the model would learn nothing"]),
    ("model:\n  params:\n    +objective: binary",
     ["run001: model.params.objective is 'binary', an objective for binary, but task is multiclass"]),
    ("model:\n  params:\n    +objective: regression",
     ["run001: model.params.objective is 'regression', an objective for regression, but task is multiclass"]),
    ("model:\n  num_boost_round: 0", ["run001: model.num_boost_round is 0; allowed: a whole number of at least 1"]),
    ("model:\n  num_boost_round: true", ["run001: model.num_boost_round is a number in config.yml (1000) but this run "
                                         "sets a true/false (true)"]),
    ("seed: 4294967296", ["run001: seed is 4294967296; allowed: a whole number from 0 to 2**32 - 1"]),
    ("model:\n  seeds: [0, 0]", ["run001: model.seeds is [0, 0]", "a repeated seed trains the same model twice"]),
    ("model:\n  early_stopping_rounds: 0", ["run001: model.early_stopping_rounds is 0; allowed: a whole number of at least 1"]),
    ("debug:\n  n_rows: 0", ["run001: debug.n_rows is 0; allowed: a whole number of rows, at least 1"]),
    ("cv:\n  seed: /../../../../tmp/x", ["run001: cv.seed is a number in config.yml (42) but this run sets a text"]),
])
def test_value_a_library_would_take_silently_is_refused_before_training(project, snippet, phrases):
    set_runs(project, snippet)

    result = run_exp(project, "--dry-run")

    assert_refused(result, project, *phrases)


@pytest.mark.parametrize("changes, phrases", [
    ({"model__params": [{"learning_rate": 0.1}]}, ["config.yml: model.params is [{'learning_rate': 0.1}]; allowed: a section"]),
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


# ---------------------------------------------------------------- nothing written over an input or a record

def predict(project, *args):
    return run_python(project, "exp/exp001/predict.py", *args)


@pytest.mark.parametrize("option, out", [
    ("--out", "data/input/submission.csv"), ("--out", "data/input/sub/x.csv"),
    ("--out", "data/output/exp/exp001/run001/models/extra.csv"), ("--raw-out", "data/output/exp/exp001/run001.failed/x.csv"),
    ("--raw-out", "data/output/blend/blend001/x.csv")])
def test_predict_never_writes_into_the_inputs_or_a_record(trained, option, out):
    (trained / out).parent.mkdir(parents=True, exist_ok=True)
    before = sorted(p for p in trained.rglob("*"))

    result = predict(trained, "run002", "--test", "data/input/test.csv", option, out)

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{option} {out} is inside data/" in result.stderr and "which holds inputs or finished records" in result.stderr
    assert sorted(p for p in trained.rglob("*")) == before


def test_predict_keeps_an_existing_file_unless_forced(trained, tmp_path):
    out = tmp_path / "submission.csv"
    out.write_text("mine\n")

    kept = predict(trained, "run002", "--test", "data/input/test.csv", "--out", str(out))
    forced = predict(trained, "run002", "--test", "data/input/test.csv", "--out", str(out), "--force")

    assert kept.returncode == 2 and "exists already. Fix: give another path, or --force" in kept.stderr, kept.stderr
    assert forced.returncode == 0, forced.stderr
    assert out.read_text() == (trained / "data/output/exp/exp001/run002/submission.csv").read_text()


def test_package_ships_by_allowlist_and_names_what_it_left_out(trained, tmp_path):
    from test_kaggle import dataset_folder, kaggle_cli, no_kaggle_env

    exp = trained / "exp" / "exp001"
    secrets = {"id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\n", ".netrc": "machine x password sk-secret\n",
               "service-account.json": '{"private_key": "sk-secret"}\n', "api_key.txt": "sk-secret\n",
               "settings.json": '{"type": "service_account", "private_key": "sk-secret"}\n'}
    for name, text in secrets.items():
        (exp / name).write_text(text)
    (exp / "notebook.ipynb").write_text("{}")
    (exp / "big.parquet").write_bytes(b"PAR1")
    (exp / "notes.md").write_text("what I tried\n")

    result = kaggle_cli(trained, "package", "exp001/run002", "--user", "alice", env=no_kaggle_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    code = dataset_folder(trained) / "code" / "exp001"
    shipped = {p.name for p in code.iterdir()}
    assert not shipped & {*secrets, "notebook.ipynb", "big.parquet"} and "notes.md" in shipped
    assert not [p for p in dataset_folder(trained).rglob("*") if p.is_file() and "sk-secret" in p.read_text(errors="replace")]
    assert f"left out {len(secrets)} secret-looking file(s)" in result.stdout
    assert "left out 2 file(s) a notebook does not need" in result.stdout and "exp/exp001/notebook.ipynb" in result.stdout, result.stdout


# ---------------------------------------------------------------- data as it really drifts

def text_in(name, column, values):
    def change(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[: len(values) - 1, column] = values
        return frame
    return name, change


@pytest.mark.parametrize("edits, changes, phrases", [
    ([text_in("test.csv", "sepal_width", ["3,1", "abc"])], {},
     ["column 'sepal_width' holds numbers in data/input/train.csv but text in data/input/test.csv ('3,1', 'abc' on 2 rows)",
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
    """Give the number of test cases in `path` that feed a bad input and expect its message (they call assert_refused)."""
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


# ---------------------------------------------------------------- the template's own inputs

def test_project_name_too_long_for_a_folder_is_refused_before_anything_is_written(cookies, capfd, tmp_path):
    result = cookies.bake(extra_context={"project_name": "My very long competition " * 12, "verify_example": "no"})

    assert result.exit_code != 0
    assert "makes a folder name longer than 100 characters, too long for a project folder" in capfd.readouterr().err
    assert not any((tmp_path / "cookies" / "bake00").iterdir())


def test_switch_competition_names_a_latin1_file_instead_of_a_traceback(project):
    path = project / "data/input/train.csv"
    path.write_bytes(path.read_bytes().replace(b"setosa", "sétosa".encode("latin-1")))

    result = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug")

    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "data/input/train.csv is not UTF-8 text (byte b'\\xe9' at position" in result.stderr
    assert "Fix: save it as UTF-8, e.g. iconv -f latin1 -t utf-8 train.csv > utf8.csv" in result.stderr


# ---------------------------------------------------------------- new_exp.py cleans up after itself

INTERRUPTED_COPY = """
import runpy, shutil, sys
copytree = shutil.copytree
def copy_then_stop(*args, **kwargs):  # Ctrl-C once the hidden copy exists, before its rename
    copytree(*args, **kwargs)
    raise KeyboardInterrupt
shutil.copytree = copy_then_stop
sys.argv = ["scripts/new_exp.py"]
sys.path.insert(0, "scripts")
runpy.run_path("scripts/new_exp.py", run_name="__main__")
"""


def test_new_exp_interrupted_leaves_neither_its_hidden_copy_nor_an_empty_folder(project):
    result = subprocess.run([sys.executable, "-c", INTERRUPTED_COPY], cwd=project, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == 130 and "interrupted: nothing was created" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in (project / "exp").iterdir()) == ["exp001"]


def test_new_exp_removes_what_a_killed_new_exp_left_on_its_next_start(project):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    hidden = project / "exp" / f".exp002.{socket.gethostname()}.{gone.pid}.0123abcd.tmp"
    shutil.copytree(project / "exp/exp001", hidden)
    claimed = project / "exp/exp002"
    claimed.mkdir()
    os.utime(claimed, (time.time() - 600, time.time() - 600))

    result = run_python(project, "scripts/new_exp.py")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "left by an interrupted new_exp.py" in result.stdout and "created exp/exp002 from exp/exp001" in result.stdout
    assert sorted(p.name for p in (project / "exp").iterdir()) == ["exp001", "exp002"]


# ---------------------------------------------------------------- a full disk under a model library

def test_full_disk_while_a_library_saves_a_model_is_reported_as_a_write_error(project, tmp_path):
    from test_parallel import fake_file_system

    edit_config(project)
    # XGBoost and CatBoost write to a full disk without a word; the probe beside the model meets the error.
    env = fake_file_system(tmp_path, "'run002' in p and p.endswith('.write-probe')", "ENOSPC")

    result = run_exp(project, env=env)

    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert re.search(r"failed: run002: No space left on device while writing data/output/exp/exp001/\S*run002\S*/models/fold0",
                     result.stdout), result.stdout
    assert sorted(p.name for p in (project / "data/output/exp/exp001").iterdir()) == ["run001", "run002.failed", "run003"]


# ---------------------------------------------------------------- a hand-edited status.json

def test_unreadable_status_json_is_named_once_and_the_other_records_still_show(trained, tmp_path):
    (trained / "data/output/exp/exp001/run002/status.json").write_text('{"status": "done", "cv": 0.9')  # cut short
    named = "data/output/exp/exp001/run002/status.json cannot be read"

    listed = run_exp(trained, "--list")
    board = run_python(trained, "scripts/leaderboard.py", "--no-plot")
    blended = run_python(trained, "scripts/blend.py", "exp001/run001", "exp001/run002")
    predicted = run_python(trained, "exp/exp001/predict.py", "run002", "--test", "data/input/test.csv",
                           "--out", str(tmp_path / "submission.csv"))
    trained_again = run_exp(trained)

    assert listed.returncode == 0 and listed.stderr.count(named) == 1, listed.stdout + listed.stderr
    assert re.search(r"run001  done .*\nrun002  unreadable .*\nrun003  done ", listed.stdout), listed.stdout
    assert board.returncode == 0 and board.stderr.count(named) == 1, board.stdout + board.stderr
    assert "run001" in board.stdout and "run003" in board.stdout
    for result in (blended, predicted):
        assert result.returncode == 2 and named in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert trained_again.returncode == 2 and "run002: the status.json of the record cannot be read" in trained_again.stderr


# ---------------------------------------------------------------- signals from exp.py's first line

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_exp_py_imports_its_own_modules_ends_without_a_traceback(project, signum):
    path = project / EXP_DIR / "exp.py"
    slow_imports = "import runner\nimport time; open('imported', 'w').close(); time.sleep(30)  # the user's slow imports\n"
    path.write_text(path.read_text().replace("import runner\n", slow_imports))
    from test_parallel import start_exp, wait_for
    process = start_exp(project)
    wait_for(project / "imported")

    process.send_signal(signum)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 128 + signum, out + err
    assert "Traceback" not in err and "interrupted before any run started" in err, err
