"""The first week on a real competition (issue 21): the small things a Kaggler trips over on day one."""
import importlib
import json
import sys

import pytest
import yaml

from conftest import run_exp, run_python
from test_runs import set_config, set_runs
from test_switch_competition import put_regression_competition

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

    importance = (project / EXP / "run002/importance.csv").read_text()
    assert "petal_width" not in importance, "the group column is no feature by default"
    assert "cv.group 'petal_width' is left out of the features" in (project / EXP / "run002/log.txt").read_text()
    assert "petal_width" in (project / EXP / "run003/importance.csv").read_text(), "kept when data.features lists it"
    assert "cv.group 'petal_width' is also a feature (data.features lists it)" in (project / EXP / "run003/log.txt").read_text()
    assert "warning: cv.group 'petal_width' is left out" in summary and "warning: cv.group 'petal_width' is also" in summary


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
    assert "warning: metric rmsle is rmse on log(1 + y), but target_transform is null" in \
        (project / EXP / "run002/log.txt").read_text()
