"""Runs you can trust: strict config updates, a safe run lifecycle, a full record of every run."""
import importlib.util
import json
import re
import subprocess
import sys
import textwrap

import pytest
import yaml

from conftest import TEMPLATE, run_exp

EXP = "data/output/exp/exp001"


def set_runs(project, *snippets):
    """Replace RUNS in exp001/exp.py with these snippets."""
    path = project / "exp/exp001/exp.py"
    body = "".join(f'    """\n{textwrap.indent(textwrap.dedent(s).strip(), "    ")}\n    """,\n' for s in snippets)
    text = re.sub(r"RUNS = \[\n.*?\n\]\n", lambda _: f"RUNS = [\n{body}]\n", path.read_text(), flags=re.S)
    path.write_text(text)


def set_config(project, **changes):
    """Set dotted keys in exp001/config.yml, e.g. model__num_boost_round=5."""
    path = project / "exp/exp001/config.yml"
    config = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        section = config
        for key in parents:
            section = section[key]
        section[leaf] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def break_training(project, when):
    """Make the CV loop raise `when` is a Python condition on cfg that is true."""
    path = project / "exp/exp001/train.py"
    text = path.read_text()
    anchor = "    data = data_io.load_data(cfg, n_rows)\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + f"    if {when}:\n        raise RuntimeError('boom in user code')\n"))


def load_config_module():
    """Import the generated runner/config.py in this process (it needs only PyYAML and the runner beside it)."""
    folder = str(TEMPLATE / "{{cookiecutter.project_slug}}/exp/exp001")
    had = {name: module for name, module in sys.modules.items() if name == "runner" or name.startswith("runner.")}
    for name in had:
        del sys.modules[name]
    sys.path.insert(0, folder)
    try:
        return importlib.import_module("runner.config")
    finally:  # no generated runner left behind as this process's `runner`
        sys.path.remove(folder)
        for name in [n for n in sys.modules if n == "runner" or n.startswith("runner.")]:
            del sys.modules[name]
        sys.modules.update(had)


@pytest.fixture(scope="module")
def config():
    return load_config_module()


@pytest.fixture
def fast(project):
    """A project copy whose runs train in a fraction of a second."""
    set_config(project, model__num_boost_round=20)
    return project


# ---------------------------------------------------------------- config updates

def test_typo_in_run_is_reported_before_training(fast):
    set_runs(fast, "model:\n  params:\n    num_leaves: 7", "model:\n  params:\n    max_dpeth: 3")
    result = run_exp(fast)
    assert result.returncode == 2
    assert ("run002: unknown key model.params.max_dpeth (did you mean model.params.max_depth?). "
            "Keys at model.params: learning_rate, num_leaves, max_depth, min_child_samples, verbosity. "
            "To add a new key on purpose, write +max_dpeth.") in result.stderr
    assert "Traceback" not in result.stderr
    assert not (fast / EXP).exists(), "no run may start when any snippet is wrong"


def test_key_at_the_wrong_level_suggests_where_it_lives(config):
    base = {"model": {"name": "lightgbm", "params": {"max_depth": 5}}}
    with pytest.raises(config.ConfigError,
                       match=r"run001: unknown key model.max_depth \(did you mean model.params.max_depth\?\)"):
        config.merge_update(base, {"model": {"max_depth": 3}}, "run001")


@pytest.mark.slow
def test_plus_prefix_adds_a_key_on_purpose(fast):
    set_runs(fast, "model:\n  params:\n    +lambda_l2: 0.5")
    result = run_exp(fast)
    assert result.returncode == 0, result.stdout + result.stderr
    merged = yaml.safe_load((fast / EXP / "run001/config.yml").read_text())
    assert merged["model"]["params"]["lambda_l2"] == 0.5
    assert "+lambda_l2" in (fast / EXP / "run001/config_update.yml").read_text()


def test_merge_rules_sections_merge_lists_replace_null_sets(config):
    base = {"data": {"drop": ["a", "b"], "features": None}, "model": {"params": {"lr": 0.1, "depth": 3}}, "seed": 1}
    update = {"data": {"drop": ["c"], "features": ["x"]}, "model": {"params": {"depth": None}}, "seed": 2.5}
    merged = config.merge_update(base, update, "run001")
    assert merged == {"data": {"drop": ["c"], "features": ["x"]}, "model": {"params": {"lr": 0.1, "depth": None}},
                      "seed": 2.5}
    assert base["data"]["drop"] == ["a", "b"], "the base config must not change"
    assert config.merge_update(base, {}, "run001") == base
    assert config.parse_yaml("", "run001") == {}


@pytest.mark.parametrize("update, message", [
    ({"model": {"params": {"max_depth": "deep"}}},
     "model.params.max_depth is a number in config.yml (5) but this run sets a text"),
    ({"model": {"params": 3}}, "model.params is a section in config.yml"),
    ({"model": {"name": {"kind": "rf"}}},
     "model.name is a text in config.yml (\"lightgbm\") but this run sets a section"),
    ({"data": {"drop": "col"}}, "data.drop is a list in config.yml"),
    ({"model": {"params": {"+max_depth": 3}}}, "+model.params.max_depth adds a key that config.yml already has"),
])
def test_changing_the_kind_of_a_value_is_refused(config, update, message):
    base = {"model": {"name": "lightgbm", "params": {"max_depth": 5}}, "data": {"drop": []}}
    with pytest.raises(config.ConfigError) as error:
        config.merge_update(base, update, "run003")
    assert str(error.value).startswith("run003: ")
    assert message in str(error.value)


def test_a_number_and_a_list_of_numbers_replace_each_other(config):
    # image.size: 384 in config.yml, [384, 512] in a run (and back); the lab's own checks judge the shape
    base = {"image": {"size": 384, "crop": [0.8, 1.0]}, "data": {"drop": []}}
    merged = config.merge_update(base, {"image": {"size": [384, 512], "crop": 0.9}}, "run002")
    assert merged["image"] == {"size": [384, 512], "crop": 0.9}
    for update, message in (({"image": {"size": ["a", 2]}},
                             "image.size is a number in config.yml (384) but this run sets a list"),
                            ({"image": {"size": []}},
                             "image.size is a number in config.yml (384) but this run sets a list"),
                            ({"data": {"drop": 3}},
                             "data.drop is a list in config.yml ([]) but this run sets a number")):
        with pytest.raises(config.ConfigError, match=re.escape(message)):
            config.merge_update(base, update, "run002")


def test_whole_number_into_decimal_is_fine(config):
    merged = config.merge_update({"lr": 0.1, "depth": 3}, {"lr": 1, "depth": 2.5}, "run001")
    assert merged == {"lr": 1, "depth": 2.5}


def test_malformed_config_names_the_file_and_line(fast):
    path = fast / "exp/exp001/config.yml"
    lines = path.read_text().splitlines()
    lines[5] = "  train: [train.csv"
    path.write_text("\n".join(lines) + "\n")
    result = run_exp(fast, "--list")
    assert result.returncode == 2
    assert re.search(r"error: exp/exp001/config.yml, line \d+: this is not valid YAML", result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_snippet_names_the_run_and_its_line_in_exp_py(fast):
    set_runs(fast, "model:\n  params:\n    num_leaves: 7", "model:\n  params:\n  max_depth: [3")
    result = run_exp(fast, "--dry-run")
    assert result.returncode == 2
    match = re.search(r"run002 \(exp.py\), line (\d+): this is not valid YAML", result.stderr)
    assert match, result.stderr
    exp_lines = (fast / "exp/exp001/exp.py").read_text().splitlines()
    assert "max_depth: [3" in "\n".join(exp_lines[int(match.group(1)) - 3: int(match.group(1)) + 1])


# ---------------------------------------------------------------- lifecycle

@pytest.mark.slow
def test_finished_runs_are_skipped_and_force_keeps_the_old_record(fast):
    assert run_exp(fast, "--run", "1").returncode == 0
    first = (fast / EXP / "run001/status.json").read_text()
    again = run_exp(fast, "--run", "1")
    assert again.returncode == 0
    assert "skipping run001: already done" in again.stdout
    assert (fast / EXP / "run001/status.json").read_text() == first
    forced = run_exp(fast, "--run", "run001", "--force")
    assert forced.returncode == 0, forced.stderr
    replaced = list((fast / EXP).glob("run001.replaced-*"))
    assert len(replaced) == 1 and (replaced[0] / "status.json").read_text() == first
    assert json.loads((fast / EXP / "run001/status.json").read_text())["status"] == "done"


@pytest.mark.slow
def test_edited_snippet_of_a_finished_run_is_an_error(fast):
    assert run_exp(fast, "--run", "1").returncode == 0
    set_runs(fast, "model:\n  params:\n    num_leaves: 31", "model:\n  params:\n    max_depth: 3")
    result = run_exp(fast)
    assert result.returncode == 2
    assert "run001: the snippet in RUNS differs from the one saved" in result.stderr
    assert "append the new one at the end of RUNS" in result.stderr
    assert not (fast / EXP / "run002").exists()
    assert "changed" in run_exp(fast, "--list").stdout
    assert run_exp(fast, "--force", "--run", "1").returncode == 0


@pytest.mark.slow
def test_changed_config_makes_finished_runs_stale_until_forced(fast):
    assert run_exp(fast, "--run", "1").returncode == 0
    set_config(fast, cv__n_splits=4)
    result = run_exp(fast)
    assert result.returncode == 2
    assert "run001: config.yml has changed since these runs were made" in result.stderr
    assert "python scripts/new_exp.py" in result.stderr
    assert re.search(r"run001\s+stale", run_exp(fast, "--list").stdout)
    set_config(fast, debug__num_boost_round=3, cv__n_splits=5)  # back, plus a change that does not touch results
    assert re.search(r"run001\s+done", run_exp(fast, "--list").stdout)
    set_config(fast, cv__n_splits=4)
    assert run_exp(fast, "--force").returncode == 0
    assert len(json.loads((fast / EXP / "run001/metrics.json").read_text())["folds"]) == 4


@pytest.mark.slow
def test_crash_in_a_run_leaves_no_complete_looking_folder_and_the_rest_still_run(fast):
    break_training(fast, 'cfg["model"]["params"]["min_child_samples"] == 30')  # run002 of the example
    result = run_exp(fast)
    assert result.returncode == 1
    out = fast / EXP
    assert sorted(p.name for p in out.iterdir()) == ["run001", "run002.failed", "run003"]
    status = json.loads((out / "run002.failed/status.json").read_text())
    assert status["status"] == "failed" and "boom in user code" in status["error"]
    log = (out / "run002.failed/log.txt").read_text()
    assert "Traceback" in log and "RuntimeError: boom in user code" in log, "user code errors keep their traceback"
    assert not (out / "run002.failed/submission.csv").exists()
    listing = run_exp(fast, "--list").stdout
    assert re.search(r"run002\s+failed", listing) and re.search(r"run003\s+done", listing)
    assert "See log.txt in data/output/exp/exp001/run002.failed/" in result.stdout and "<run>" not in result.stdout



def test_a_picture_that_fails_on_its_thread_fails_the_run_with_its_traceback(fast):
    """The pictures are drawn on a second thread beside the CSVs (tabular/outputs.py): its error is still the run's."""
    path = fast / "exp/exp001/diagnostics.py"
    anchor = '    """Write the pictures that fit the task into run_dir; give their file names."""\n'
    assert anchor in path.read_text()
    path.write_text(path.read_text().replace(anchor, anchor + "    raise RuntimeError('boom in a picture')\n"))
    result = run_exp(fast, "--run", "1")
    assert result.returncode == 1
    out = fast / EXP
    assert sorted(p.name for p in out.iterdir()) == ["run001.failed"]
    log = (out / "run001.failed/log.txt").read_text()
    assert "Traceback" in log and "RuntimeError: boom in a picture" in log
    assert not (out / "run001.failed/metrics.json").exists()

def test_fail_fast_stops_at_the_first_failure(fast):
    break_training(fast, "True")
    result = run_exp(fast, "--fail-fast")
    assert result.returncode == 1
    assert sorted(p.name for p in (fast / EXP).iterdir()) == ["run001.failed"]


def test_interrupted_run_is_marked_and_stops_the_experiment(fast):
    path = fast / "exp/exp001/train.py"
    anchor = "    data = data_io.load_data(cfg, n_rows)\n"
    path.write_text(path.read_text().replace(anchor, anchor + "    raise KeyboardInterrupt\n"))
    result = run_exp(fast)
    assert result.returncode == 130
    assert "interrupted: run the same command again" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    out = fast / EXP
    assert sorted(p.name for p in out.iterdir()) == ["run001.failed"]
    assert json.loads((out / "run001.failed/status.json").read_text())["status"] == "interrupted"


@pytest.mark.slow
def test_leftover_of_a_killed_run_is_not_done_and_is_replaced(fast):
    leftover = fast / EXP / ".run001.partial"
    leftover.mkdir(parents=True)
    (leftover / "metrics.json").write_text("{}")
    assert re.search(r"run001\s+not run", run_exp(fast, "--list").stdout)
    assert run_exp(fast, "--run", "1").returncode == 0
    assert not leftover.exists() and (fast / EXP / "run001/status.json").is_file()


@pytest.mark.slow
def test_list_shows_each_run_with_its_snippet_and_status(fast):
    assert run_exp(fast, "--run", "2").returncode == 0
    lines = run_exp(fast, "--list").stdout.splitlines()
    assert re.fullmatch(r"run001\s+not run\s+model\.params\.num_leaves=4", lines[0])
    assert re.fullmatch(r"run002\s+done\s+accuracy=0\.\d+\s+model\.params\.min_child_samples=30", lines[1])
    assert len(lines) == 3


def test_dry_run_shows_changes_and_writes_nothing(fast):
    result = run_exp(fast, "--dry-run")
    assert result.returncode == 0
    assert ("run002:\n  model.params.min_child_samples: 5 -> 30\nrun003:\n  model.params.lambda_l1: (new) -> 5"
            in result.stdout)
    assert not (fast / "data/output/exp").exists() and not (fast / "data/output/folds").exists()


@pytest.mark.slow
def test_debug_runs_are_written_apart_from_real_runs(fast):
    result = run_exp(fast, "--debug", "--run", "1")
    assert result.returncode == 0, result.stderr
    assert run_exp(fast, "--debug", "--run", "1").returncode == 0
    assert [p.name for p in (fast / "data/output/debug/exp001").iterdir()] == ["run001"], "debug records are scratch"
    assert (fast / "data/output/debug/exp001/run001/status.json").is_file()
    assert not (fast / EXP).exists()
    debug_config = yaml.safe_load((fast / "data/output/debug/exp001/run001/config.yml").read_text())
    assert debug_config["model"]["num_boost_round"] == 10


def test_unknown_run_number_is_a_clear_error(fast):
    result = run_exp(fast, "--run", "7")
    assert result.returncode == 2
    assert "there is no run007; RUNS has run001 to run003" in result.stderr


# ---------------------------------------------------------------- the record

@pytest.mark.slow
def test_record_holds_provenance_with_git_commit_and_uncommitted_diff(fast):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q"], cwd=fast, check=True)
    subprocess.run(["git", "add", "-A"], cwd=fast, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=fast, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=fast, capture_output=True, text=True).stdout.strip()
    with open(fast / "exp/exp001/models/__init__.py", "a") as f:
        f.write("\n# an uncommitted idea\n")
    assert run_exp(fast, "--run", "1").returncode == 0
    run = fast / EXP / "run001"
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["git"] == {"commit": commit, "dirty": True}
    assert "an uncommitted idea" in (run / "git.diff").read_text()
    assert "an uncommitted idea" in (run / "src/models/__init__.py").read_text()
    assert provenance["seed"] == 42 and provenance["packages"]["lightgbm"]
    assert provenance["command"][1].endswith("exp.py") and provenance["command"][2:] == ["--run", "1"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["direction"] == "maximize" and len(metrics["folds"]) == 5 and len(metrics["best_iterations"]) == 5
    log = (run / "log.txt").read_text()
    assert "fold 5/5" in log and "CV accuracy" in log


@pytest.mark.slow
def test_an_edit_made_while_the_runs_train_stays_out_of_their_saved_code(fast):
    # add_features runs while the process reads the data, after it started: there it edits models/ on disk,
    # as a user does mid-sweep. The process goes on with the code it imported, so src/ must hold that code.
    data_py, model_py = fast / "exp/exp001/features.py", fast / "exp/exp001/models/__init__.py"
    started_with = model_py.read_text()
    edit = ('    with open(__import__("runner").util.ROOT / "exp/exp001/models/__init__.py", "a") as f:\n'
            '        f.write("\\n# edited while the runs trained\\n")\n    return frame\n\n\n# ----')
    data_py.write_text(data_py.read_text().replace("    return frame\n\n\n# ----", edit, 1))
    assert run_exp(fast, "--run", "1-2").returncode == 0
    assert "edited while the runs trained" in model_py.read_text()
    for run in ("run001", "run002"):
        assert (fast / EXP / run / "src/models/__init__.py").read_text() == started_with, run
        assert (fast / EXP / run / "src/features.py").read_text() == data_py.read_text(), run


SNAPSHOTS = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from runner import record
out = Path(sys.argv[2])
record.snapshot_sources(out / "a")
record.snapshot_sources(out / "b")  # linked to a
with open(out / "b" / "train.py", "a") as f:  # an edit in place of a saved file: not linked from again
    f.write("# edited in a record")
record.snapshot_sources(out / "c")
same = lambda x, y: (out / x / "train.py").stat().st_ino == (out / y / "train.py").stat().st_ino
print(json.dumps({"a_b_linked": same("a", "b"), "b_c_linked": same("b", "c"),
                  "c_as_read": (out / "c" / "train.py").read_bytes() == record.sources()["train.py"]}))
"""


@pytest.mark.slow
def test_runs_of_one_process_share_their_saved_code_and_a_changed_copy_is_not_linked_from(fast, tmp_path):
    assert run_exp(fast, "--run", "1-2").returncode == 0
    first, second = (fast / EXP / run / "src" for run in ("run001", "run002"))
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())
    for path in first.rglob("*"):  # one file, linked: the same bytes at a fifth of the cost of writing them
        name = path.relative_to(first)
        if path.is_file():
            assert path.stat().st_ino == (second / name).stat().st_ino, name
            assert path.read_bytes() == (fast / "exp/exp001" / name).read_bytes(), name
    script = tmp_path / "snapshots.py"
    script.write_text(SNAPSHOTS)
    result = subprocess.run([sys.executable, str(script), str(fast / "exp/exp001"), str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"a_b_linked": True, "b_c_linked": False, "c_as_read": True}


@pytest.mark.slow
def test_every_run_shares_one_fold_assignment(fast):
    assert run_exp(fast, "--run", "1-2").returncode == 0
    folds = [p.name for p in (fast / "data/output/folds").iterdir()]
    assert len(folds) == 1
    first = (fast / EXP / "run001/oof.csv").read_text().splitlines()
    second = (fast / EXP / "run002/oof.csv").read_text().splitlines()
    assert [row.split(",")[:3] for row in first] == [row.split(",")[:3] for row in second]


def test_submission_with_wrong_ids_is_refused(fast):
    sample = fast / "data/input/sample_submission.csv"
    sample.write_text(sample.read_text().replace("id,species", "row_id,species"))
    result = run_exp(fast, "--run", "1")
    assert result.returncode == 2
    assert "sample_submission.csv: no column 'id'. Columns are: row_id, species" in result.stderr
    assert "Traceback" not in result.stderr


def test_submission_check_refuses_ids_out_of_order(fast):
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, "exp/exp001")
        import pandas as pd
        from runner import util
        from tabular import submission
        sample = pd.DataFrame({"id": [1, 2, 3], "y": ["a", "b", "a"]})
        submission.check_submission(sample.copy(), sample, "id")
        for bad in (sample.iloc[::-1], sample.rename(columns={"id": "ID"}), sample.assign(y=[None, "b", "a"])):
            try:
                submission.check_submission(bad.reset_index(drop=True), sample, "id")
            except util.DataError as e:
                print("refused:", e)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=fast, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    refusals = result.stdout.splitlines()
    assert len(refusals) == 3
    assert ("ids" in refusals[0] and "differ from sample_submission" in refusals[0] and "columns" in refusals[1]
            and "missing values in y" in refusals[2])


def test_deleted_config_key_is_a_message_not_a_traceback(fast):
    path = fast / "exp/exp001/config.yml"
    path.write_text("\n".join(line for line in path.read_text().splitlines()
                              if not line.startswith("  scheme:")) + "\n")
    result = run_exp(fast, "--dry-run")
    assert result.returncode == 2
    assert "config.yml: no key 'scheme', which the code reads. Fix: add it back" in result.stderr
    assert "Traceback" not in result.stderr


def test_mistake_in_config_yml_is_blamed_on_it_with_the_closest_value(fast):
    set_config(fast, metric="AUC")
    result = run_exp(fast, "--dry-run")
    assert result.returncode == 2
    assert ("error: config.yml: metric is 'AUC' (did you mean auc?); allowed: accuracy, f1, auc, logloss"
            in result.stderr)


# ---------------------------------------------------------------- RUNS itself, and what the end of a call says

def set_runs_source(project, source):
    """Replace the whole RUNS assignment in exp001/exp.py by `source`."""
    path = project / "exp/exp001/exp.py"
    path.write_text(re.sub(r"RUNS = \[\n.*?\n\]\n", lambda _: source + "\n", path.read_text(), flags=re.S))


@pytest.mark.parametrize("source, problem", [
    ('RUNS = [{"model": {"params": {"num_leaves": 4}}}]',
     'RUNS item 1 (run001) is {"model": {"params": {"num_leaves": 4}}}'),
    ("RUNS = [None]", "RUNS item 1 (run001) is null"),
    ('RUNS = ["model:\\n  params:\\n    num_leaves: 4", 4]', "RUNS item 2 (run002) is 4"),
    ('RUNS = """\nmodel:\n  params:\n    num_leaves: 4\n"""', "RUNS is one text, not a list of snippets"),
])
def test_malformed_runs_list_is_one_message_saying_how_to_write_it(fast, source, problem):
    set_runs_source(fast, source)
    result = run_exp(fast, "--list")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: exp.py: {problem}" in result.stderr
    assert "Write it as a list of YAML snippets in triple quotes, one per run" in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_runs_and_a_backwards_range_say_what_is_wrong(fast):
    backwards = run_exp(fast, "--run", "3-1")
    assert backwards.returncode == 2
    assert ("--run 3-1: the range 3-1 runs backwards, so it names no run. Fix: write the smaller number first, "
            "--run 1-3" in backwards.stderr)
    set_runs_source(fast, "RUNS = []")
    empty = run_exp(fast)
    assert empty.returncode == 2
    assert "exp.py: RUNS is empty, so there is nothing to run" in empty.stderr
    assert "every run is done" not in empty.stdout + empty.stderr


@pytest.mark.slow
def test_snippet_inserted_at_the_top_is_refused_even_when_only_a_new_run_is_asked_for(fast):
    set_runs(fast, "model:\n  params:\n    num_leaves: 4", "model:\n  params:\n    num_leaves: 5")
    assert run_exp(fast, "--run", "1").returncode == 0
    set_runs(fast, "model:\n  params:\n    num_leaves: 9", "model:\n  params:\n    num_leaves: 4",
             "model:\n  params:\n    num_leaves: 5")
    result = run_exp(fast, "--run", "3")
    assert result.returncode == 2
    assert ("run001: the snippet in RUNS differs from the one saved in data/output/exp/exp001/run001/config_update.yml"
            in result.stderr)
    assert "<run>" not in result.stderr
    assert not (fast / EXP / "run003").exists()


@pytest.mark.slow
def test_summary_marks_the_best_run_of_the_whole_experiment(fast):
    set_runs(fast, "model:\n  params:\n    num_leaves: 4", "model:\n  params:\n    min_child_samples: 30")
    assert run_exp(fast, "--run", "1").returncode == 0
    result = run_exp(fast, "--run", "2")
    assert result.returncode == 0
    scores = {run: json.loads((fast / EXP / run / "metrics.json").read_text())["cv"] for run in ("run001", "run002")}
    assert scores["run001"] > scores["run002"], "the test needs run001 to score better"
    assert re.search(r"run002  accuracy=0\.\d+\n", result.stdout), "run002 is not marked best"
    assert "finished before:\n" in result.stdout
    assert re.search(rf"run001  accuracy={scores['run001']:.5f}  <- best\n", result.stdout), result.stdout


def test_empty_config_yml_is_blamed_on_config_yml(fast):
    (fast / "exp/exp001/config.yml").write_text("# nothing here yet\n")
    result = run_exp(fast, "--dry-run")
    assert result.returncode == 2
    assert "error: exp/exp001/config.yml is empty (or holds only comments). Fix: restore it" in result.stderr
    assert "run001" not in result.stderr
