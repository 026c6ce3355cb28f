"""A finished run stays done until what changes its numbers changes: config that trains otherwise, and code (named).

An inert key added to config.yml leaves runs done; a changed value makes them stale, yet `--run N` still
trains run N; runs trained with other code than today's are named at the start and in --list.
"""
import json
import re

from conftest import run_exp

EXP = "data/output/exp/exp001"


def append_to_config(project, text):
    config = project / "exp/exp001/config.yml"
    config.write_text(config.read_text() + text)


def append_run(project, snippet):
    exp_py = project / "exp/exp001/exp.py"
    text = exp_py.read_text()
    end = text.index("\n]\n", text.index("RUNS = ["))
    exp_py.write_text(text[:end] + f'\n    """\n    {snippet}\n    """,' + text[end:])


def statuses(project):
    listed = run_exp(project, "--list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return dict(re.findall(r"^(run\d{3})\s+(\S+)", listed.stdout, re.M)), listed.stdout


def test_a_key_added_to_config_yml_with_null_leaves_finished_runs_done(trained):
    append_to_config(trained, "\nnotes_for_later:\n  augment_rotate: null   # tried later\n")
    assert statuses(trained)[0] == {"run001": "done", "run002": "done", "run003": "done"}
    again = run_exp(trained)
    assert again.returncode == 0 and "nothing to run" in again.stdout + again.stderr


def test_a_key_added_with_a_value_or_a_changed_value_makes_runs_stale(trained):
    append_to_config(trained, "\nnotes_for_later:\n  augment_rotate: 15\n")
    assert set(statuses(trained)[0].values()) == {"stale"}


def test_run_n_trains_while_other_runs_are_stale_and_names_them(trained):
    config = trained / "exp/exp001/config.yml"
    config.write_text(config.read_text().replace("  n_splits: 5", "  n_splits: 4", 1))
    append_run(trained, "seed: 7")
    everything = run_exp(trained)
    assert everything.returncode == 2 and "run001, run002, run003: config.yml has changed" in everything.stderr
    result = run_exp(trained, "--run", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run001-003 no longer match their records: config.yml changed since" in result.stdout + result.stderr
    assert json.loads((trained / EXP / "run004/status.json").read_text())["status"] == "done"
    stale_asked = run_exp(trained, "--run", "2")
    assert stale_asked.returncode == 2 and "run002: config.yml has changed" in stale_asked.stderr


def test_runs_trained_with_other_code_are_named_at_the_start_and_in_the_list(trained):
    assert "other code" not in statuses(trained)[1]
    train_py = trained / "exp/exp001/train.py"
    train_py.write_text(train_py.read_text() + "\n# an edit that could change every prediction\n")
    states, listed = statuses(trained)
    assert set(states.values()) == {"done"}  # still done: code is edited on purpose while an experiment grows
    assert len(re.findall(r"\(trained with other code: scripts/diff_runs.py shows it\)", listed)) == 3
    append_run(trained, "seed: 7")
    result = run_exp(trained)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note: run001-003 were trained with other code than today's" in result.stdout + result.stderr
    assert "other code" not in re.search(r"^run004.*$", statuses(trained)[1], re.M).group(0)


def test_a_record_made_before_runs_kept_their_code_digest_is_read_from_its_src(trained):
    for run in ("run001", "run002", "run003"):
        status_json = trained / EXP / run / "status.json"
        status = json.loads(status_json.read_text())
        assert status.pop("code")  # what older records lack
        status_json.write_text(json.dumps(status))
    assert "other code" not in statuses(trained)[1]  # their src/ is today's code
    (trained / EXP / "run002/src/features.py").write_text("# an older features.py\n")
    listed = statuses(trained)[1]
    assert re.search(r"^run002.*other code", listed, re.M) and not re.search(r"^run001.*other code", listed, re.M)
