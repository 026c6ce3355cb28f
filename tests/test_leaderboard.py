"""The leaderboard as a Kaggler reads it: whole files while other processes work, and a chart that tells runs apart."""
import csv
import importlib
import json
import subprocess
import sys

import pytest


def add_run(project, exp, run, cv, finished, metric="auc"):
    """Write the files of a finished run record that the leaderboard reads."""
    folder = project / "data/output/exp" / exp / run
    folder.mkdir(parents=True)
    (folder / "config_update.yml").write_text("model:\n  params:\n    num_leaves: 8\n")
    (folder / "metrics.json").write_text(json.dumps({"metric": metric, "direction": "maximize", "cv": cv,
                                                      "cv_std": 0.01, "model": "lightgbm", "total_seconds": 1.0}))
    (folder / "status.json").write_text(json.dumps({"status": "done", "started": finished, "finished": finished}))


def load_leaderboard(project, module="leaderboard"):
    """Give the project's scripts/leaderboard.py (or a module it uses, e.g. helpers.leaderboard_chart) as a module.

    Loaded fresh, with the modules it imports, so its paths resolve from that project and not from a project
    an earlier test loaded.
    """
    scripts = str(project / "scripts")
    for name in [name for name in sys.modules if name in ("helpers", "leaderboard") or name.startswith("helpers.")]:
        del sys.modules[name]
    sys.path.insert(0, scripts)
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(scripts)


@pytest.fixture
def board_project(project):
    for i, (exp, run, cv) in enumerate([("exp001", "run001", 0.80), ("exp001", "run002", 0.84),
                                        ("exp002", "run001", 0.83), ("exp002", "run002", 0.86)], 1):
        add_run(project, exp, run, cv, f"2025-01-0{i}T10:00:00+00:00")
    return project


def test_an_interrupted_leaderboard_leaves_the_previous_files_whole(board_project, monkeypatch):
    leaderboard = load_leaderboard(board_project)
    assert leaderboard.main(["--no-plot"]) == 0
    out = board_project / "data/output"
    before = {name: (out / name).read_bytes() for name in ("leaderboard.csv", "leaderboard.md")}

    add_run(board_project, "exp003", "run001", 0.9, "2025-01-09T10:00:00+00:00")

    def crash(self, rows):
        raise KeyboardInterrupt  # e.g. Ctrl-C, or the machine going down, halfway through the CSV
    monkeypatch.setattr(csv.DictWriter, "writerows", crash)
    with pytest.raises(KeyboardInterrupt):
        leaderboard.main(["--no-plot"])

    assert {name: (out / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [".gitkeep", "leaderboard.csv", "leaderboard.md"]


def test_leaderboard_chart_tells_runs_apart_and_its_axis_says_what_it_is(board_project):
    leaderboard = load_leaderboard(board_project)
    chart = load_leaderboard(board_project, "helpers.leaderboard_chart")
    groups = leaderboard.group_by_metric(leaderboard.read_runs())
    figure = chart.draw_history(groups)
    (ax,) = figure.axes
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert {"exp001", "exp002"} <= set(legend), "one colour per experiment, named in the legend"
    colours = {line.get_label(): line.get_color() for line in ax.get_lines()}
    assert colours["exp001"] != colours["exp002"]
    assert sorted(a.get_text() for a in ax.texts) == ["1", "1", "2", "2"], "each dot carries its run number"
    assert "exp002/run002" in ax.get_title(), "the best run is named"

    axis = ax.get_xlabel()
    assert axis.startswith("runs in the order they finished")
    readme = (board_project / "README.md").read_text()
    assert "in the order they finished" in readme, "the README describes the chart's axis as the chart does"


BLOCK_MATPLOTLIB = """
import os, runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
sys.path.insert(0, "scripts")
sys.argv = ["scripts/leaderboard.py"]
runpy.run_path("scripts/leaderboard.py", run_name="__main__")
"""


def test_without_matplotlib_the_board_is_written_and_the_chart_is_one_message(board_project):
    result = subprocess.run([sys.executable, "-c", BLOCK_MATPLOTLIB], cwd=board_project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert ("data/output/leaderboard.png not drawn: No module named 'matplotlib'. Fix: pip install matplotlib"
            in result.stderr)
    assert "Traceback" not in result.stderr
    assert (board_project / "data/output/leaderboard.csv").is_file()
    assert not (board_project / "data/output/leaderboard.png").exists()
