"""`kaggle_cli.py notebook expNNN/runNNN --server`: a notebook that serves predict(batch) to the competition's
evaluation gateway, run against a small gateway of our own (tests/toy_gateway/kaggle_evaluation/).

The toy package has the shape of Kaggle's (`<X>InferenceServer(predict)`, `serve()` on a rerun,
`run_local_gateway()` otherwise) and the gateway's duties: it sends the public test in shuffled batches of varying
sizes (one of a single row) with the sample's rows for each, pickled across a pipe as gRPC would serialize them,
gives the first answer a start-up deadline and every later one a per-batch deadline, and refuses an answer whose
rows, ids or columns are not the batch's. Nothing in it knows our notebook: what it writes is what predict()
answered.
"""
import json
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_python
from test_image import quick_copy

COMPETITION = "playground-series-s5e1"  # the template's default
DATASET = f"{COMPETITION}-exp001"
TOY_PACKAGE = Path(__file__).with_name("toy_gateway") / "kaggle_evaluation"


def serve(project, run, env):
    """Package exp001/<run>, build its --server notebook; give the submission predict.py writes for its test file."""
    for args in (["package", f"exp001/{run}"], ["notebook", f"exp001/{run}", "--server"]):
        result = run_python(project, "scripts/kaggle_cli.py", *args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    expected = project.parent / f"expected_{run}.csv"
    result = run_python(project, "exp/exp001/predict.py", run, "--test", "data/input/test.csv", "--out", str(expected))
    assert result.returncode == 0, result.stdout + result.stderr
    return pd.read_csv(expected)


@pytest.fixture(scope="module")
def served(trained_project, tmp_path_factory):
    """Give (project, expected, run): a trained project whose exp001/run002 (predicted labels) is packaged with its
    --server notebook built, and the submission predict.py writes for the run's test file."""
    project = tmp_path_factory.mktemp("served") / trained_project.name
    shutil.copytree(trained_project, project)
    env = {"KAGGLE_USERNAME": "alice", "PATH": str(tmp_path_factory.mktemp("no_kaggle"))}
    return project, serve(project, "run002", env), "run002"


@pytest.fixture(scope="module")
def served_images(image_baked, tmp_path_factory):
    """Give (project, expected, run) as `served` does, for an image run (one epoch, 3 folds, hflip TTA): each batch
    names test images, predicted by every fold's checkpoint."""
    project = quick_copy(image_baked, tmp_path_factory.mktemp("served_images"))
    result = run_python(project, "exp/exp001/exp.py", "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    env = {"KAGGLE_USERNAME": "alice", "PATH": str(tmp_path_factory.mktemp("no_kaggle"))}
    return project, serve(project, "run001", env), "run001"


@pytest.fixture(scope="module")
def served_probabilities(baked_project, tmp_path_factory):
    """Give (project, expected, run) as `served` does, for a run whose submission is each class's probability (a
    sample with one column per class, metric logloss): numbers to the last digit, not labels."""
    project = tmp_path_factory.mktemp("served_probabilities") / baked_project.name
    shutil.copytree(baked_project, project)
    sample = project / "data" / "input" / "sample_submission.csv"
    ids = pd.read_csv(sample)["id"]
    pd.DataFrame({"id": ids, "setosa": 0.3, "versicolor": 0.3, "virginica": 0.4}).to_csv(sample, index=False)
    config = project / "exp" / "exp001" / "config.yml"
    config.write_text(config.read_text().replace("metric: accuracy ", "metric: logloss  "))
    result = run_python(project, "exp/exp001/exp.py", "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    env = {"KAGGLE_USERNAME": "alice", "PATH": str(tmp_path_factory.mktemp("no_kaggle"))}
    return project, serve(project, "run001", env), "run001"


def kaggle_layout(project, tmp_path, plant="", run="run002", second_server=False):
    """Lay out Kaggle's read-only inputs (the competition's files with the toy kaggle_evaluation, the dataset) and
    /kaggle/working; give (the notebook script, with `plant` added before it starts; input; working)."""
    input_dir, working = tmp_path / "kaggle" / "input", tmp_path / "kaggle" / "working"
    competition = input_dir / COMPETITION
    competition.mkdir(parents=True)
    working.mkdir()
    for name in ("test.csv", "sample_submission.csv"):
        shutil.copy(project / "data" / "input" / name, competition / name)
    if (project / "data" / "input" / "test_images").is_dir():  # the image kind: the files the rows name
        shutil.copytree(project / "data" / "input" / "test_images", competition / "test_images")
    shutil.copytree(TOY_PACKAGE, competition / "kaggle_evaluation", ignore=shutil.ignore_patterns("__pycache__"))
    if second_server:  # a package with two servers, as some competitions ship (e.g. a gateway of their own too)
        (competition / "kaggle_evaluation" / "other_inference_server.py").write_text(
            "from kaggle_evaluation.toy_inference_server import ToyInferenceServer\n\n\n"
            "class OtherInferenceServer(ToyInferenceServer):\n    pass\n")
    shutil.copytree(project / "data" / "output" / "kaggle_datasets" / DATASET, input_dir / DATASET)
    for path in input_dir.rglob("*"):
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    text = (project / "data" / "output" / "kaggle_notebooks" / f"{DATASET}-{run}" / "inference.py").read_text()
    script = tmp_path / "inference.py"
    script.write_text(text.replace('\nif __name__ == "__main__":', f"\n{plant}\nif __name__ == \"__main__\":"))
    return script, input_dir, working


def run_notebook(project, tmp_path, plant="", run="run002", second_server=False, **gateway):
    """Run the server notebook on Kaggle's layout; give (the process, working folder)."""
    script, input_dir, working = kaggle_layout(project, tmp_path, plant, run, second_server)
    env = {f"TOY_GATEWAY_{k.upper()}": str(v) for k, v in gateway.items()}
    ran = run_python(project, str(script), "--input", str(input_dir), "--working", str(working), cwd=tmp_path,
                     env=env, timeout=120)
    return ran, working


def same_predictions(answered, expected):
    """True when every id of `expected` got exactly its predictions in `answered`, whatever the row order."""
    answered = answered.set_index("id").sort_index()
    return answered.index.equals(expected.set_index("id").sort_index().index) and answered.equals(
        expected.set_index("id").sort_index())


@pytest.mark.parametrize("served_run", ["served", "served_probabilities",
                                       pytest.param("served_images", marks=pytest.mark.slow)],
                         ids=["labels", "probabilities", "images"])
def test_server_notebook_answers_every_shuffled_batch_with_predict_pys_predictions(served_run, request, tmp_path):
    project, expected, run = request.getfixturevalue(served_run)
    ran, working = run_notebook(project, tmp_path, run=run, seed=7)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    answered = pd.read_csv(working / "submission.csv")
    batches = json.loads((working / "gateway_batches.json").read_text())
    assert sum(b["rows"] for b in batches) == len(expected) == (60 if "images" in served_run else 30)
    assert len(batches) >= 3
    assert 1 in [b["rows"] for b in batches] and len({b["rows"] for b in batches}) >= 3  # sizes vary, one is a row
    assert answered["id"].tolist() != expected["id"].tolist()  # the gateway's own order, not the file's
    assert list(answered.columns) == list(expected.columns)
    assert same_predictions(answered, expected)
    assert ran.stdout.count(f"loaded {run}'s models") == 1  # once, at the first batch
    assert sorted(p.name for p in working.iterdir()) == ["gateway_batches.json", "submission.csv"]
    if served_run == "served_probabilities":  # probabilities that differ from row to row, summing to 1
        values = answered.set_index("id")
        assert values.nunique().min() > 5 and ((values.sum(axis=1) - 1).abs() < 1e-9).all()


def test_on_kaggles_rerun_the_notebook_serves_through_the_competitions_package(served, tmp_path, monkeypatch):
    project, expected, _ = served
    monkeypatch.setenv("KAGGLE_IS_COMPETITION_RERUN", "True")
    ran, working = run_notebook(project, tmp_path, seed=3)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "local gateway" not in ran.stdout  # serve(), not run_local_gateway()
    assert same_predictions(pd.read_csv(working / "submission.csv"), expected)


TYPE_SHOWN = """
_served = predict
def predict(test, *rest):
    print(f"batch of {type(test).__module__}.{type(test).__name__}", flush=True)
    return _served(test, *rest)
"""


def test_batches_that_are_not_pandas_frames_get_the_same_predictions(served, tmp_path):
    # Arrow tables stand in for polars frames (polars is no requirement): predict() converts with their to_pandas().
    project, expected, _ = served
    ran, working = run_notebook(project, tmp_path, TYPE_SHOWN, seed=11, frames="arrow")

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "batch of pyarrow.lib.Table" in ran.stdout and "batch of pandas" not in ran.stdout
    assert same_predictions(pd.read_csv(working / "submission.csv"), expected)


CHOSEN = 'SERVER_CLASS = "other_inference_server.OtherInferenceServer"'


def test_with_two_server_classes_the_notebook_names_them_until_server_class_chooses_one(served, tmp_path):
    project, expected, _ = served
    ambiguous, _ = run_notebook(project, tmp_path / "ambiguous", second_server=True, seed=5)
    chosen, working = run_notebook(project, tmp_path / "chosen", CHOSEN, second_server=True, seed=5)

    assert ambiguous.returncode != 0 and "Traceback" not in ambiguous.stderr
    assert ("2 inference server classes in" in ambiguous.stderr and "other_inference_server.OtherInferenceServer, "
            "toy_inference_server.ToyInferenceServer). Fix: set SERVER_CLASS" in ambiguous.stderr)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert same_predictions(pd.read_csv(working / "submission.csv"), expected)


SLOW_AFTER_FIRST = """
_served, _calls = predict, []
def predict(test, *rest):
    _calls.append(1)
    if len(_calls) > 1:
        time.sleep(3)
    return _served(test, *rest)
"""
SLOW_START = """
_served = predict
def predict(test, *rest):
    time.sleep(3)
    return _served(test, *rest)
"""


@pytest.mark.parametrize("plant, gateway", [(SLOW_AFTER_FIRST, {"batch_seconds": 1}),
                                            (SLOW_START, {"startup_seconds": 1.5})], ids=["batch", "startup"])
def test_a_predict_that_misses_the_gateways_deadline_fails_the_notebook(served, tmp_path, plant, gateway):
    ran, working = run_notebook(served[0], tmp_path, plant, seed=7, **gateway)

    assert ran.returncode != 0
    assert "predict: no answer within the deadline" in ran.stderr
    assert not (working / "submission.csv").exists()


SORTED = """
_served = predict
def predict(test, *rest):
    return _served(test, *rest).sort_values("id")
"""
ROW_SHORT = """
_served = predict
def predict(test, *rest):
    return _served(test, *rest).iloc[1:]
"""


@pytest.mark.parametrize("plant, message", [(SORTED, "invalid values for id: not the batch's ids in its order"),
                                            (ROW_SHORT, "rows but received")], ids=["sorted", "short"])
def test_predictions_of_other_rows_than_the_batchs_are_refused_by_the_gateway(served, tmp_path, plant, message):
    ran, working = run_notebook(served[0], tmp_path, plant, seed=7)

    assert ran.returncode != 0 and message in ran.stderr, ran.stdout + ran.stderr
    assert not (working / "submission.csv").exists()


SORTED_VALUES = """
_served = predict
def predict(test, *rest):
    answer = _served(test, *rest)
    answer["species"] = answer.sort_values("id")["species"].to_numpy()  # the batch's ids, sorted rows' values
    return answer
"""


def test_predictions_of_sorted_rows_under_the_batchs_ids_fail_the_comparison_with_predict_py(served, tmp_path):
    # The gateway cannot see this bug (ids and rows are right): the comparison of numbers must.
    project, expected, _ = served
    ran, working = run_notebook(project, tmp_path, SORTED_VALUES, seed=7)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert not same_predictions(pd.read_csv(working / "submission.csv"), expected)


def test_server_notebook_of_a_blend_or_of_a_record_whose_code_cannot_serve_is_one_message(served, tmp_path):
    project = tmp_path / served[0].name
    shutil.copytree(served[0], project)
    env = {"KAGGLE_USERNAME": "alice", "PATH": str(tmp_path)}
    predictor = project / "data" / "output" / "exp" / "exp001" / "run002" / "src" / "tabular" / "predictor.py"
    predictor.parent.chmod(0o755)
    predictor.unlink()
    made = run_python(project, "scripts/blend.py", "exp001/run001", "exp001/run003", "--weights", "0.7,0.3")
    assert made.returncode == 0, made.stdout + made.stderr
    assert run_python(project, "scripts/kaggle_cli.py", "package", "blend001", env=env).returncode == 0

    old_record = run_python(project, "scripts/kaggle_cli.py", "notebook", "exp001/run002", "--server", env=env)
    blend = run_python(project, "scripts/kaggle_cli.py", "notebook", "blend001", "--server", env=env)

    for result in (old_record, blend):
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "cannot serve a gateway one batch at a time" in old_record.stderr
    assert "python exp/exp001/exp.py --run run002 --force" in old_record.stderr
    assert "--server serves one run; a blend (blend001) has no server notebook yet" in blend.stderr
