"""Optional Weights & Biases tracking, tested offline."""
import json

import pytest

from conftest import run_exp
from test_runs import set_config

EXP = "data/output/exp/exp001"


@pytest.fixture
def tracked(project):
    set_config(project, model__num_boost_round=10, wandb__enabled=True)
    return project


@pytest.mark.slow
def test_each_run_becomes_an_offline_wandb_run_grouped_by_experiment(tracked):
    pytest.importorskip("wandb")
    result = run_exp(tracked, "--run", "1-2", env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    assert result.returncode == 0, result.stdout + result.stderr
    for run in ("run001", "run002"):
        record = json.loads((tracked / EXP / run / "wandb.json").read_text())
        assert record["group"] == "exp001" and record["name"] == f"exp001/{run}" and record["offline"] is True
        assert record["project"] == tracked.name
        assert record["dir"].startswith("data/output/wandb/")
        wandb_file = next((tracked / "data/output/wandb").rglob(f"run-{record['id']}.wandb"))
        assert f"exp001/{run}".encode() in wandb_file.read_bytes()
    assert not list((tracked / "exp").rglob("wandb")), "tracker files must never land inside exp/"


@pytest.fixture
def without_wandb(tmp_path):
    """Give an env that makes `import wandb` fail, as when it is not installed."""
    fake = tmp_path / "fake" / "wandb"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named wandb')\n")
    return {"PYTHONPATH": str(fake.parent)}


def test_enabled_tracking_without_wandb_stops_before_training(tracked, without_wandb):
    result = run_exp(tracked, env=without_wandb)
    assert result.returncode == 2
    assert "wandb.enabled is true but wandb is not installed. Fix: pip install wandb" in result.stderr
    assert not (tracked / EXP).exists()


@pytest.mark.slow
def test_tracking_can_be_optional_when_wandb_is_missing(tracked, without_wandb):
    set_config(tracked, wandb__required=False)
    result = run_exp(tracked, "--run", "1", env=without_wandb)
    assert result.returncode == 0, result.stderr
    assert "wandb is not installed: running untracked" in result.stdout
    assert (tracked / EXP / "run001/status.json").is_file() and not (tracked / EXP / "run001/wandb.json").exists()
