"""What every kind's project must do beyond training: a run tracked in W&B, --tune, the leaderboard, --debug,
--jobs.

Shared by the kinds' tests (test_audio.py, test_text.py): each edits its project's config first (few epochs, W&B
enabled) and says what its SEARCH may sample.
"""
import json
import re

import yaml

from conftest import run_exp, run_python

OUT = "data/output/exp/exp001"


def check_tracked_tuned_listed_and_debugged(project, curves, check_sampled):
    """Run run001 with W&B offline and check `curves` (byte strings of metric names) reached its stream; --tune 2 and
    check each trial is a whole finished run whose config check_sampled(config, trial folder) accepts; the leaderboard
    lists run001 with its CV; --debug --run 2 writes apart from the real runs."""
    result = run_exp(project, "--run", "1", env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((project / OUT / "run001/wandb.json").read_text())
    stream = next((project / "data/output/wandb").rglob(f"run-{record['id']}.wandb")).read_bytes()
    assert all(curve in stream for curve in curves), "each epoch's curves reach W&B"

    tuned = run_exp(project, "--tune", "2", env={"WANDB_MODE": "disabled"})
    assert tuned.returncode == 0, tuned.stdout + tuned.stderr
    trials = sorted((project / OUT / "tune").glob("trial*"))
    assert [p.name for p in trials] == ["trial0000", "trial0001"], trials
    for trial in trials:  # each trial a whole run, its values drawn from exp.py's SEARCH
        assert json.loads((trial / "status.json").read_text())["status"] == "done"
        assert 0.0 <= json.loads((trial / "metrics.json").read_text())["cv"] <= 1.0
        check_sampled(yaml.safe_load((trial / "config.yml").read_text()), trial)

    board = run_python(project, "scripts/leaderboard.py")
    assert board.returncode == 0, board.stdout + board.stderr
    cv = json.loads((project / OUT / "run001/metrics.json").read_text())["cv"]
    assert re.search(rf"exp001\s+run001\s+done\s+{cv:.5f} ± ", board.stdout), board.stdout
    debug = run_exp(project, "--debug", "--run", "2", env={"WANDB_MODE": "disabled"})
    assert debug.returncode == 0, debug.stdout + debug.stderr
    assert not (project / OUT / "run002").exists()  # a debug run is written apart from the real ones


def run_in_two_workers(project):
    """Run exp.py --jobs 2 on the project's two runs and check each went to a worker process of its own."""
    result = run_exp(project, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--jobs 2: 2 worker processes" in result.stdout, result.stdout
    assert len(set(re.findall(r"run00[12]: running in pid (\d+)", result.stdout))) == 2, result.stdout
