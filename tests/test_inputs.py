"""Bad inputs: each mistake in config.yml, a snippet or the data files gets one clear message before training.

Each test breaks one thing in a fresh copy of the baked iris project and checks the message says
what is wrong, where, and how to fix it; that the exit code is 2; and that no run record was written.
"""
import json
import re
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_exp, run_python

EXP_DIR = "exp/exp001"
OUT = "data/output/exp"


# ---------------------------------------------------------------- helpers

def set_runs(project, *snippets):
    """Replace RUNS in exp001/exp.py with these snippets (given as plain YAML text)."""
    path = project / EXP_DIR / "exp.py"
    body = "".join(f'    """\n{textwrap.indent(textwrap.dedent(s).strip(), "    ")}\n    """,\n' for s in snippets)
    text, count = re.subn(r"RUNS = \[\n.*?\n\]\n", lambda _: f"RUNS = [\n{body}]\n", path.read_text(), flags=re.S)
    assert count == 1
    path.write_text(text)


def edit_config(project, **changes):
    """Set dotted keys (cv__group -> cv.group) in exp001/config.yml; boosting stays short."""
    path = project / EXP_DIR / "config.yml"
    config = yaml.safe_load(path.read_text())
    for dotted, value in {"model__num_boost_round": 5, "model__early_stopping_rounds": None, **changes}.items():
        *parents, leaf = dotted.split("__")
        section = config
        for key in parents:
            section = section[key]
        section[leaf] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def edit_file(project, name, change):
    """Give data/input/<name> to `change` (a function of the frame) and write back what it returns."""
    path = project / "data/input" / name
    change(pd.read_csv(path)).to_csv(path, index=False)


def assert_refused(result, project, *phrases):
    """The command stopped with a message (exit 2, no traceback) holding each phrase, and wrote no run record."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, f"{phrase!r} not in:\n{result.stderr}"
    assert not (project / OUT).exists()


# ---------------------------------------------------------------- config.yml and snippets

def test_key_given_twice_in_config_yml_is_reported_with_both_lines(project):
    path = project / EXP_DIR / "config.yml"
    text = path.read_text()
    path.write_text(text.replace("seed: 42\n\ndebug:", "seed: 42\nseed: 7\n\ndebug:"))
    line = text[:text.index("seed: 42\n\ndebug:")].count("\n") + 1

    result = run_exp(project, "--dry-run")

    assert_refused(result, project, f"config.yml, line {line + 1}: key 'seed' is given twice in the same section "
                                    f"(first on line {line})", "Fix: delete one of the two")


def test_key_given_twice_in_a_snippet_is_reported_with_its_line_in_exp_py(project):
    set_runs(project, "model:\n  params:\n    num_leaves: 4\n    num_leaves: 8")

    result = run_exp(project, "--list")

    assert_refused(result, project, "key 'num_leaves' is given twice in the same section", "Fix: delete one of the two")
    match = re.search(r"run001 \(exp.py\), line (\d+): .* \(first on line (\d+)\)", result.stderr)
    assert match and int(match.group(1)) == int(match.group(2)) + 1, result.stderr
    exp_lines = (project / EXP_DIR / "exp.py").read_text().splitlines()
    assert exp_lines[int(match.group(1)) - 1].strip() == "num_leaves: 8", result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("snippet, where, fix", [
    ("+num_leaves: 4", "+num_leaves adds a key at the top level", "Fix: set model.params.num_leaves instead"),
    ("model:\n  +num_leaves: 4", "+model.num_leaves adds a key at model", "Fix: set model.params.num_leaves instead"),
    ("data:\n  +my_switch: 1", "+data.my_switch adds a key at data",
     "put +my_switch under features: and read it in add_features"),
])
@pytest.mark.parametrize("option", ["--list", "--dry-run"])
def test_plus_key_where_no_code_reads_it_is_refused_even_in_list_and_dry_run(project, snippet, where, fix, option):
    set_runs(project, snippet)

    result = run_exp(project, option)

    assert_refused(result, project, f"run001: {where}, where no code reads new keys",
                   "Keys can be added only in model.params and features", fix)


def test_unknown_key_where_plus_is_refused_says_where_new_keys_can_go(project):
    set_runs(project, "model:\n  objective: huber")

    result = run_exp(project, "--dry-run")

    assert_refused(result, project, "run001: unknown key model.objective. Keys at model: name, device, seeds, params,",
                   "New keys can be added (as +objective) only in model.params and features.")
    assert "write +objective" not in result.stderr


@pytest.mark.slow
def test_plus_key_in_features_reaches_add_features(project):
    path = project / EXP_DIR / "features.py"
    source = path.read_text()
    stub = "    return frame\n\n\n# ----"
    assert stub in source
    path.write_text(source.replace(stub, '    if options.get("petal_area"):\n'
                                         '        frame["petal_area"] = frame["petal_length"] * frame["petal_width"]\n'
                                         + stub))
    edit_config(project)
    set_runs(project, "features:\n  +petal_area: true")

    result = run_exp(project)

    assert result.returncode == 0, result.stdout + result.stderr
    spec = json.loads((project / OUT / "exp001/run001/features.json").read_text())
    assert "petal_area" in spec["features"]


@pytest.mark.parametrize("section", ["model", "cv"])
def test_section_set_to_null_in_a_snippet_is_refused(project, section):
    set_runs(project, f"{section}: null")

    result = run_exp(project, "--dry-run")

    assert_refused(result, project, f"run001: {section} is a section in config.yml but this run sets it to null",
                   f"Fix: change the keys inside it instead ({section}.")


def test_section_set_to_null_in_config_yml_is_refused(project):
    path = project / EXP_DIR / "config.yml"
    text = path.read_text()
    path.write_text(text[:text.index("cv:\n")] + "cv: null\n\nmodel:" + text.split("\nmodel:", 1)[1])

    result = run_exp(project, "--list")

    assert_refused(result, project, "config.yml: cv is null, but it must be a section", "Fix: restore the section")


def test_empty_config_yml_is_blamed_on_config_yml_not_on_a_run(project):
    (project / EXP_DIR / "config.yml").write_text("# nothing here yet\n")

    result = run_exp(project, "--list")

    assert_refused(result, project, "error: exp/exp001/config.yml is empty (or holds only comments). Fix: restore it")
    assert "run001" not in result.stderr


def test_config_nested_hundreds_of_levels_deep_is_a_message_not_a_recursion_error(project):
    path = project / EXP_DIR / "config.yml"
    deep = "".join("  " * i + f"level{i}:\n" for i in range(400)) + "  " * 400 + "x: 1\n"
    path.write_text(path.read_text() + "\n" + deep)

    result = run_exp(project, "--list")

    assert_refused(result, project, "config.yml, line ", "nested more than 50 levels deep",
                   "Fix: check the indentation")


def test_alias_bomb_in_a_snippet_is_refused_quickly(project):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    set_runs(project, "\n".join(lines))  # 9**9 values once expanded

    started = time.perf_counter()
    result = run_exp(project, "--list", timeout=60)

    assert time.perf_counter() - started < 20
    assert_refused(result, project, "run001 (exp.py), line ", "expands to more than 100,000 values",
                   "Fix: write the values out")


def test_python_tag_is_refused_as_a_tag_not_as_bad_indentation(project):
    set_runs(project, "seed: !!python/object/apply:os.system ['echo hacked']")

    result = run_exp(project, "--dry-run")

    assert_refused(result, project, "YAML tags (like !!python/object) are not allowed", "Fix: write a plain value")
    assert "indentation" not in result.stderr and "hacked" not in result.stdout


# ---------------------------------------------------------------- columns named in the config

@pytest.mark.parametrize("changes, phrases", [
    ({"data__drop": ["petal_widht"]},
     ["data.drop names 'petal_widht', which is not a column of data/input/train.csv (did you mean 'petal_width'?)",
      "Columns are: id, sepal_length"]),
    ({"data__categorical": ["sepal_lenght"]},
     ["data.categorical names 'sepal_lenght', which is not a feature (did you mean 'sepal_length'?)"]),
    ({"cv__scheme": "group", "cv__group": "Sepal_Widht"},
     ["cv.group is 'Sepal_Widht', which is not a column of the train file (did you mean 'sepal_width'?)"]),
])
def test_misspelled_column_in_a_column_list_is_reported_with_the_closest_match(project, changes, phrases):
    edit_config(project, **changes)

    result = run_exp(project)

    assert_refused(result, project, *phrases)


# ---------------------------------------------------------------- data files

@pytest.mark.parametrize("name", ["train.csv", "test.csv"])
def test_repeated_ids_are_reported_before_training(project, name):
    edit_file(project, name, lambda frame: frame.assign(id=frame["id"].where(frame.index != 1, frame["id"][0])))
    first = pd.read_csv(project / "data/input" / name)["id"][0]

    result = run_exp(project)

    assert_refused(result, project,
                   f"data/input/{name}: 1 ids in column 'id' are on more than one row (e.g. '{first}', 2 times)",
                   "Fix: set data.id in config.yml to a column unique on every row")


def test_a_column_named_twice_in_a_header_is_blamed_on_its_own_file(project):
    # pandas would read the second as 'sepal_length.1', which the test file lacks: the message blamed test.csv.
    path = project / "data/input/train.csv"
    header, rest = path.read_text().split("\n", 1)
    path.write_text(header.replace("sepal_width", "sepal_length") + "\n" + rest)

    result = run_exp(project)

    assert_refused(result, project, "data/input/train.csv: its header names column 'sepal_length' more than once")


def test_an_unnamed_index_column_is_left_out_of_the_features_with_a_warning(project):
    for name in ("train.csv", "test.csv"):  # as pandas' to_csv writes them by default
        frame = pd.read_csv(project / "data/input" / name)
        frame.to_csv(project / "data/input" / name)

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "data/input/train.csv: its first column ('Unnamed: 0') is a row index pandas wrote" in result.stdout
    features = json.loads((project / OUT / "exp001/run001/features.json").read_text())["features"]
    assert list(features) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_an_index_written_by_reset_index_goes_and_a_row_number_column_is_named_with_data_drop(project):
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(project / "data/input" / name)
        frame.reset_index().to_csv(project / "data/input" / name, index=False)  # a column 'index': 0, 1, 2, ...
    train = pd.read_csv(project / "data/input/train.csv")
    train.insert(0, "row", range(1, len(train) + 1))  # an index under a name of its own, counted from 1
    train.to_csv(project / "data/input/train.csv", index=False)
    test = pd.read_csv(project / "data/input/test.csv")
    test.insert(0, "row", range(1, len(test) + 1))
    test.to_csv(project / "data/input/test.csv", index=False)

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "data/input/train.csv: its first column 'row' is the row number (1, 2, 3, ...)" in out, out
    assert "add it to data.drop in config.yml" in out
    assert "its first column ('index') is a row index pandas wrote" not in out, "'index' is second here: it stays"
    features = json.loads((project / OUT / "exp001/run001/features.json").read_text())["features"]
    assert list(features)[:2] == ["row", "index"]


def test_a_leading_index_column_from_reset_index_is_left_out(project):
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(project / "data/input" / name)
        frame.reset_index().to_csv(project / "data/input" / name, index=False)

    result = run_exp(project, "--run", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "data/input/train.csv: its first column ('index') is a row index pandas wrote" in result.stdout
    features = json.loads((project / OUT / "exp001/run001/features.json").read_text())["features"]
    assert list(features) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_target_with_one_class_is_reported_before_training(project):
    edit_file(project, "train.csv", lambda frame: frame.assign(species="setosa"))

    result = run_exp(project)

    assert_refused(result, project, "target 'species' has one value only ('setosa' on all 120 rows)",
                   "Fix: check that data.target names the target")


def test_test_file_without_rows_is_reported_before_training(project):
    edit_file(project, "test.csv", lambda frame: frame.iloc[:0])

    result = run_exp(project)

    assert_refused(result, project, "data/input/test.csv has no rows, only the header", "Fix: download")


def test_sample_ids_missing_from_the_test_file_are_reported_before_training(project):
    edit_file(project, "sample_submission.csv", lambda frame: frame.assign(id=frame["id"] + 100000))

    result = run_exp(project)

    assert_refused(result, project, "data/input/sample_submission.csv: 30 of its 30 ids are not in data/input/test.csv",
                   "Fix: use the competition's own files")


def test_sample_with_an_extra_column_is_reported_before_training(project):
    edit_file(project, "sample_submission.csv", lambda frame: frame.assign(Usage="Public"))

    result = run_exp(project)

    assert_refused(result, project, "data/input/sample_submission.csv: cannot fill columns species, Usage",
                   "or the id and one column per class (setosa, versicolor, virginica)")


def test_one_column_sample_for_a_probability_metric_is_reported_before_training(project):
    edit_config(project, metric="logloss")  # multiclass logloss needs one probability column per class

    result = run_exp(project)

    assert_refused(result, project, "sample_submission.csv has one prediction column (species) but metric logloss "
                   "needs one probability column per class (setosa, versicolor, virginica)",
                   "Fix: choose a label metric such as accuracy or f1")


def test_negative_target_for_rmsle_is_reported_before_training(project):
    edit_file(project, "train.csv", lambda frame: frame.assign(species=frame["sepal_length"] - 6))
    edit_config(project, task="regression", metric="rmsle", cv__scheme="kfold")

    result = run_exp(project)

    assert_refused(result, project, "target 'species' has negative values, which metric rmsle cannot score",
                   "Fix: set metric to rmse or mae in config.yml")


@pytest.mark.slow
def test_notice_that_does_not_change_is_said_once_per_call(project):
    for name in ("train.csv", "test.csv"):
        edit_file(project, name, lambda frame: frame.assign(color=np.where(frame["sepal_length"] > 5.8, "red", "blue")))
    edit_config(project)
    set_runs(project, "data:\n  drop: []", "data:\n  drop: [sepal_width]")  # two data sections: two reads

    result = run_exp(project)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("non-numeric columns used as categorical features: color") == 1


# ---------------------------------------------------------------- predicting another test file

def test_each_run_saves_its_feature_spec(trained_project):
    spec = json.loads((trained_project / OUT / "exp001/run001/features.json").read_text())

    assert spec["classes"] == ["setosa", "versicolor", "virginica"] and spec["task"] == "multiclass"
    assert list(spec["features"]) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]


PREDICT_SCRIPT = '''
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent / "exp/exp001"))
import data
from runner import util
from runner.config import load_config

util.setup_logging()
cfg = load_config(util.EXP_DIR / "config.yml")
dataset = data.load_data(cfg)
spec = json.loads(json.dumps(dataset.spec))  # as read back from features.json
full, full_ids = data.load_test_for_prediction(cfg, spec, "data/input/test.csv")
part, part_ids = data.load_test_for_prediction(cfg, spec, sys.argv[1])
print("LEVELS", json.dumps(spec["levels"]))
print("SAME_AS_RUN", full.equals(dataset.X_test))
for frame, ids, name in ((full, full_ids, "full"), (part, part_ids, "part")):
    codes = frame.assign(city=frame["city"].cat.codes).set_index(ids.to_numpy())
    codes.to_csv(name + "_codes.csv")
'''


def test_a_hidden_test_file_gets_the_same_features_as_the_full_test_file(project):
    rng = np.random.default_rng(0)
    for name in ("train.csv", "test.csv"):
        edit_file(project, name, lambda frame: frame.assign(city=rng.choice(["kyoto", "osaka", "tokyo"], len(frame))))
    edit_file(project, "test.csv", lambda frame: frame.assign(city=frame["city"].where(frame.index != 0, "sapporo")))
    test = pd.read_csv(project / "data/input/test.csv")
    # Shuffled, no "kyoto" (so fewer levels than train), one row with a city train never had.
    hidden = test[~test["city"].isin(["kyoto", "sapporo"])].sample(frac=1, random_state=1)
    hidden.iloc[1, hidden.columns.get_loc("city")] = "nagoya"
    hidden.to_csv(project / "hidden.csv", index=False)
    (project / "predict_check.py").write_text(PREDICT_SCRIPT)

    result = run_python(project, "predict_check.py", str(project / "hidden.csv"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert 'LEVELS {"city": ["kyoto", "osaka", "tokyo"]}' in result.stdout  # train's levels only, not sapporo
    assert "SAME_AS_RUN True" in result.stdout
    assert ("data/input/test.csv: 1 rows of city have values train does not have (sapporo); they count as missing"
            in result.stdout)
    assert "hidden.csv: 1 rows of city have values train does not have (nagoya); they count as missing" in result.stdout
    full = pd.read_csv(project / "full_codes.csv", index_col=0)
    part = pd.read_csv(project / "part_codes.csv", index_col=0)
    unseen = hidden["id"].iloc[1]
    assert part.loc[unseen, "city"] == -1
    rest = part.drop(index=unseen)
    pd.testing.assert_frame_equal(rest, full.loc[rest.index])
    assert full.loc[test["id"][0], "city"] == -1


REFUSE_SCRIPT = '''
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent / "exp/exp001"))
import data
from runner import util
from runner.config import load_config

cfg = load_config(util.EXP_DIR / "config.yml")
spec = json.loads(json.dumps(data.load_data(cfg).spec))
for name in sys.argv[1:]:
    try:
        data.load_test_for_prediction(cfg, spec, name)
    except util.DataError as e:
        print("refused:", e)
'''


def test_a_hidden_test_file_unlike_the_train_file_is_refused_with_a_message(project):
    test = pd.read_csv(project / "data/input/test.csv")
    test.drop(columns="petal_width").to_csv(project / "no_petal_width.csv", index=False)
    text_in_numbers = test.astype({"sepal_length": str}).assign(
        sepal_length=lambda f: f["sepal_length"].where(f.index != 3, "unknown"))
    text_in_numbers.to_csv(project / "text_in_numbers.csv", index=False)
    (project / "refuse_check.py").write_text(REFUSE_SCRIPT)

    result = run_python(project, "refuse_check.py", "no_petal_width.csv", "text_in_numbers.csv")

    assert result.returncode == 0, result.stdout + result.stderr
    refusals = result.stdout.splitlines()
    assert len(refusals) == 2, result.stdout
    assert ("no_petal_width.csv: no column 'petal_width'" in refusals[0]
            and "Fix: give a test file with the columns" in refusals[0])
    assert "text_in_numbers.csv: column 'sepal_length' holds 'unknown', but it was a number in train" in refusals[1]
