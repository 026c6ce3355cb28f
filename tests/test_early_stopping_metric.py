"""model.early_stopping_metric: LightGBM, XGBoost and CatBoost stop on the experiment's own metric, in its direction."""
import json

import pytest

from conftest import run_exp
from test_runs import set_runs

# logloss said to be "higher is better": by it, every model is best at its first round, when its loss is highest.
UPSIDE_DOWN = '''METRICS.update({
    "upside_down_logloss": Metric(CLASSIFICATION, higher_is_better=True, needs_labels=False, score=_logloss),
})'''


@pytest.mark.slow
@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
def test_early_stopping_watches_the_chosen_metric_in_its_own_direction(project, family):
    metrics_py = project / "exp/exp001/metrics.py"
    assert "METRICS.update({\n})" in metrics_py.read_text()
    metrics_py.write_text(metrics_py.read_text().replace("METRICS.update({\n})", UPSIDE_DOWN))
    model = f"model:\n  name: {family}\n  =params: {{}}\n  early_stopping_rounds: 5\n  num_boost_round: 60\n"
    set_runs(project, model + "  early_stopping_metric: auto", model + "  early_stopping_metric: upside_down_logloss",
             model + "  early_stopping_metric: logloss")
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    rounds = {run: json.loads((project / f"data/output/exp/exp001/{run}/metrics.json").read_text())["best_iterations"]
              for run in ("run001", "run002", "run003")}
    assert rounds["run002"] == [1] * 5, rounds  # the first round, by the upside-down metric
    assert min(rounds["run001"]) > 1 and min(rounds["run003"]) > 1, rounds  # logloss falls for several rounds


def test_an_early_stopping_metric_of_another_task_is_refused_before_training(project):
    set_runs(project, "model:\n  early_stopping_metric: rmse")
    result = run_exp(project, "--dry-run")
    assert result.returncode == 2 and "model.early_stopping_metric is 'rmse'" in result.stderr, result.stderr
    assert "accuracy" in result.stderr and "Traceback" not in result.stderr
