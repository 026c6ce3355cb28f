"""The scripts a Kaggler runs between experiments: new_exp.py and leaderboard.py (kaggle_cli.py: test_kaggle.py).

Most tests write small run records by hand (fast); the few that need real ones share a
single training of exp001.
"""
import csv
import filecmp
import json
import re
import shutil
import textwrap

from conftest import run_exp, run_python

CACHES = ["__pycache__", ".ipynb_checkpoints", "wandb"]


# ---------------------------------------------------------------- fixtures and helpers

def write_record(project, exp, run, cv=None, metric="rmse", snippet="model:\n  params:\n    max_depth: 5\n",
                 status="done", finished="2025-01-01T10:00:00+00:00", commit="0123456789abcdef", model="lightgbm"):
    """Write a small run record as exp.py leaves it (only the files the leaderboard reads)."""
    higher = metric in ("accuracy", "auc", "f1", "r2")
    folder = project / "data" / "output" / "exp" / exp / (run if status == "done" else f"{run}.failed")
    folder.mkdir(parents=True)
    (folder / "config_update.yml").write_text(snippet)
    (folder / "config.yml").write_text(f"metric: {metric}\ntask: regression\nmodel:\n  name: {model}\n")
    state = {"exp": exp, "run": run, "started": finished, "finished": finished, "seconds": 1.5, "status": status}
    if status == "done":
        state.update(cv=cv, metric=metric)
        (folder / "metrics.json").write_text(json.dumps({
            "metric": metric, "higher_is_better": higher, "direction": "maximize" if higher else "minimize",
            "cv": cv, "cv_std": 0.01, "oof": cv, "folds": [cv] * 5, "best_iterations": [10] * 5,
            "fit_seconds": [0.2] * 5, "total_seconds": 1.0, "model": model, "n_train": 100, "n_features": 4}))
    else:
        state["error"] = "ValueError: the model blew up"
    (folder / "status.json").write_text(json.dumps(state))
    (folder / "provenance.json").write_text(json.dumps({"git": {"commit": commit, "dirty": False}}))
    return folder


def read_board(project):
    with open(project / "data" / "output" / "leaderboard.csv", newline="") as f:
        return list(csv.DictReader(f))


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ---------------------------------------------------------------- new_exp.py

def test_new_experiment_is_a_byte_identical_copy_without_caches(project, tmp_path):
    source = project / "exp" / "exp001"
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\0cache")
    (source / ".ipynb_checkpoints").mkdir()
    (source / ".ipynb_checkpoints" / "eda-checkpoint.ipynb").write_text("{}")
    (source / "wandb" / "run-1").mkdir(parents=True)
    (source / "stray.pyc").write_bytes(b"\0")
    (source / "NOTES.md").write_text("# exp001\nthe parent's own notes\n")

    first = run_python(project, "scripts/new_exp.py", cwd=tmp_path)  # any current directory will do
    second = run_python(project, "scripts/new_exp.py", cwd=tmp_path)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "diff -ru exp/exp001 exp/exp002" in first.stdout
    assert "diff -ru exp/exp002 exp/exp003" in second.stdout
    for new in ("exp002", "exp003"):
        copy = project / "exp" / new
        expected = [f for f in files_under(source) if not any(c in f for c in CACHES)
                    and not f.endswith(".pyc") and f != "NOTES.md"]
        assert [f for f in files_under(copy) if f != "NOTES.md"] == expected
        for name in expected:
            assert ((source / name).is_dir()
                    or filecmp.cmp(source / name, copy / name, shallow=False)), f"{new}/{name} differs"
        assert not any(p.is_symlink() for p in copy.rglob("*"))  # an independent copy, not links to the source
        assert "the parent's own notes" not in (copy / "NOTES.md").read_text()


def test_new_experiment_tells_the_next_steps_and_that_runs_are_inherited(project):
    result = run_python(project, "scripts/new_exp.py")
    assert result.returncode == 0, result.stderr
    assert "RUNS" in result.stdout and "exp/exp002/exp.py" in result.stdout
    assert "python exp/exp002/exp.py" in result.stdout
    assert "exp001's 3 runs" in result.stdout


def test_new_experiment_notes_say_where_it_came_from(project):
    result = run_python(project, "scripts/new_exp.py", "--idea", "target encoding of the cat columns")
    assert result.returncode == 0, result.stderr
    notes = (project / "exp" / "exp002" / "NOTES.md").read_text()
    assert "from exp001" in notes
    assert "- idea: target encoding of the cat columns" in notes
    assert re.search(r"^- result: ", notes, re.M)


def test_new_experiment_can_start_from_an_older_one(project):
    assert run_python(project, "scripts/new_exp.py").returncode == 0
    (project / "exp" / "exp002" / "config.yml").write_text("# changed in exp002\n")

    result = run_python(project, "scripts/new_exp.py", "--from", "exp001")

    assert result.returncode == 0, result.stderr
    assert filecmp.cmp(project / "exp" / "exp001" / "config.yml", project / "exp" / "exp003" / "config.yml",
                       shallow=False)
    assert "from exp001" in (project / "exp" / "exp003" / "NOTES.md").read_text()
    assert "diff -ru exp/exp001 exp/exp003" in result.stdout


def test_new_experiment_never_overwrites_an_existing_folder(project):
    before = (project / "exp" / "exp001" / "exp.py").read_bytes()
    result = run_python(project, "scripts/new_exp.py", "--to", "exp001")
    assert result.returncode == 2
    assert "exp/exp001 already exists" in result.stderr and "Traceback" not in result.stderr
    assert (project / "exp" / "exp001" / "exp.py").read_bytes() == before
    assert not (project / "exp" / "exp001" / "NOTES.md").exists()


def test_new_experiment_refuses_an_unknown_source(project):
    result = run_python(project, "scripts/new_exp.py", "--from", "exp042")
    assert result.returncode == 2
    assert "no exp/exp042" in result.stderr and "exp001" in result.stderr


def test_new_experiment_numbers_go_past_999(project):
    shutil.copytree(project / "exp" / "exp001", project / "exp" / "exp999")

    result = run_python(project, "scripts/new_exp.py")

    assert result.returncode == 0, result.stderr
    assert "created exp/exp1000 from exp/exp999" in result.stdout
    again = run_python(project, "scripts/new_exp.py")  # exp1000 is now the highest, not exp999
    assert "created exp/exp1001 from exp/exp1000" in again.stdout


def test_new_experiment_skips_a_number_that_still_has_run_records(project):
    (project / "data" / "output" / "exp" / "exp002" / "run001").mkdir(parents=True)
    result = run_python(project, "scripts/new_exp.py")
    assert result.returncode == 0, result.stderr
    assert (project / "exp" / "exp003").is_dir() and not (project / "exp" / "exp002").exists()


def test_new_experiment_starts_with_no_runs_done(trained):
    assert run_python(trained, "scripts/new_exp.py").returncode == 0
    listing = run_exp(trained, "--list", exp="exp002")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("not run") == 3, listing.stdout


# ---------------------------------------------------------------- leaderboard.py

def test_leaderboard_puts_highest_accuracy_and_lowest_rmse_first(project):
    for run, cv in (("run001", 0.90), ("run002", 0.95), ("run003", 0.80)):
        write_record(project, "exp001", run, cv, metric="accuracy")
    for run, cv in (("run001", 3.0), ("run002", 1.0), ("run003", 2.0)):
        write_record(project, "exp002", run, cv, metric="rmse")

    result = run_python(project, "scripts/leaderboard.py", "--no-plot")

    assert result.returncode == 0, result.stderr
    board = read_board(project)
    assert [(r["metric"], r["exp"], r["run"], r["rank"]) for r in board] == [
        ("accuracy", "exp001", "run002", "1"), ("accuracy", "exp001", "run001", "2"),
        ("accuracy", "exp001", "run003", "3"),
        ("rmse", "exp002", "run002", "1"), ("rmse", "exp002", "run003", "2"), ("rmse", "exp002", "run001", "3"),
    ]
    assert "accuracy (higher is better)" in result.stdout and "rmse (lower is better)" in result.stdout


def test_leaderboard_shows_what_each_run_changed_and_marks_each_experiments_best(project):
    write_record(project, "exp001", "run001", 2.0, snippet="model:\n  params:\n    max_depth: 5\n")
    write_record(project, "exp001", "run002", 1.5,
                 snippet="model:\n  params:\n    num_leaves: 7\n    learning_rate: 0.1\n")
    write_record(project, "exp002", "run001", 1.8, snippet="")

    result = run_python(project, "scripts/leaderboard.py", "--no-plot")

    assert result.returncode == 0, result.stderr
    board = {(r["exp"], r["run"]): r for r in read_board(project)}
    assert board["exp001", "run001"]["changes"] == "model.params.max_depth=5"
    assert board["exp001", "run002"]["changes"] == "model.params.num_leaves=7, model.params.learning_rate=0.1"
    assert board["exp002", "run001"]["changes"] == "(base config)"
    assert [key for key, r in board.items() if r["best"] == "*"] == [("exp001", "run002"), ("exp002", "run001")]
    assert board["exp001", "run002"]["commit"] == "0123456"
    line = next(line for line in result.stdout.splitlines() if "run002" in line)
    assert "*" in line and "1.50000 ± 0.01000" in line and "model.params.num_leaves=7" in line and "lightgbm" in line


def test_leaderboard_writes_csv_markdown_and_a_chart(project):
    for i, cv in enumerate((0.7, 0.9, 0.8), 1):
        write_record(project, "exp001", f"run{i:03d}", cv, metric="auc", finished=f"2025-01-0{i}T10:00:00+00:00")

    result = run_python(project, "scripts/leaderboard.py")

    assert result.returncode == 0, result.stderr
    out = project / "data" / "output"
    assert len(read_board(project)) == 3
    markdown = (out / "leaderboard.md").read_text()
    assert "| 1 | * | exp001 | run002 | done | 0.90000 ± 0.01000 |" in markdown
    assert (out / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    (out / "leaderboard.png").unlink()
    assert run_python(project, "scripts/leaderboard.py", "--no-plot").returncode == 0
    assert not (out / "leaderboard.png").exists()


def test_leaderboard_lists_failed_runs_last_and_skips_unfinished_records(project):
    write_record(project, "exp001", "run001", 1.0)
    write_record(project, "exp001", "run002", status="failed")
    write_record(project, "exp001", "run003", status="interrupted")
    records = project / "data" / "output" / "exp" / "exp001"
    (records / ".run004.partial").mkdir()  # still training
    shutil.copytree(records / "run001", records / "run001.replaced-20250101-100000")  # kept after --force
    (project / "data" / "output" / "debug" / "exp001" / "run001").mkdir(parents=True)  # debug records are scratch

    result = run_python(project, "scripts/leaderboard.py", "--no-plot")

    assert result.returncode == 0, result.stderr
    board = read_board(project)
    assert [(r["run"], r["status"], r["rank"]) for r in board] == [
        ("run001", "done", "1"), ("run002", "failed", ""), ("run003", "interrupted", "")]
    assert board[1]["error"] == "ValueError: the model blew up"
    assert "failed: ValueError: the model blew up" in result.stdout


def test_leaderboard_filters_by_experiment_metric_and_top(project):
    for i in range(1, 6):
        write_record(project, "exp001", f"run{i:03d}", float(i))
    write_record(project, "exp002", "run001", 0.5)
    write_record(project, "exp003", "run001", 0.9, metric="auc")

    by_exp = run_python(project, "scripts/leaderboard.py", "--no-plot", "--exp", "exp002")
    top = run_python(project, "scripts/leaderboard.py", "--no-plot", "--top", "2", "--metric", "rmse")

    assert "exp002" in by_exp.stdout and "exp001  run" not in by_exp.stdout and "auc" not in by_exp.stdout
    runs = re.findall(r"(exp\d+)\s+(run\d+)", top.stdout)
    assert runs == [("exp002", "run001"), ("exp001", "run001")]
    assert len(read_board(project)) == 7  # the files always hold the whole board


def test_leaderboard_joins_public_lb_scores_from_saved_submissions(project):
    write_record(project, "exp001", "run001", 1.0)
    write_record(project, "exp001", "run002", 2.0)
    (project / "data" / "output" / "submissions.csv").write_text(textwrap.dedent("""\
        fileName,date,description,status,publicScore,privateScore
        submission.csv,2025-01-02 10:00:00,exp001/run001 cv=1.00000 newer,SubmissionStatus.COMPLETE,1.234,1.3
        submission.csv,2025-01-01 10:00:00,exp001/run001 cv=1.00000,SubmissionStatus.COMPLETE,1.5,
        submission.csv,2025-01-03 10:00:00,exp001/run002 cv=2.00000,SubmissionStatus.PENDING,,
        blend.csv,2025-01-04 10:00:00,a blend made by hand,SubmissionStatus.COMPLETE,0.9,
    """))

    result = run_python(project, "scripts/leaderboard.py", "--no-plot")

    assert result.returncode == 0, result.stderr
    board = {r["run"]: r for r in read_board(project)}
    assert (board["run001"]["public_lb"], board["run001"]["private_lb"]) == ("1.234", "1.3")
    assert board["run002"]["public_lb"] == ""
    assert "public LB" in result.stdout and "1.23400" in result.stdout


def test_leaderboard_reads_real_run_records(trained):
    result = run_python(trained, "scripts/leaderboard.py", "--no-plot")
    assert result.returncode == 0, result.stderr
    board = read_board(trained)
    assert [r["run"] for r in board if r["status"] == "done"] != [] and len(board) == 3
    assert {r["metric"] for r in board} == {"accuracy"}
    assert {r["model"] for r in board} == {"lightgbm"}
    assert any(r["changes"] == "model.params.min_child_samples=30" for r in board)
    assert any(r["changes"] == "model.params.lambda_l1=5" for r in board)


def test_leaderboard_on_a_new_project_says_how_to_start(project):
    result = run_python(project, "scripts/leaderboard.py")
    assert result.returncode == 0, result.stderr
    assert "python exp/exp001/exp.py" in result.stdout
