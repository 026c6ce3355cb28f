"""Switching the iris project to a real competition in one command: scripts/switch_competition.py."""
import pandas as pd
import yaml
from sklearn.datasets import load_diabetes

from conftest import run_exp, run_python


def put_regression_competition(project, extra_train_column=False):
    """Replace the iris files in data/input/ with a small regression competition, as `download` would."""
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    frame.insert(0, "row_id", range(len(frame)))
    train, test = frame[:300].copy(), frame[300:].drop(columns="progression")
    if extra_train_column:
        train["progression_squared"] = train["progression"] ** 2
    train.to_csv(project / "data/input/train.csv", index=False)
    test.to_csv(project / "data/input/test.csv", index=False)
    pd.DataFrame({"row_id": test["row_id"], "progression": 0.0}).to_csv(
        project / "data/input/sample_submission.csv", index=False)


def test_switch_points_exp001_at_the_new_files_resets_runs_and_keeps_the_old_ones(trained):
    put_regression_competition(trained)
    old_config = (trained / "exp/exp001/config.yml").read_text()
    old_exp_py = (trained / "exp/exp001/exp.py").read_text()

    result = run_python(trained, "scripts/switch_competition.py", "--yes")

    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((trained / "exp/exp001/config.yml").read_text())
    assert (config["data"]["id"], config["data"]["target"]) == ("row_id", "progression")
    assert (config["task"], config["metric"]) == ("regression", "rmse")
    assert "# binary | multiclass | regression" in (trained / "exp/exp001/config.yml").read_text(), "comments stay"
    listed = run_exp(trained, "--list")
    assert "run001" in listed.stdout and "run002" not in listed.stdout, "one base run instead of the iris runs"
    # It checked the switch with --debug, and the iris records are out of the way but kept.
    assert (trained / "data/output/debug/exp001/run001/submission.csv").is_file()
    assert not (trained / "data/output/exp/exp001").exists()
    (backup,) = (trained / "data/output").glob("switched-*")
    assert (backup / "code/exp001/config.yml").read_text() == old_config
    assert (backup / "code/exp001/exp.py").read_text() == old_exp_py
    assert (backup / "records/exp/exp001/run001/metrics.json").is_file()
    assert "Next: python exp/exp001/exp.py" in result.stdout


def test_switch_without_yes_shows_the_plan_and_changes_nothing(project):
    put_regression_competition(project)
    before = {name: (project / "exp/exp001" / name).read_text() for name in ("config.yml", "exp.py")}

    result = run_python(project, "scripts/switch_competition.py")

    assert result.returncode == 1
    assert "data.target: progression" in result.stdout and "task: regression" in result.stdout
    assert "the input is not a terminal (piped or a script), so there was no one to ask. Run again with --yes" \
        in result.stdout
    assert {name: (project / "exp/exp001" / name).read_text() for name in before} == before
    assert not list((project / "data/output").glob("switched-*"))


def test_switch_asks_for_the_target_when_train_has_several_extra_columns(project):
    put_regression_competition(project, extra_train_column=True)

    result = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug")

    assert result.returncode == 1
    assert "cannot tell the target" in result.stderr and "--target" in result.stderr
    assert "progression_squared" in result.stderr
    fixed = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug", "--target", "progression")
    assert fixed.returncode == 0, fixed.stderr
    assert "progression_squared are in train but not in test: list them in data.drop" in fixed.stdout


def test_switch_accepts_a_metric_the_experiment_added_and_refuses_an_unknown_one(project):
    put_regression_competition(project)
    metrics_py = project / "exp/exp001/metrics.py"
    metrics_py.write_text(metrics_py.read_text().replace(
        "METRICS.update({\n", "METRICS.update({\n    \"median_ae\": Metric(REGRESSION, False, False, "
        "lambda y, p: float(np.median(np.abs(y - p)))),\n", 1))

    unknown = run_python(project, "scripts/switch_competition.py", "--yes", "--metric", "median_ea", "--no-debug")
    assert unknown.returncode == 1 and "--metric median_ea is not a metric of exp/exp001/" in unknown.stderr
    assert "median_ae" in unknown.stderr and "Traceback" not in unknown.stderr

    result = run_python(project, "scripts/switch_competition.py", "--yes", "--metric", "median_ae")

    assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load((project / "exp/exp001/config.yml").read_text())["metric"] == "median_ae"
    assert (project / "data/output/debug/exp001/run001/metrics.json").is_file()
