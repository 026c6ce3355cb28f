"""Tuning whose trials are runs: exp.py --tune N over SEARCH, shared by processes, pruned by fold, promoted to RUNS."""
import difflib
import json
import re
import time

import optuna
import pytest
import yaml
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from conftest import run_exp, run_python
from test_parallel import slow_training, start_exp, wait_for
from test_runs import EXP, set_config

pytestmark = pytest.mark.slow  # trials train runs, several processes at once

TUNE = f"{EXP}/tune"
SMALL_SEARCH = """
model:
  params:
    num_leaves: int(4, 32, log)
    learning_rate: float(0.05, 0.3, log)
"""


def set_search(project, text):
    """Replace SEARCH in exp001/exp.py (None removes it)."""
    path = project / "exp/exp001/exp.py"
    new = "" if text is None else f'SEARCH = """\n{text.strip()}\n"""\n'
    source, count = re.subn(r'SEARCH = """\n.*?\n"""\n', lambda _: new, path.read_text(), flags=re.S)
    assert count == 1
    path.write_text(source)


def study_of(project, name="exp001"):
    storage = JournalStorage(JournalFileBackend(str(project / TUNE / "journal.log")))
    return optuna.load_study(study_name=name, storage=storage)


def searched(record):
    """Give a record's snippet as {dotted key without +: value}, as the study names its parameters."""
    def flat(tree, prefix=""):
        for key, value in tree.items():
            dotted = prefix + str(key).lstrip("+")
            yield from flat(value, dotted + ".") if isinstance(value, dict) else [(dotted, value)]

    return dict(flat(yaml.safe_load((record / "config_update.yml").read_text())))


@pytest.fixture
def quick(project):
    """A project whose trials are quick: 3 folds, few rounds, a small SEARCH."""
    set_config(project, cv__n_splits=3, model__num_boost_round=20)
    set_search(project, SMALL_SEARCH)
    return project


def test_two_processes_add_eight_trials_to_one_study_each_trial_trained_once(quick):
    processes = [start_exp(quick, "--tune", "4") for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs

    study = study_of(quick)
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(8))
    assert {t.state for t in trials} == {TrialState.COMPLETE}
    stdout = "".join(out for out, _ in outputs)
    for trial in trials:
        name = f"trial{trial.number:04d}"
        assert len(re.findall(rf"exp001/{name} \(", stdout)) == 1, stdout
        record = quick / TUNE / name
        assert trial.user_attrs["record"] == f"{TUNE}/{name}"
        assert searched(record) == trial.params
        status = json.loads((record / "status.json").read_text())
        assert (status["status"], status["study"], status["trial"]) == ("done", "exp001", trial.number)
        assert status["cv"] == pytest.approx(trial.value)
    assert sorted(p.name for p in (quick / EXP).iterdir()) == ["tune"]  # RUNS' numbering untouched
    assert "best 5 by accuracy" in stdout


def test_a_hopeless_trial_is_pruned_after_some_folds_and_keeps_its_record(quick):
    set_config(quick, cv__n_splits=5)  # WilcoxonPruner needs 4 paired folds to be sure at p < 0.1
    set_search(quick, "model:\n  params:\n    min_child_samples: choice(5, 100)")
    (quick / TUNE).mkdir(parents=True)
    storage = JournalStorage(JournalFileBackend(str(quick / TUNE / "journal.log")))
    study = optuna.create_study(storage=storage, study_name="exp001", direction="maximize")
    study.enqueue_trial({"model.params.min_child_samples": 5})
    study.enqueue_trial({"model.params.min_child_samples": 100})  # no split possible: a third right in every fold

    result = run_exp(quick, "--tune", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    pruned = quick / TUNE / "trial0001.pruned"
    status = json.loads((pruned / "status.json").read_text())
    assert status["status"] == "pruned" and len(status["folds"]) == 4, status
    assert len(list((pruned / "models").glob("fold*"))) == 4
    assert (pruned / "log.txt").is_file() and (pruned / "config_update.yml").is_file()
    trial = study_of(quick).trials[1]
    assert trial.state == TrialState.PRUNED and trial.user_attrs["record"] == f"{TUNE}/trial0001.pruned"
    assert "trial0001 pruned" in result.stdout


def test_a_trial_whose_process_was_killed_is_marked_failed_and_its_values_tried_again(quick):
    slow_training(quick)
    victim = start_exp(quick, "--tune", "1", env={"TEST_SLEEP": "60"})
    wait_for(quick / TUNE / ".trial0000.partial.*")
    time.sleep(0.3)
    victim.kill()  # kill -9: no cleanup at all
    victim.communicate()

    result = run_exp(quick, "--tune", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "trial0000: marked failed" in result.stdout
    assert json.loads((quick / TUNE / "trial0000.failed/status.json").read_text())["status"] == "failed"
    assert json.loads((quick / TUNE / "trial0001/status.json").read_text())["status"] == "done"
    dead, retry = study_of(quick).trials
    assert (dead.state, retry.state) == (TrialState.FAIL, TrialState.COMPLETE)
    assert retry.params == dead.params and retry.user_attrs["retry_of"] == 0
    assert not list((quick / TUNE).glob(".trial*"))  # no claim or partial folder left


def test_the_promoted_trial_trains_as_a_normal_run_with_the_same_cv(quick):
    exp_py = quick / "exp/exp001/exp.py"
    assert run_exp(quick, "--tune", "2").returncode == 0
    before = exp_py.read_text()

    promoted = run_exp(quick, "--promote")

    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    after = exp_py.read_text()
    removed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("- ")]
    assert removed == []  # comments and layout kept: lines are only added
    best = study_of(quick).best_trial
    assert f"# promoted from tuning: study exp001, trial {best.number} " in after
    trained = run_exp(quick, "--run", "4")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    cv = json.loads((quick / EXP / "run004/metrics.json").read_text())["cv"]
    assert cv == best.value
    assert run_exp(quick, "--promote").stdout.count("in RUNS already, as run004") == 1
    board = run_python(quick, "scripts/leaderboard.py", "--no-plot")
    assert board.returncode == 0 and "run004" in board.stdout and "trial" not in board.stdout, board.stdout


BAD_SEARCHES = {
    "model:\n  params:\n    num_leavs: int(4, 32)": "unknown key model.params.num_leavs (did you mean "
    "model.params.num_leaves?)",
    "model:\n  params:\n    num_leaves: int(32, 4)": "low 32 is above high 4",
    "model:\n  params:\n    learning_rate: float(0, 0.3, log)": "a log scale needs bounds above 0",
    "model:\n  params:\n    num_leaves: choice()": "choice() is empty",
    "model:\n  params:\n    num_leaves: uniform(4, 32)": "uniform(...) is not a way to search",
    None: "exp.py has no SEARCH",
}


@pytest.mark.parametrize("search", BAD_SEARCHES, ids=["unknown key", "low above high", "log of 0", "empty choice",
                                                       "unknown kind", "no SEARCH"])
def test_a_bad_search_space_is_one_message_before_any_trial(quick, search):
    set_search(quick, search)

    result = run_exp(quick, "--tune", "1")

    assert result.returncode == 2, result.stdout + result.stderr
    assert BAD_SEARCHES[search] in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (quick / TUNE / "journal.log").exists()


def test_a_study_is_not_continued_with_another_space_or_metric_unless_renamed(quick):
    assert run_exp(quick, "--tune", "1").returncode == 0
    set_search(quick, SMALL_SEARCH.replace("int(4, 32, log)", "int(4, 64, log)"))
    other_space = run_exp(quick, "--tune", "1")
    set_search(quick, SMALL_SEARCH)
    set_config(quick, metric="f1")  # the direction is checked the same way; iris has no label metric to minimize
    other_metric = run_exp(quick, "--tune", "1")
    renamed = run_exp(quick, "--tune", "1", "--study", "f1")

    assert other_space.returncode == 2 and "made with another SEARCH" in other_space.stderr, other_space.stderr
    assert "int(4, 32, log) -> int(4, 64, log)" in other_space.stderr
    assert other_metric.returncode == 2 and "made to maximize accuracy" in other_metric.stderr, other_metric.stderr
    assert renamed.returncode == 0, renamed.stdout + renamed.stderr
    assert (quick / TUNE / "f1/trial0000/status.json").is_file()
    assert len(study_of(quick).trials) == 1


def test_tune_with_jobs_shares_the_trials_out_to_worker_processes(quick):
    result = run_exp(quick, "--tune", "3", "--jobs", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(t.number for t in study_of(quick).trials) == [0, 1, 2]
    assert all(len(re.findall(rf"exp001/trial000{n} \(", result.stdout)) == 1 for n in range(3)), result.stdout
    assert result.stdout.count("study exp001: 3 trials") == 1  # the table once, from the parent


def test_a_trial_s_record_is_used_like_a_run_s_by_predict_blend_leaderboard_and_package(quick, tmp_path):
    assert run_exp(quick, "--tune", "2", "--run", "1").returncode == 2  # (--run is refused with --tune)
    result = run_exp(quick, "--tune", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert run_exp(quick, "--run", "1").returncode == 0
    trial = quick / TUNE / "trial0001"

    predicted = run_python(quick, "exp/exp001/predict.py", "trial0001", "--test", "data/input/test.csv",
                           "--out", str(tmp_path / "submission.csv"))
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert (tmp_path / "submission.csv").read_text() == (trial / "submission.csv").read_text()

    blended = run_python(quick, "scripts/blend.py", "exp001/run001", "exp001/tune/trial0001")
    assert blended.returncode == 0, blended.stdout + blended.stderr
    assert "exp001/tune/trial0001" in json.loads((quick / "data/output/blend/blend001/blend.json").read_text())["runs"]

    board = run_python(quick, "scripts/leaderboard.py", "--no-plot")
    assert board.returncode == 0 and "trial0001" not in board.stdout, "trials stay off the board by default"
    with_trials = run_python(quick, "scripts/leaderboard.py", "--no-plot", "--trials")
    assert with_trials.returncode == 0 and "tune/trial0001" in with_trials.stdout, with_trials.stdout

    packaged = run_python(quick, "scripts/kaggle_cli.py", "package", "exp001/tune/trial0001", "--slug", "trial-one",
                          "--user", "alice")
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    shipped = {p.relative_to(quick / "data/output").as_posix() for p in (quick / "data/output").rglob("*")
               if p.is_file()}
    assert any(name.endswith("tune/trial0001/models/fold0.txt") for name in shipped), sorted(shipped)[:40]


def test_config_yml_s_tune_section_names_the_storage_and_switches_pruning_off(quick, tmp_path):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    set_config(quick, tune={"storage": url, "prune": False})
    result = run_exp(quick, "--tune", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    study = optuna.load_study(study_name="exp001", storage=url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]
    assert f"study exp001 in {url}: pruning off" in result.stdout, result.stdout
    assert (quick / TUNE / "exp001/trial0000/status.json").is_file()
    assert not (quick / TUNE / "journal.log").exists()
