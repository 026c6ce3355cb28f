"""The first week on a real competition (issue 21): the small things a Kaggler trips over on day one."""
import importlib
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import run_exp, run_python
from test_runs import set_config, set_runs
from test_switch_competition import put_regression_competition

pytestmark = pytest.mark.slow  # each test trains runs

EXP = "data/output/exp/exp001"
FAST = {"model__num_boost_round": 20, "model__early_stopping_rounds": 5}


def import_from(folder, module):
    """Import `module` from `folder` of a baked project, leaving no module of that project behind."""
    top = module.split(".")[0]
    had = {n: m for n, m in sys.modules.items() if n.split(".")[0] in (top, "runner", "tabular", "metrics", "models")}
    for name in had:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n.split(".")[0] in (top, "runner", "tabular", "metrics", "models")]:
            del sys.modules[name]
        sys.modules.update(had)


def test_saved_submissions_show_kaggles_status_as_the_website_does(baked_project):
    submissions = import_from(baked_project / "scripts", "helpers.kaggle_submissions")
    printed = '[{"ref": 1, "fileName": "s.csv", "date": "2025-01-02T10:00:00", "description": "exp001/run001",' \
              ' "status": "SubmissionStatus.COMPLETE", "publicScore": "0.9", "privateScore": null}]'
    assert submissions.read_submissions_json(printed, ["kaggle"])[0]["status"] == "COMPLETE"
    saved = "fileName,date,description,status\ns.csv,2025-01-01,exp001/run001,SubmissionStatus.PENDING\n"
    assert submissions.read_submissions_csv(saved)[0]["status"] == "PENDING"


def test_class_names_holding_commas_are_quoted_in_messages(baked_project):
    submission = import_from(baked_project / "exp/exp001", "tabular.submission")
    cfg = {"data": {"target": "y", "sample_submission": "sample.csv"}, "task": "multiclass", "metric": "logloss"}
    with pytest.raises(Exception) as error:
        submission.check_layout(cfg, ["red, dark", "blue"], ["a", "b", "c"], False)
    assert "('red, dark', 'blue')" in str(error.value)


def test_dry_run_says_which_runs_are_done_and_skipped(trained):
    result = run_exp(trained, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "run001:  done: skipped (--force to redo)" in result.stdout
    assert "done" not in run_exp(trained, "--dry-run", "--force").stdout


def test_new_exp_with_an_idea_does_not_ask_for_the_idea_again(project):
    result = run_python(project, "scripts/new_exp.py", "--idea", "target encoding")
    assert result.returncode == 0, result.stderr
    assert "write the idea" not in result.stdout
    assert "the idea is in exp/exp002/NOTES.md" in result.stdout
    assert "target encoding" in (project / "exp/exp002/NOTES.md").read_text()


def test_dropping_the_group_column_reuses_the_same_fold_file(project):
    set_config(project, cv__scheme="group", cv__group="petal_width", **FAST)
    set_runs(project, "data:\n  features: [sepal_length, sepal_width, petal_length, petal_width]",
             "data:\n  drop: [petal_width]")
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((project / "data/output/folds").iterdir())) == 1, result.stdout


def test_predict_counts_every_seeded_model(project):
    set_config(project, model__seeds=[0, 1, 2], **FAST)
    set_runs(project, "seed: 42")
    assert run_exp(project).returncode == 0
    result = run_python(project, "exp/exp001/predict.py", "run001", "--test", "data/input/test.csv", "--out", "sub.csv")
    assert result.returncode == 0, result.stderr
    assert "with 5 folds x 3 seeds (15 models) of lightgbm" in result.stdout + result.stderr


# ---------------------------------------------------------------- warnings that save a day

def test_warnings_reach_the_log_metrics_and_summary_one_line_each(project):
    set_config(project, model__num_boost_round=3, model__early_stopping_rounds=5)
    set_runs(project,
             "model:\n  seeds: [0, 1, 2]",  # LightGBM without bagging: every seed trains the same trees
             "cv:\n  scheme: group\n  group: petal_width",
             "cv:\n  scheme: group\n  group: petal_width\ndata:\n  features: [sepal_length, petal_width]")
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    summary = out[out.index("summary ("):]

    log1 = (project / EXP / "run001/log.txt").read_text()
    assert "warning: model.seeds [0, 1, 2]: every seed gave the same predictions" in log1
    assert "folds 1, 2, 3, 4, 5 of 5 stopped at model.num_boost_round 3" in log1
    metrics = json.loads((project / EXP / "run001/metrics.json").read_text())
    assert len(metrics["warnings"]) == 2
    assert summary.count("warning: model.seeds") == 1 and summary.count("stopped at model.num_boost_round") == 3

    assert ((project / EXP / "run001/confusion_matrix.png").is_file()
            and not (project / EXP / "run001/calibration.png").exists())
    importance = (project / EXP / "run002/importance.csv").read_text()
    assert "petal_width" not in importance, "the group column is no feature by default"
    assert "cv.group 'petal_width' is left out of the features" in (project / EXP / "run002/log.txt").read_text()
    assert "petal_width" in (project / EXP / "run003/importance.csv").read_text(), "kept when data.features lists it"
    assert ("cv.group 'petal_width' is also a feature (data.features lists it)"
            in (project / EXP / "run003/log.txt").read_text())
    assert ("warning: cv.group 'petal_width' is left out" in summary
            and "warning: cv.group 'petal_width' is also" in summary)


def test_rmsle_competition_gets_log1p_and_a_warning_without_it(project):
    put_regression_competition(project)
    result = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug", "--metric", "rmsle")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "target_transform: log1p" in result.stdout
    config = yaml.safe_load((project / "exp/exp001/config.yml").read_text())
    assert (config["metric"], config["target_transform"]) == ("rmsle", "log1p")
    set_config(project, **FAST)
    set_runs(project, "seed: 42", "target_transform: null")
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: metric rmsle" not in (project / EXP / "run001/log.txt").read_text()
    assert (project / EXP / "run001/oof_vs_target.png").is_file()
    assert "warning: metric rmsle is rmse on log(1 + y), but target_transform is null" in \
        (project / EXP / "run002/log.txt").read_text()


# ---------------------------------------------------------------- predict.py on any test file

def test_predict_on_another_test_file_keeps_its_rows_and_ids_with_the_samples_columns(trained, tmp_path):
    test = pd.read_csv(trained / "data/input/test.csv")
    other = pd.concat([test, test.assign(id=test["id"] + 1000)]).sample(frac=1, random_state=3)
    other["id"] = other["id"] + 5000  # no id of the sample's
    other.to_csv(tmp_path / "other.csv", index=False)
    out = tmp_path / "sub.csv"
    result = run_python(trained, "exp/exp001/predict.py", "run002", "--test", str(tmp_path / "other.csv"), "--out",
                        str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is not the competition's test file" in result.stderr + result.stdout
    sub = pd.read_csv(out)
    assert list(sub.columns) == list(pd.read_csv(trained / "data/input/sample_submission.csv").columns)
    assert sub["id"].tolist() == other["id"].tolist()
    assert sub["species"].isin(["setosa", "versicolor", "virginica"]).all()


def test_predict_without_a_sample_file_takes_the_runs_submission_columns(trained, tmp_path):
    (trained / "data/input/sample_submission.csv").unlink()
    out = tmp_path / "sub.csv"
    result = run_python(trained, "exp/exp001/predict.py", "run002", "--test", "data/input/test.csv", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "give --sample PATH" in result.stderr + result.stdout
    assert pd.read_csv(out)["id"].tolist() == pd.read_csv(trained / "data/input/test.csv")["id"].tolist()


def test_predict_on_a_part_of_the_test_file_names_the_flags_that_fix_it(trained, tmp_path):
    pd.read_csv(trained / "data/input/test.csv").head(10).to_csv(tmp_path / "part.csv", index=False)
    result = run_python(trained, "exp/exp001/predict.py", "run002", "--test", str(tmp_path / "part.csv"),
                        "--out", str(tmp_path / "sub.csv"))
    assert result.returncode == 2
    assert "--sample data/input/sample_submission.csv: 20 of its 30 ids are not in --test" in result.stderr
    assert "Fix: give --test the whole test file" in result.stderr
    narrow = pd.read_csv(trained / "data/input/test.csv").drop(columns="petal_width")
    narrow.to_csv(tmp_path / "narrow.csv", index=False)
    result = run_python(trained, "exp/exp001/predict.py", "run002", "--test", str(tmp_path / "narrow.csv"),
                        "--out", str(tmp_path / "sub.csv"))
    assert result.returncode == 2 and "error: --test " in result.stderr and "no column 'petal_width'" in result.stderr


# ---------------------------------------------------------------- diagnostic pictures

def test_every_record_has_the_pictures_of_its_task(project):
    from PIL import Image

    for name in ("train.csv", "sample_submission.csv"):
        frame = pd.read_csv(project / "data/input" / name)
        frame["species"] = (frame["species"] == "virginica").map({True: "yes", False: "no"})
        frame.to_csv(project / "data/input" / name, index=False)
    set_config(project, task="binary", metric="auc", **FAST)
    set_runs(project, "seed: 42")
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    record = project / EXP / "run001"
    for picture in ("confusion_matrix.png", "calibration.png"):
        assert Image.open(record / picture).size[0] > 300
    assert not (record / "oof_vs_target.png").exists()


# ---------------------------------------------------------------- threads by default

def run_exp_on_any_threads(project, *args, **env):
    """Run exp001/exp.py without OMP_NUM_THREADS, which would take precedence over the rule under test."""
    full = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return subprocess.run([sys.executable, str(project / "exp/exp001/exp.py"), *args], cwd=project, capture_output=True,
                          text=True, timeout=300, env=dict(full, PYTHONDONTWRITEBYTECODE="1", **env))


def test_a_run_picks_its_threads_from_the_data_and_says_so(project):
    set_config(project, **FAST)
    set_runs(project, "seed: 42", "model:\n  params:\n    +num_threads: 2")
    result = run_exp_on_any_threads(project)
    assert result.returncode == 0, result.stdout + result.stderr
    log1, log2 = ((project / EXP / run / "log.txt").read_text() for run in ("run001", "run002"))
    assert "threads: 1: 120 rows x 4 features is small data" in log1
    assert "[num_threads: 1]" in (project / EXP / "run001/models/fold0.txt").read_text()
    assert "threads: as the config says: model.params.num_threads = 2" in log2
    assert "[num_threads: 2]" in (project / EXP / "run002/models/fold0.txt").read_text()

    again = run_exp_on_any_threads(project, "--run", "1", "--force", KAGGLE_EXP_THREADS="2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "threads: 2: KAGGLE_EXP_THREADS=2" in again.stdout + again.stderr
    assert "[num_threads: 2]" in (project / EXP / "run001/models/fold0.txt").read_text()


def test_large_data_takes_every_usable_core(baked_project, monkeypatch):
    thread_count = import_from(baked_project / "exp/exp001", "models.thread_count")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("KAGGLE_EXP_THREADS", raising=False)
    monkeypatch.setattr(thread_count, "usable_cores", lambda: 8)
    monkeypatch.setattr(thread_count, "machine_load", lambda: 0.3)
    cfg = {"model": {"params": {}}}
    assert thread_count.choose(cfg, 1_000, 20, ("num_threads",))[0] == 1
    assert thread_count.choose(cfg, 1_000_000, 20, ("num_threads",))[0] == 8
    monkeypatch.setattr(thread_count, "machine_load", lambda: 6.8)  # other work on 7 cores
    assert thread_count.choose(cfg, 1_000_000, 20, ("num_threads",)) == (
        1, "1,000,000 rows x 20 features; 8 usable cores, load average 6.8, so 1 free")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_count.choose(cfg, 1_000_000, 20, ("num_threads",)) == (3, "OMP_NUM_THREADS=3 (the machine's setting)")
    assert thread_count.choose({"model": {"params": {"nthread": 4}}}, 10, 2, ("nthread", "n_jobs"))[0] is None


# ---------------------------------------------------------------- progress inside a fold

def test_each_boosting_library_reports_progress_inside_a_long_fold(project):
    set_config(project, model__num_boost_round=4, model__early_stopping_rounds=10)
    set_runs(project, "seed: 42",
             "model:\n  name: xgboost\n  =params:\n    max_depth: 2",
             "model:\n  name: catboost\n  =params:\n    depth: 2")
    result = run_exp(project, "--run", "1,2,3", env={"KAGGLE_EXP_PROGRESS_SECONDS": "0.000001"})  # every round
    assert result.returncode == 0, result.stdout + result.stderr
    for run, metric in (("run001", "multi_logloss"), ("run002", "mlogloss"), ("run003", "MultiClass")):
        log = (project / EXP / run / "log.txt").read_text()
        assert f"round 2/4 valid {metric}=" in log and "left" in log, (run, log)
    quiet = run_exp(project, "--run", "1", "--force")
    assert "round 2/4" not in quiet.stdout + quiet.stderr, "short folds stay quiet"


# ---------------------------------------------------------------- stale experiments, long commands

def test_new_exp_and_switch_competition_name_the_experiments_gone_stale(project):
    assert run_python(project, "scripts/new_exp.py").returncode == 0  # exp002 reads the iris files
    put_regression_competition(project)  # the competition's files are replaced: no species column any more

    switched = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug")
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert "reading train.csv (" in switched.stdout
    assert "exp002: data/input/train.csv no longer has its target column 'species'" in switched.stdout
    assert "exp001:" not in switched.stdout.split("stale experiments", 1)[-1], "the switched one is up to date"

    (project / "data/input/test.csv").rename(project / "data/input/test_old.csv")
    created = run_python(project, "scripts/new_exp.py")
    assert created.returncode == 0, created.stderr
    assert "exp001: data.test data/input/test.csv no longer exists" in created.stdout
    assert "python scripts/switch_competition.py --exp exp002" in created.stdout


def test_blend_optimize_says_what_it_is_doing(trained):
    result = run_python(trained, "scripts/blend.py", "exp001/run001", "exp001/run003", "--optimize", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "optimizing the weights of 2 runs" in result.stdout and "step 0.01: best out-of-fold score" in result.stdout
