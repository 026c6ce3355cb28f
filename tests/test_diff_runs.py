"""Comparing two runs: scripts/diff_runs.py, and the leaderboard's whole changes."""
import pytest
from conftest import run_python

pytestmark = pytest.mark.slow  # trains the runs it compares


def test_diff_runs_shows_config_code_scores_and_oof_correlation(trained):
    nested = trained / "data/output/exp/exp001/run003/src/models/lightgbm.py"
    nested.write_text(nested.read_text() + "# tried something\n")  # as if the code had changed between runs

    result = run_python(trained, "scripts/diff_runs.py", "exp001/run001", "exp1/3")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "model.params.num_leaves: 4 -> 15" in out and "model.params.lambda_l1: (absent) -> 5" in out
    assert "+++ exp001/run003/src/models/lightgbm.py" in out and "+# tried something" in out
    assert "fold 1" in out and "fold 5" in out and "cv" in out
    assert "out-of-fold correlation: " in out and "(on 120 shared rows)" in out


def test_diff_runs_without_code_and_of_the_same_run(trained):
    result = run_python(trained, "scripts/diff_runs.py", "exp001/run002", "exp001/run002", "--no-code")
    assert result.returncode == 0, result.stderr
    assert "config: 0 keys differ" in result.stdout and "code (src/)" not in result.stdout
    assert "out-of-fold correlation: 1.0000" in result.stdout


def test_diff_runs_of_a_run_that_does_not_exist_says_how_to_name_one(trained):
    result = run_python(trained, "scripts/diff_runs.py", "exp001/run009", "exp001/run002")
    assert result.returncode == 2 and "exp001/run009: no run record" in result.stderr


def test_leaderboard_shows_the_whole_change_on_request(trained):
    long_change = "model.params.bagging_fraction_of_a_very_long_name=0.123456789"
    (trained / "data/output/exp/exp001/run003/config_update.yml").write_text(
        "model:\n  params:\n    bagging_fraction_of_a_very_long_name: 0.123456789\n")
    cut = run_python(trained, "scripts/leaderboard.py", "--no-plot")
    whole = run_python(trained, "scripts/leaderboard.py", "--no-plot", "--full-changes")
    assert whole.returncode == 0, whole.stderr
    assert long_change not in cut.stdout and "…" in cut.stdout
    assert long_change in whole.stdout
