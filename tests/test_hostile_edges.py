"""Hostile edges beyond the config: outputs that must not land on inputs or records, what package ships,
a hand-edited status.json, an interrupted new_exp.py, signals during exp.py's imports, a full disk under a
model library, a latin-1 file, a project name too long for a folder.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import run_exp, run_python
from test_inputs import EXP_DIR, edit_config

pytestmark = pytest.mark.slow  # signals, full disks and processes


# ---------------------------------------------------------------- nothing written over an input or a record

def predict(project, *args):
    return run_python(project, "exp/exp001/predict.py", *args)


@pytest.mark.parametrize("option, out", [
    ("--out", "data/input/submission.csv"), ("--out", "data/input/sub/x.csv"),
    ("--out", "data/output/exp/exp001/run001/models/extra.csv"),
    ("--raw-out", "data/output/exp/exp001/run001.failed/x.csv"),
    ("--raw-out", "data/output/blend/blend001/x.csv")])
def test_predict_never_writes_into_the_inputs_or_a_record(trained, option, out):
    (trained / out).parent.mkdir(parents=True, exist_ok=True)
    before = sorted(p for p in trained.rglob("*"))

    result = predict(trained, "run002", "--test", "data/input/test.csv", option, out)

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (f"{option} {out} is inside data/" in result.stderr
            and "which holds inputs or finished records" in result.stderr)
    assert sorted(p for p in trained.rglob("*")) == before


def test_predict_keeps_an_existing_file_unless_forced(trained, tmp_path):
    out = tmp_path / "submission.csv"
    out.write_text("mine\n")

    kept = predict(trained, "run002", "--test", "data/input/test.csv", "--out", str(out))
    forced = predict(trained, "run002", "--test", "data/input/test.csv", "--out", str(out), "--force")

    assert kept.returncode == 2 and "exists already. Fix: give another path, or --force" in kept.stderr, kept.stderr
    assert forced.returncode == 0, forced.stderr
    assert out.read_text() == (trained / "data/output/exp/exp001/run002/submission.csv").read_text()


def test_package_ships_by_allowlist_and_names_what_it_left_out(trained, tmp_path):
    from test_kaggle import dataset_folder, kaggle_cli, no_kaggle_env

    exp = trained / "exp" / "exp001"
    secrets = {"id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\n", ".netrc": "machine x password sk-secret\n",
               "service-account.json": '{"private_key": "sk-secret"}\n', "api_key.txt": "sk-secret\n",
               "settings.json": '{"type": "service_account", "private_key": "sk-secret"}\n'}
    for name, text in secrets.items():
        (exp / name).write_text(text)
    (exp / "notebook.ipynb").write_text("{}")
    (exp / "big.parquet").write_bytes(b"PAR1")
    (exp / "notes.md").write_text("what I tried\n")

    result = kaggle_cli(trained, "package", "exp001/run002", "--user", "alice", env=no_kaggle_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    code = dataset_folder(trained) / "code" / "exp001"
    shipped = {p.name for p in code.iterdir()}
    assert not shipped & {*secrets, "notebook.ipynb", "big.parquet"} and "notes.md" in shipped
    assert not [p for p in dataset_folder(trained).rglob("*") if p.is_file()
                and "sk-secret" in p.read_text(errors="replace")]
    assert f"left out {len(secrets)} secret-looking file(s)" in result.stdout
    assert ("left out 2 file(s) a notebook does not need" in result.stdout
            and "exp/exp001/notebook.ipynb" in result.stdout), result.stdout


# ---------------------------------------------------------------- the template's own inputs

def test_project_name_too_long_for_a_folder_is_refused_before_anything_is_written(cookies, capfd, tmp_path):
    result = cookies.bake(extra_context={"project_name": "My very long competition " * 12, "verify_example": "no"})

    assert result.exit_code != 0
    assert "makes a folder name longer than 100 characters, too long for a project folder" in capfd.readouterr().err
    assert not any((tmp_path / "cookies" / "bake00").iterdir())


def test_switch_competition_names_a_latin1_file_instead_of_a_traceback(project):
    path = project / "data/input/train.csv"
    path.write_bytes(path.read_bytes().replace(b"setosa", "sétosa".encode("latin-1")))

    result = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug")

    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "data/input/train.csv is not UTF-8 text (byte b'\\xe9' at position" in result.stderr
    assert "Fix: save it as UTF-8, e.g. iconv -f latin1 -t utf-8 train.csv > utf8.csv" in result.stderr


# ---------------------------------------------------------------- new_exp.py cleans up after itself

INTERRUPTED_COPY = """
import runpy, shutil, sys
copytree = shutil.copytree
def copy_then_stop(*args, **kwargs):  # Ctrl-C once the hidden copy exists, before its rename
    copytree(*args, **kwargs)
    raise KeyboardInterrupt
shutil.copytree = copy_then_stop
sys.argv = ["scripts/new_exp.py"]
sys.path.insert(0, "scripts")
runpy.run_path("scripts/new_exp.py", run_name="__main__")
"""


def test_new_exp_interrupted_leaves_neither_its_hidden_copy_nor_an_empty_folder(project):
    result = subprocess.run([sys.executable, "-c", INTERRUPTED_COPY], cwd=project, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == 130 and "interrupted: nothing was created" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in (project / "exp").iterdir()) == ["exp001"]


def test_new_exp_removes_what_a_killed_new_exp_left_on_its_next_start(project):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    hidden = project / "exp" / f".exp002.{socket.gethostname()}.{gone.pid}.0123abcd.tmp"
    shutil.copytree(project / "exp/exp001", hidden)
    claimed = project / "exp/exp002"
    claimed.mkdir()
    os.utime(claimed, (time.time() - 600, time.time() - 600))

    result = run_python(project, "scripts/new_exp.py")

    assert result.returncode == 0, result.stdout + result.stderr
    assert ("left by an interrupted new_exp.py" in result.stdout
            and "created exp/exp002 from exp/exp001" in result.stdout)
    assert sorted(p.name for p in (project / "exp").iterdir()) == ["exp001", "exp002"]


# ---------------------------------------------------------------- a full disk under a model library

def test_full_disk_while_a_library_saves_a_model_is_reported_as_a_write_error(project, tmp_path):
    from test_parallel import fake_file_system

    edit_config(project)
    # XGBoost and CatBoost write to a full disk without a word; the probe beside the model meets the error.
    env = fake_file_system(tmp_path, "'run002' in p and p.endswith('.write-probe')", "ENOSPC")

    result = run_exp(project, env=env)

    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert re.search(r"failed: run002: No space left on device while writing "
                     r"data/output/exp/exp001/\S*run002\S*/models/fold0",
                     result.stdout), result.stdout
    left = sorted(p.name for p in (project / "data/output/exp/exp001").iterdir())
    assert left == ["run001", "run002.failed", "run003"]


# ---------------------------------------------------------------- a hand-edited status.json

def test_unreadable_status_json_is_named_once_and_the_other_records_still_show(trained, tmp_path):
    (trained / "data/output/exp/exp001/run002/status.json").write_text('{"status": "done", "cv": 0.9')  # cut short
    named = "data/output/exp/exp001/run002/status.json cannot be read"

    listed = run_exp(trained, "--list")
    board = run_python(trained, "scripts/leaderboard.py", "--no-plot")
    blended = run_python(trained, "scripts/blend.py", "exp001/run001", "exp001/run002")
    predicted = run_python(trained, "exp/exp001/predict.py", "run002", "--test", "data/input/test.csv",
                           "--out", str(tmp_path / "submission.csv"))
    trained_again = run_exp(trained)

    assert listed.returncode == 0 and listed.stderr.count(named) == 1, listed.stdout + listed.stderr
    assert re.search(r"run001  done .*\nrun002  unreadable .*\nrun003  done ", listed.stdout), listed.stdout
    assert board.returncode == 0 and board.stderr.count(named) == 1, board.stdout + board.stderr
    assert "run001" in board.stdout and "run003" in board.stdout
    for result in (blended, predicted):
        assert result.returncode == 2 and named in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert (trained_again.returncode == 2
            and "run002: the status.json of the record cannot be read" in trained_again.stderr)


# ---------------------------------------------------------------- signals from exp.py's first line

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_exp_py_imports_its_own_modules_ends_without_a_traceback(project, signum):
    path = project / EXP_DIR / "exp.py"
    slow_imports = ("import runner\n"
                    "import time; open('imported', 'w').close(); time.sleep(30)  # the user's slow imports\n")
    path.write_text(path.read_text().replace("import runner\n", slow_imports))
    from test_parallel import start_exp, wait_for
    process = start_exp(project)
    wait_for(project / "imported")

    process.send_signal(signum)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 128 + signum, out + err
    assert "Traceback" not in err and "interrupted before any run started" in err, err
