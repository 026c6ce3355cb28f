"""scripts/kaggle_cli.py (and the kaggle_*.py modules it uses) against the real kaggle command.

The `kaggle` on PATH is the installed kaggle package's own CLI (tests/fake_kaggle.py) with only the HTTP
layer replaced: its argument parser, credential lookup and printing run for real, so a command line it
would refuse, or an output format it changes, fails here. Network answers are canned per API method.
"""
import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import run_python
from test_scripts import read_board, write_record

FAKE_KAGGLE = Path(__file__).with_name("fake_kaggle.py")
COMPETITION = "playground-series-s5e1"  # the template's default

# What Kaggle's API answers, by method (the shapes of kagglesdk's response types).
SUBMISSIONS = [
    {"ref": 11, "date": "2025-01-02T10:00:00Z", "description": "exp001/run002 cv=0.95833 more leaves",
     "fileName": "submission.csv", "status": "COMPLETE", "publicScore": "0.91000"},
    {"ref": 10, "date": "2025-01-01T10:00:00Z", "description": "exp001/run002 cv=0.95833",
     "fileName": "submission.csv", "status": "COMPLETE", "publicScore": "0.88000"},
    {"ref": 12, "date": "2025-01-03T10:00:00Z", "description": "exp001/run001 cv=0.95833",
     "fileName": "submission.csv", "status": "PENDING"},
]
ANSWERS = {
    "ListSubmissions": {"submissions": SUBMISSIONS},
    "StartSubmissionUpload": {"token": "upload-token", "createUrl": "https://storage.test/upload/1"},
    "CreateSubmission": {"message": "Successfully submitted"},
    "CreateCodeSubmission": {"message": "Your code submission was queued"},
    "GetSubmissionLimits": {"numToday": 1, "numAllowedNow": 4},
    "SaveKernel": {"ref": "/code/alice/x", "url": "https://www.kaggle.com/code/alice/x", "versionNumber": 7},
    "IntrospectToken": {"active": True, "username": "carol"},
    "GetDatasetStatus": {"code": 404, "message": "Not found"},  # the dataset does not exist yet
    "StartBlobUpload": {"token": "blob-token", "createUrl": "https://storage.test/upload/2"},
    "CreateDataset": {"ref": "alice/x", "url": "https://www.kaggle.com/datasets/alice/x", "status": "ok"},
    "CreateDatasetVersion": {"ref": "alice/x", "url": "https://www.kaggle.com/datasets/alice/x", "status": "ok"},
    "CreateDatasetVersionById": {"ref": "alice/x", "url": "https://www.kaggle.com/datasets/alice/x", "status": "ok"},
    "GenerateAccessToken": {"token": "fresh-oauth-token", "expiresIn": 3600},
}

pytestmark = pytest.mark.slow  # each test runs the real kaggle CLI in a process of its own


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture(autouse=True)
def no_real_kaggle_account(tmp_path, monkeypatch):
    """Hide the developer's own Kaggle credentials, so no test can use them or depend on them."""
    for name in [n for n in os.environ if n.startswith("KAGGLE_")] + ["XDG_CONFIG_HOME"]:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


class FakeKaggle:
    """The real kaggle CLI first on PATH, answering from canned API responses; records what it was asked."""

    def __init__(self, folder):
        bin_dir = folder / "fake_bin"
        bin_dir.mkdir()
        script = bin_dir / "kaggle"
        script.write_text(f"#!{sys.executable}\n" + FAKE_KAGGLE.read_text())
        script.chmod(0o755)
        self.log = folder / "kaggle_calls.jsonl"
        self.answers_file = folder / "kaggle_answers.json"
        self.answers = dict(ANSWERS)
        self.save_answers()
        self.env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_KAGGLE_LOG": str(self.log),
                    "FAKE_KAGGLE_ANSWERS": str(self.answers_file), "KAGGLE_USERNAME": "alice",
                    "KAGGLE_KEY": "not-a-real-key"}

    def save_answers(self):
        self.answers_file.write_text(json.dumps(self.answers))

    def answer(self, method, response):
        self.answers[method] = response
        self.save_answers()

    def entries(self):
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def calls(self):
        """Give each command line the kaggle command got, leaving out `kaggle --version` (the start check)."""
        return [e["argv"] for e in self.entries() if "argv" in e and e["argv"] != ["--version"]]

    def requests(self, method=None):
        return [e for e in self.entries() if "request" in e and (method is None or e["request"] == method)]


@pytest.fixture
def fake_kaggle(tmp_path):
    return FakeKaggle(tmp_path)


def no_kaggle_env(tmp_path):
    """Give an env whose PATH has no kaggle command (the scripts run with an absolute python path)."""
    empty = tmp_path / "empty_bin"
    empty.mkdir(exist_ok=True)
    return {"PATH": str(empty)}


def kaggle_cli(project, *args, env=None, **kwargs):
    return run_python(project, "scripts/kaggle_cli.py", *args, env=env, **kwargs)


def without_legacy_key(env):
    return {k: v for k, v in env.items() if k not in ("KAGGLE_USERNAME", "KAGGLE_KEY")}


def home():
    return Path(os.environ["HOME"])


def dataset_folder(project, slug=f"{COMPETITION}-exp001"):
    return project / "data" / "output" / "kaggle_datasets" / slug


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- submit a file

def test_submit_refuses_a_run_that_did_not_finish(project, fake_kaggle):
    write_record(project, "exp001", "run002", status="failed")

    failed = kaggle_cli(project, "submit", "exp001/run002", env=fake_kaggle.env)
    missing = kaggle_cli(project, "submit", "exp001/run007", env=fake_kaggle.env)

    assert failed.returncode == 2 and "exp001/run002 did not finish (failed)" in failed.stderr
    assert "run002.failed/log.txt" in failed.stderr
    assert missing.returncode == 2 and "exp001/run007 has no complete record" in missing.stderr
    assert fake_kaggle.calls() == []


@pytest.mark.parametrize("damage, problem", [
    (lambda rows: rows[:-1], "rows instead of"),
    (lambda rows: [rows[0], rows[2], rows[1], *rows[3:]], "another order"),
    (lambda rows: [rows[0], [rows[1][0], ""], *rows[2:]], "missing values in species"),
    (lambda rows: [["id", "label"], *rows[1:]], "columns"),
])
def test_submit_refuses_a_submission_that_does_not_match_the_sample(trained, fake_kaggle, damage, problem):
    path = trained / "data" / "output" / "exp" / "exp001" / "run002" / "submission.csv"
    rows = list(csv.reader(path.open()))
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(damage(rows))

    result = kaggle_cli(trained, "submit", "exp001/run002", env=fake_kaggle.env)

    assert result.returncode == 2, result.stdout
    assert "does not match data/input/sample_submission.csv" in result.stderr and problem in result.stderr
    assert fake_kaggle.calls() == []


def test_submit_dry_run_prints_the_exact_command_without_the_kaggle_cli(trained, tmp_path):
    result = kaggle_cli(trained, "submit", "exp001/run002", "-m", "depth 3", "--dry-run", env=no_kaggle_env(tmp_path))
    assert result.returncode == 0, result.stderr
    cv = json.loads((trained / "data/output/exp/exp001/run002/status.json").read_text())["cv"]
    assert (f"kaggle competitions submit {COMPETITION} -f data/output/exp/exp001/run002/submission.csv "
            f"-m 'exp001/run002 cv={cv:.5f} depth 3'") in result.stdout


def test_submit_checks_against_the_sample_in_kaggle_exp_data_dir_when_it_is_set(trained, tmp_path):
    elsewhere = tmp_path / "competition_files"
    shutil.move(trained / "data" / "input", elsewhere)
    env = no_kaggle_env(tmp_path)

    moved = kaggle_cli(trained, "submit", "exp001/run002", "--dry-run", env=env)
    found = kaggle_cli(trained, "submit", "exp001/run002", "--dry-run",
                       env=dict(env, KAGGLE_EXP_DATA_DIR=str(elsewhere)))

    assert moved.returncode == 2 and "data/input/sample_submission.csv: not found" in moved.stderr
    assert found.returncode == 0, found.stderr


def test_submit_uploads_the_runs_file_with_its_name_and_cv_as_message(trained, fake_kaggle):
    result = kaggle_cli(trained, "submit", "exp1/run2", "-m", "depth 3", "--competition", "titanic",
                        env=fake_kaggle.env)

    assert result.returncode == 0, result.stderr
    cv = json.loads((trained / "data/output/exp/exp001/run002/status.json").read_text())["cv"]
    message = f"exp001/run002 cv={cv:.5f} depth 3"
    assert fake_kaggle.calls() == [["competitions", "submit", "titanic", "-f",
                                    "data/output/exp/exp001/run002/submission.csv", "-m", message]]
    # What the real CLI made of that command line: the file uploaded, then the submission with its message.
    upload = fake_kaggle.requests("StartSubmissionUpload")[0]["body"]
    assert upload["competitionName"] == "titanic" and upload["fileName"] == "submission.csv"
    assert upload["contentLength"] == (trained / "data/output/exp/exp001/run002/submission.csv").stat().st_size
    created = fake_kaggle.requests("CreateSubmission")[0]["body"]
    assert created == {"competitionName": "titanic", "blobFileTokens": "upload-token", "submissionDescription": message}


def test_submit_sends_a_blend_with_its_runs_and_oof_score_as_message(trained, fake_kaggle):
    blended = run_python(trained, "scripts/blend.py", "exp001/run001", "exp001/run003")
    assert blended.returncode == 0, blended.stderr
    oof = json.loads((trained / "data/output/blend/blend001/blend.json").read_text())["oof"]

    result = kaggle_cli(trained, "submit", "blend001", env=fake_kaggle.env)

    assert result.returncode == 0, result.stderr
    assert fake_kaggle.calls() == [["competitions", "submit", COMPETITION, "-f",
                                    "data/output/blend/blend001/submission.csv",
                                    "-m", f"blend/blend001 oof={oof:.5f} (exp001/run001+exp001/run003)"]]
    missing = kaggle_cli(trained, "submit", "blend/blend009", env=fake_kaggle.env)
    assert missing.returncode == 2 and "no finished blend there. Blends: blend001" in missing.stderr


# ---------------------------------------------------------------- submissions, download

def test_submissions_printed_by_the_real_cli_are_saved_and_reach_the_leaderboard(trained, fake_kaggle):
    result = kaggle_cli(trained, "submissions", env=fake_kaggle.env)

    assert result.returncode == 0, result.stderr
    assert "3 submissions from Kaggle" in result.stdout
    assert fake_kaggle.calls() == [["competitions", "submissions", COMPETITION, "--format", "json", "--page-size",
                                    "200"]]
    assert fake_kaggle.requests("ListSubmissions")[0]["body"]["pageSize"] == 200
    rows = list(csv.DictReader((trained / "data" / "output" / "submissions.csv").open()))
    assert [(r["date"], r["status"], r["publicScore"]) for r in rows] == [
        ("2025-01-03 10:00:00", "PENDING", ""),
        ("2025-01-02 10:00:00", "COMPLETE", "0.91000"),
        ("2025-01-01 10:00:00", "COMPLETE", "0.88000")]
    run_python(trained, "scripts/leaderboard.py", "--no-plot")
    board = {r["run"]: r for r in read_board(trained)}
    assert board["run002"]["public_lb"] == "0.91"  # the newest of its two submissions
    assert board["run001"]["public_lb"] == ""      # still pending


def test_submissions_keep_older_ones_kaggle_no_longer_lists(project, fake_kaggle):
    saved = project / "data" / "output" / "submissions.csv"
    saved.write_text("fileName,date,description,status,publicScore,privateScore\n"  # as saved before kaggle 2.x
                     "old.csv,2024-06-01 10:00:00,exp000/run001 cv=0.5,SubmissionStatus.COMPLETE,0.5,\n"
                     "submission.csv,2025-01-03 10:00:00,exp001/run001 cv=0.95833,SubmissionStatus.PENDING,,\n")

    result = kaggle_cli(project, "submissions", env=fake_kaggle.env)

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(saved.open()))
    assert [r["date"][:10] for r in rows] == ["2025-01-03", "2025-01-02", "2025-01-01", "2024-06-01"]
    assert rows[0]["ref"] == "12"  # the fresh copy of the pending one replaced the saved copy


def test_interrupted_save_of_submissions_keeps_the_earlier_file_whole(project, monkeypatch):
    saved = project / "data" / "output" / "submissions.csv"
    saved.write_text("fileName,date,description,status,publicScore,privateScore\n"
                     "old.csv,2024-06-01 10:00:00,exp000/run001 cv=0.5,SubmissionStatus.COMPLETE,0.5,\n")
    before = saved.read_bytes()
    scripts = str(project / "scripts")
    for name in [name for name in sys.modules if name == "helpers" or name.startswith("helpers.")]:
        sys.modules.pop(name)  # loaded from this project, not one an earlier test loaded
    sys.path.insert(0, scripts)
    try:
        from helpers import kaggle_submissions
    finally:
        sys.path.remove(scripts)
    fresh = [dict(row, date=row["date"].replace("T", " ")) for row in SUBMISSIONS]

    def crash(self, rows):
        raise KeyboardInterrupt  # e.g. Ctrl-C halfway through writing the CSV
    monkeypatch.setattr(csv.DictWriter, "writerows", crash)
    with pytest.raises(KeyboardInterrupt):
        kaggle_submissions.write_submissions_csv(saved, fresh)

    assert saved.read_bytes() == before, "the only copy of submissions Kaggle no longer lists survives"
    assert sorted(p.name for p in saved.parent.iterdir() if p.is_file()) == [".gitkeep", "submissions.csv"]


@pytest.mark.parametrize("printed", [
    # what kaggle 2.2.5 prints with -v: a CSV that an older reader took for "no submissions"
    "ref,fileName,date,description,status,publicScore,privateScore\n"
    "11,submission.csv,2025-01-02 10:00:00,exp001/run002,SubmissionStatus.COMPLETE,0.91,\n",
    "Warning: something new\n",
    '[{"fileName": "submission.csv"}]\n',
])
def test_unreadable_submissions_output_is_an_error_not_zero_submissions(baked_project, printed):
    sys.path.insert(0, str(baked_project / "scripts"))
    try:
        from helpers import kaggle_submissions
        with pytest.raises(kaggle_submissions.UserError, match="cannot read what .* printed"):
            kaggle_submissions.read_submissions_json(printed, ["kaggle", "competitions", "submissions"])
        # kaggle 2.2.5 prints this line, not JSON, when there are none yet: that is no mistake.
        assert kaggle_submissions.read_submissions_json("No submissions found\n", ["kaggle"]) == []
    finally:
        sys.path.remove(str(baked_project / "scripts"))


def test_download_unzips_competition_files_into_data_input(project, fake_kaggle, tmp_path):
    archive = tmp_path / "served.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("train.csv", "id,x,y\n1,0.5,1\n")
        z.writestr("extra/notes.txt", "hello\n")
    fake_kaggle.answer("DownloadDataFiles", {"__file__": str(archive), "url": "https://storage.test/data.zip?sig=1"})

    result = kaggle_cli(project, "download", env=fake_kaggle.env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert fake_kaggle.calls() == [["competitions", "download", COMPETITION, "-p", "data/input"]]
    assert fake_kaggle.requests("DownloadDataFiles")[0]["body"] == {"competitionName": COMPETITION}
    data_input = project / "data" / "input"
    assert (data_input / "train.csv").read_text() == "id,x,y\n1,0.5,1\n"
    assert (data_input / "extra" / "notes.txt").is_file()
    assert not (data_input / f"{COMPETITION}.zip").exists()


def test_download_takes_the_competition_from_the_command_line(project, fake_kaggle, tmp_path):
    archive = tmp_path / "served.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("train.csv", "id\n1\n")
    fake_kaggle.answer("DownloadDataFiles", {"__file__": str(archive), "url": "https://storage.test/titanic.zip"})

    result = kaggle_cli(project, "download", "--competition", "titanic", "--keep-zip", "--force", env=fake_kaggle.env)

    assert result.returncode == 0, result.stderr
    assert fake_kaggle.calls() == [["competitions", "download", "titanic", "-p", "data/input", "-o"]]
    assert zipfile.is_zipfile(project / "data" / "input" / "titanic.zip")


# ---------------------------------------------------------------- credentials and setup messages

def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


def oauth_login(env):
    """What `kaggle auth login` leaves behind (kagglesdk's KaggleCredentials.save)."""
    later = (datetime.now(timezone.utc) + timedelta(hours=6)).isoformat()
    write(home() / ".kaggle" / "credentials.json", json.dumps({
        "refresh_token": "refresh", "access_token": "oauth-token", "access_token_expiration": later,
        "username": "dave", "scopes": ["resources.admin:*"]}))
    return env


CREDENTIALS = {
    "KAGGLE_API_TOKEN": (lambda env: dict(env, KAGGLE_API_TOKEN="a-token"), "carol"),
    "access_token file": (lambda env: write(home() / ".kaggle" / "access_token", "a-token\n") or env, "carol"),
    "kaggle.json in ~/.kaggle": (
        lambda env: write(home() / ".kaggle" / "kaggle.json", '{"username": "bob", "key": "k"}') or env, "bob"),
    "kaggle.json in $XDG_CONFIG_HOME/kaggle": (
        lambda env: write(home() / "xdg" / "kaggle" / "kaggle.json", '{"username": "erin", "key": "k"}')
        or dict(env, XDG_CONFIG_HOME=str(home() / "xdg")), "erin"),
    "kaggle.json in KAGGLE_CONFIG_DIR": (
        lambda env: write(home() / "conf" / "kaggle.json", '{"username": "frank", "key": "k"}')
        or dict(env, KAGGLE_CONFIG_DIR=str(home() / "conf")), "frank"),
    "KAGGLE_USERNAME and KAGGLE_KEY": (lambda env: dict(env, KAGGLE_USERNAME="alice", KAGGLE_KEY="k"), "alice"),
    "kaggle auth login": (oauth_login, "dave"),
}


@pytest.mark.parametrize("form", list(CREDENTIALS))
def test_each_form_of_credentials_is_found_and_names_the_dataset_owner(trained, fake_kaggle, form):
    setup, user = CREDENTIALS[form]
    env = setup(without_legacy_key(fake_kaggle.env))

    result = kaggle_cli(trained, "package", "exp001/run001", "--upload", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"id {user}/{COMPETITION}-exp001" in result.stdout  # no --user needed
    assert fake_kaggle.calls()[-1][:2] == ["datasets", "create"]
    assert fake_kaggle.requests("CreateDataset"), "the real CLI did not get as far as creating the dataset"


def test_missing_credentials_print_how_to_set_them_up(project, fake_kaggle):
    result = kaggle_cli(project, "download", env=without_legacy_key(fake_kaggle.env))
    assert result.returncode == 2
    assert "no Kaggle credentials found" in result.stderr
    assert "kaggle auth login" in result.stderr and "~/.kaggle/access_token" in result.stderr
    assert "Traceback" not in result.stderr
    assert fake_kaggle.calls() == []


def test_kaggle_json_in_a_folder_the_cli_does_not_read_is_pointed_out(project, fake_kaggle):
    (home() / ".kaggle").mkdir()  # kaggle reads ~/.kaggle when it exists, so the XDG copy is never read
    write(home() / "xdg" / "kaggle" / "kaggle.json", '{"username": "erin", "key": "k"}')
    env = dict(without_legacy_key(fake_kaggle.env), XDG_CONFIG_HOME=str(home() / "xdg"))

    result = kaggle_cli(project, "download", env=env)

    assert result.returncode == 2
    assert f"A kaggle.json is in {home() / 'xdg' / 'kaggle'}, but the kaggle command reads only {home() / '.kaggle'}/" \
        in result.stderr


def test_missing_kaggle_command_prints_how_to_set_it_up(project, tmp_path):
    result = kaggle_cli(project, "submissions", env=no_kaggle_env(tmp_path))
    assert result.returncode == 2
    assert "kaggle command is not installed" in result.stderr
    assert "pip install kaggle" in result.stderr and "kaggle auth login" in result.stderr
    assert "Traceback" not in result.stderr


def blocked_imports(folder, *modules):
    """Give a PYTHONPATH folder in which importing each module fails, as when it is not installed."""
    folder.mkdir(exist_ok=True)
    for module in modules:
        (folder / f"{module}.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n")
    return str(folder)


def test_kaggle_crashing_at_start_for_a_missing_module_says_which_one_to_install(project, fake_kaggle, tmp_path):
    # A fresh `pip install kaggle` (2.2.5) imports six without installing it.
    env = dict(fake_kaggle.env, PYTHONPATH=blocked_imports(tmp_path / "no_six", "six"))

    result = kaggle_cli(project, "submissions", env=env)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: the kaggle command crashes at start: the Python module 'six' it imports is not installed. "
        "Fix: pip install six (in the Python environment of the kaggle command)"]
    assert "Traceback" not in result.stdout + result.stderr


# ---------------------------------------------------------------- package

def test_package_builds_a_dataset_with_code_models_and_run_record(trained, tmp_path):
    result = kaggle_cli(trained, "package", "exp001/run002", "--user", "alice", env=no_kaggle_env(tmp_path))

    assert result.returncode == 0, result.stderr
    folder = dataset_folder(trained)
    metadata = json.loads((folder / "dataset-metadata.json").read_text())
    assert metadata["id"] == f"alice/{COMPETITION}-exp001" and 6 <= len(metadata["title"]) <= 50
    assert metadata["licenses"] == [{"name": "CC0-1.0"}]
    assert json.loads((folder / "kaggle_package.json").read_text()) == {
        "exp": "exp001", "runs": ["run002"], "competition": COMPETITION}
    # code/exp001/: two folders up from the code is the dataset itself, as exp/exp001/ is in the project.
    code = trained / "exp" / "exp001"
    assert files_under(folder / "code" / "exp001") == files_under(code)
    assert (folder / "code" / "exp001" / "exp.py").read_bytes() == (code / "exp.py").read_bytes()
    # The run record that prediction needs, without the big outputs it never reads.
    record = trained / "data" / "output" / "exp" / "exp001" / "run002"
    left_out = {"oof.csv", "test_pred.csv", "submission.csv", "log.txt", "importance.png", "confusion_matrix.png",
                "git.diff"}
    assert files_under(folder / "run002") == [f for f in files_under(record) if f not in left_out]
    assert {"config.yml", "models/fold0.txt", "src/train.py", "metrics.json"} <= set(files_under(folder / "run002"))
    assert not (folder / "run001").exists()
    assert f"kaggle datasets create -p {folder.relative_to(trained)} --dir-mode zip" in result.stdout


def test_package_never_ships_secret_looking_files_and_names_them(trained, tmp_path):
    secrets = [".env", ".env.local", "kaggle.json", "deploy.pem", "aws_credentials.txt", "hf_token.txt"]
    for name in secrets:
        (trained / "exp" / "exp001" / name).write_text("sk-secret\n")
    (trained / "data/output/exp/exp001/run002/access_token").write_text("sk-secret\n")

    result = kaggle_cli(trained, "package", "exp001/run002", "--user", "alice", env=no_kaggle_env(tmp_path))

    assert result.returncode == 0, result.stderr
    folder = dataset_folder(trained)
    shipped = [p for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in shipped if "sk-secret" in p.read_text(errors="replace")]
    assert "left out 7 secret-looking file(s)" in result.stdout
    for name in secrets:
        assert f"exp/exp001/{name}" in result.stdout
    assert "data/output/exp/exp001/run002/access_token" in result.stdout


def test_generated_gitignore_keeps_secrets_out_of_git(project):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    for name in (".env", "exp/exp001/.env", "kaggle.json", "exp/exp001/kaggle.json", "key.pem", "my_credentials.json",
                 "access_token", "hf_token.txt"):
        checked = subprocess.run(["git", "check-ignore", "-q", name], cwd=project)
        assert checked.returncode == 0, f"{name} is not ignored by the generated .gitignore"
    kept = subprocess.run(["git", "check-ignore", "-q", "exp/exp001/train.py"], cwd=project)
    assert kept.returncode == 1


def test_package_of_an_experiment_takes_every_run_and_uploads_a_version(trained, fake_kaggle):
    result = kaggle_cli(trained, "package", "exp001", "--slug", "iris-lgbm-models", "--version", "-m", "all runs",
                        "--upload", env=fake_kaggle.env)

    assert result.returncode == 0, result.stdout + result.stderr
    folder = dataset_folder(trained, "iris-lgbm-models")
    assert sorted(p.name for p in folder.iterdir()) == [
        "code", "dataset-metadata.json", "kaggle_package.json", "run001", "run002", "run003"]
    assert json.loads((folder / "dataset-metadata.json").read_text())["id"] == "alice/iris-lgbm-models"
    assert fake_kaggle.calls() == [["datasets", "version", "-p", "data/output/kaggle_datasets/iris-lgbm-models",
                                    "-m", "all runs", "--dir-mode", "zip"]]
    version = fake_kaggle.requests("CreateDatasetVersion")[0]["body"]
    assert version["ownerSlug"] == "alice" and version["datasetSlug"] == "iris-lgbm-models"
    assert version["body"]["versionNotes"] == "all runs"


def test_package_upload_refused_by_kaggle_is_an_error(trained, fake_kaggle):
    fake_kaggle.answer("GetDatasetStatus", {"status": "ready"})  # the slug is taken: kaggle prints an error, exits 0

    result = kaggle_cli(trained, "package", "exp001/run001", "--upload", env=fake_kaggle.env)

    assert result.returncode == 2
    assert "Dataset creation error: The requested slug" in result.stdout
    assert "Kaggle refused the dataset" in result.stderr and "add --version" in result.stderr


def test_package_without_a_user_name_says_how_to_give_one(trained, tmp_path):
    result = kaggle_cli(trained, "package", "exp001/run001", env=no_kaggle_env(tmp_path))
    assert result.returncode == 2
    assert "--user" in result.stderr and "Traceback" not in result.stderr


def test_package_refuses_a_slug_kaggle_would_reject(trained, tmp_path):
    result = kaggle_cli(trained, "package", "exp001", "--user", "alice", "--slug", "My_Models",
                        env=no_kaggle_env(tmp_path))
    assert result.returncode == 2
    assert "lowercase letters, digits and '-'" in result.stderr


# ---------------------------------------------------------------- notebook and code-competition submit

KERNEL = f"{COMPETITION}-exp001-run002"


def package_and_notebook(project, env, *notebook_args):
    packaged = kaggle_cli(project, "package", "exp001/run002", env=env)
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    return kaggle_cli(project, "notebook", "exp001/run002", *notebook_args, env=env)


def test_notebook_folder_has_metadata_for_an_offline_script_with_competition_and_dataset(trained, tmp_path):
    env = dict(no_kaggle_env(tmp_path), KAGGLE_USERNAME="alice")
    result = package_and_notebook(trained, env, "--gpu")

    assert result.returncode == 0, result.stdout + result.stderr
    folder = trained / "data" / "output" / "kaggle_notebooks" / KERNEL
    metadata = json.loads((folder / "kernel-metadata.json").read_text())
    assert metadata == {
        "id": f"alice/{KERNEL}", "title": KERNEL, "code_file": "inference.py", "language": "python",
        "kernel_type": "script", "is_private": True, "enable_gpu": True, "enable_tpu": False,
        "enable_internet": False, "dataset_sources": [f"alice/{COMPETITION}-exp001"],
        "competition_sources": [COMPETITION], "kernel_sources": [], "model_sources": []}
    script = (folder / "inference.py").read_text()
    assert "pip" not in script and "import kaggle" not in script and "wandb" not in script
    assert f"kaggle kernels push -p data/output/kaggle_notebooks/{KERNEL}" in result.stdout


@pytest.mark.parametrize("device, enable_gpu", [("gpu", True), ("cpu", False), ("auto", False), ("cpus", None)])
def test_project_yml_s_submit_device_sets_the_notebook_s_gpu_and_a_wrong_one_is_one_message(
        trained, tmp_path, device, enable_gpu):
    project = tmp_path / trained.name
    shutil.copytree(trained, project)
    project_yml = project / "project.yml"
    assert "  device: auto " in project_yml.read_text()
    project_yml.write_text(project_yml.read_text().replace("  device: auto ", f"  device: {device} "))
    result = package_and_notebook(project, dict(no_kaggle_env(tmp_path), KAGGLE_USERNAME="alice"))
    if enable_gpu is None:
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
        assert "project.yml: submit.device is 'cpus'. Fix: auto, cpu or gpu." in result.stderr
        return
    assert result.returncode == 0, result.stdout + result.stderr
    metadata = json.loads((project / "data/output/kaggle_notebooks" / KERNEL / "kernel-metadata.json").read_text())
    assert metadata["enable_gpu"] is enable_gpu  # auto: a tabular run needs none


def test_notebook_of_a_run_that_is_not_packaged_says_to_package_it(trained, tmp_path):
    result = kaggle_cli(trained, "notebook", "exp001/run003", "--user", "alice", env=no_kaggle_env(tmp_path))
    assert result.returncode == 2
    assert "python scripts/kaggle_cli.py package exp001/run003 --upload" in result.stderr


STAND_IN_PREDICT = '''"""Stands in for exp/exp001/predict.py: records how it was called, writes the sample as the
submission."""
import argparse, json, os, shutil, sys
from pathlib import Path
parser = argparse.ArgumentParser()
for name in ("--run-dir", "--test", "--sample", "--out"):
    parser.add_argument(name, type=Path, required=True)
args = parser.parse_args()
assert sorted(p.name for p in (args.run_dir / "models").iterdir())[0] == "fold0.txt"
assert args.test.is_file() and args.sample.is_file()
for module in ("kaggle", "wandb"):
    try:
        __import__(module)
        sys.exit(f"{module} could be imported")
    except ImportError:
        pass
shutil.copyfile(args.sample, args.out)
print(json.dumps({"argv": sys.argv[1:], "data_dir": os.environ.get("KAGGLE_EXP_DATA_DIR"), "home": os.environ["HOME"]}))
'''


def kaggle_layout(project, tmp_path, dataset_slug, packaged=None):
    """Lay out /kaggle/input (read-only) and /kaggle/working as a Kaggle notebook sees them; give (input, working).

    The dataset mounted is the folder `package` built (default: the run dataset of exp001).
    """
    input_dir, working = tmp_path / "kaggle" / "input", tmp_path / "kaggle" / "working"
    competition = input_dir / COMPETITION
    competition.mkdir(parents=True)
    working.mkdir()
    for name in ("test.csv", "sample_submission.csv"):  # a code competition shows its test set only to the notebook
        shutil.copy(project / "data" / "input" / name, competition / name)
    shutil.copytree(packaged or dataset_folder(project), input_dir / dataset_slug)
    for path in input_dir.rglob("*"):
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return input_dir, working


NO_NETWORK = """import socket


def no_network(*args, **kwargs):
    raise OSError("no network: a code-competition notebook runs with internet off")


socket.socket.connect = socket.socket.connect_ex = socket.create_connection = no_network
"""


def offline_env(tmp_path):
    """Give the env of a Kaggle notebook as far as the script can tell: HOME empty, no network, no kaggle or wandb."""
    empty_home = tmp_path / "empty_home"
    empty_home.mkdir(exist_ok=True)
    stubs = blocked_imports(tmp_path / "offline", "kaggle", "wandb", "requests")
    (tmp_path / "offline" / "sitecustomize.py").write_text(NO_NETWORK)  # Python imports it at every start
    return {**no_kaggle_env(tmp_path), "HOME": str(empty_home), "PYTHONPATH": stubs}


def test_inference_script_runs_offline_on_kaggles_paths_and_writes_the_submission(trained, tmp_path):
    (trained / "exp" / "exp001" / "predict.py").write_text(STAND_IN_PREDICT)
    result = package_and_notebook(trained, dict(no_kaggle_env(tmp_path), KAGGLE_USERNAME="alice"))
    assert result.returncode == 0, result.stdout + result.stderr
    input_dir, working = kaggle_layout(trained, tmp_path, f"{COMPETITION}-exp001")
    env = offline_env(tmp_path)
    script = trained / "data" / "output" / "kaggle_notebooks" / KERNEL / "inference.py"

    ran = subprocess.run([sys.executable, str(script), "--input", str(input_dir), "--working", str(working)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    called = json.loads(ran.stdout.splitlines()[1])
    dataset = input_dir / f"{COMPETITION}-exp001"
    assert called["argv"] == ["--run-dir", str(dataset / "run002"), "--test", str(input_dir / COMPETITION / "test.csv"),
                              "--sample", str(input_dir / COMPETITION / "sample_submission.csv"),
                              "--out", str(working / "submission.csv")]
    assert called["data_dir"] == str(input_dir / COMPETITION)
    assert (working / "submission.csv").read_bytes() == (input_dir / COMPETITION / "sample_submission.csv").read_bytes()
    assert [p.name for p in working.iterdir()] == ["submission.csv"]


def test_inference_script_finds_inputs_mounted_one_level_deeper(trained, tmp_path):
    (trained / "exp" / "exp001" / "predict.py").write_text(STAND_IN_PREDICT)
    assert package_and_notebook(trained, dict(no_kaggle_env(tmp_path), KAGGLE_USERNAME="alice")).returncode == 0
    input_dir, working = kaggle_layout(trained, tmp_path, f"datasets/alice/{COMPETITION}-exp001")
    script = trained / "data" / "output" / "kaggle_notebooks" / KERNEL / "inference.py"

    ran = subprocess.run([sys.executable, str(script), "--input", str(input_dir), "--working", str(working)],
                         cwd=tmp_path, env=offline_env(tmp_path), capture_output=True, text=True, timeout=120)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"datasets/alice/{COMPETITION}-exp001/run002" in ran.stdout


@pytest.mark.skipif(not (Path(__file__).parents[1] / "{{cookiecutter.project_slug}}" / "exp" / "exp001"
                         / "predict.py").is_file(),
                    reason="waits for exp/exp001/predict.py (predict from a run record)")
def test_notebook_on_kaggles_paths_reproduces_the_runs_own_submission(trained, tmp_path):
    result = package_and_notebook(trained, dict(no_kaggle_env(tmp_path), KAGGLE_USERNAME="alice"))
    assert result.returncode == 0, result.stdout + result.stderr
    input_dir, working = kaggle_layout(trained, tmp_path, f"{COMPETITION}-exp001")
    env = dict(offline_env(tmp_path), OMP_NUM_THREADS="1")
    script = trained / "data" / "output" / "kaggle_notebooks" / KERNEL / "inference.py"

    ran = subprocess.run([sys.executable, str(script), "--input", str(input_dir), "--working", str(working)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    own = trained / "data" / "output" / "exp" / "exp001" / "run002" / "submission.csv"
    assert (working / "submission.csv").read_text() == own.read_text()
    # Run again in the same session (the submission is there already): it writes it anew.
    again = subprocess.run([sys.executable, str(script), "--input", str(input_dir), "--working", str(working)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (working / "submission.csv").read_text() == own.read_text()


def test_notebook_push_reaches_the_real_cli_and_says_how_to_submit_the_version(trained, fake_kaggle):
    result = package_and_notebook(trained, fake_kaggle.env, "--push")

    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_kaggle.calls() == [["kernels", "push", "-p", f"data/output/kaggle_notebooks/{KERNEL}"]]
    saved = fake_kaggle.requests("SaveKernel")[0]["body"]
    assert saved["slug"] == f"alice/{KERNEL}" and saved["kernelType"] == "script" and saved["language"] == "python"
    assert saved["enableInternet"] is False and saved["isPrivate"] is True
    assert saved["datasetDataSources"] == [f"alice/{COMPETITION}-exp001"]
    assert saved["competitionDataSources"] == [COMPETITION]
    assert "def predict_command" in saved["text"]
    assert f"python scripts/kaggle_cli.py submit --kernel alice/{KERNEL} --version 7" in result.stdout


def test_notebook_push_refused_by_kaggle_is_an_error(trained, fake_kaggle):
    fake_kaggle.answer("SaveKernel", {"error": "Dataset not found"})
    result = package_and_notebook(trained, fake_kaggle.env, "--push")
    assert result.returncode == 2
    assert "Kernel push error: Dataset not found" in result.stdout
    assert "package exp001/run002 --upload" in result.stderr


def test_submit_kernel_sends_a_code_submission_named_after_the_run(trained, fake_kaggle):
    assert package_and_notebook(trained, fake_kaggle.env).returncode == 0
    cv = json.loads((trained / "data/output/exp/exp001/run002/status.json").read_text())["cv"]

    result = kaggle_cli(trained, "submit", "--kernel", f"alice/{KERNEL}", "--version", "7", env=fake_kaggle.env)

    assert result.returncode == 0, result.stdout + result.stderr
    message = f"exp001/run002 cv={cv:.5f} (notebook alice/{KERNEL} v7)"
    assert fake_kaggle.calls() == [["competitions", "submit", COMPETITION, "-k", f"alice/{KERNEL}", "-v", "7",
                                    "-f", "submission.csv", "-m", message]]
    body = fake_kaggle.requests("CreateCodeSubmission")[0]["body"]
    assert (body["kernelOwner"], body["kernelSlug"], body["kernelVersion"]) == ("alice", KERNEL, 7)
    assert body["fileName"] == "submission.csv" and body["submissionDescription"] == message


@pytest.mark.parametrize("args, problem", [
    (["--kernel", "alice/x"], "needs both --kernel OWNER/SLUG and --version N"),
    (["--kernel", "alice/x", "--version", "two"], "--version two: expected the notebook's version number"),
    (["--kernel", "alice/My Notebook", "--version", "2"], "expected OWNER/SLUG"),
    ([], "submit what?"),
])
def test_submit_kernel_with_incomplete_arguments_says_what_is_missing(project, fake_kaggle, args, problem):
    result = kaggle_cli(project, "submit", *args, env=fake_kaggle.env)
    assert result.returncode == 2 and problem in result.stderr, result.stderr
    assert fake_kaggle.calls() == []


# ---------------------------------------------------------------- a blend as a code-competition notebook

BLEND_SLUG = f"{COMPETITION}-blend001"  # the blend's dataset and notebook share it


def make_blend(project):
    made = run_python(project, "scripts/blend.py", "exp001/run001", "exp001/run003", "--weights", "0.7,0.3")
    assert made.returncode == 0, made.stdout + made.stderr


def test_blend_package_holds_each_runs_code_and_record_and_the_blend_but_no_secrets(trained, tmp_path):
    make_blend(trained)
    (trained / "exp" / "exp001" / ".env").write_text("sk-secret\n")
    (trained / "data/output/exp/exp001/run003/hf_token.txt").write_text("sk-secret\n")
    (trained / "data/output/blend/blend001/kaggle.json").write_text("sk-secret\n")

    result = kaggle_cli(trained, "package", "blend001", "--user", "alice", env=no_kaggle_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    folder = dataset_folder(trained, BLEND_SLUG)
    assert json.loads((folder / "kaggle_package.json").read_text()) == {
        "blend": "blend001", "runs": ["exp001/run001", "exp001/run003"], "weights": [0.7, 0.3],
        "competition": COMPETITION}
    assert json.loads((folder / "dataset-metadata.json").read_text())["id"] == f"alice/{BLEND_SLUG}"
    # A slice of the project, laid out as in it, so the project's own predict_blend.py predicts there.
    assert files_under(folder / "data/output/blend/blend001") == ["blend.json"]
    assert files_under(folder / "scripts") == ["helpers/__init__.py", "helpers/blending.py", "helpers/project.py",
                                               "predict_blend.py"]
    for run in ("run001", "run003"):
        shipped = set(files_under(folder / "data/output/exp/exp001" / run))
        assert {"config.yml", "features.json", "models/fold0.txt", "src/predict.py"} <= shipped
        assert not shipped & {"oof.csv", "test_pred.csv", "submission.csv", "log.txt"}
    assert not (folder / "data/output/exp/exp001/run002").exists()
    assert files_under(folder / "exp/exp001") == [f for f in files_under(trained / "exp/exp001") if f != ".env"]
    assert not [p for p in folder.rglob("*") if p.is_file() and "sk-secret" in p.read_text(errors="replace")]
    assert "left out 3 secret-looking file(s)" in result.stdout and "blend001/kaggle.json" in result.stdout
    assert f"kaggle datasets create -p data/output/kaggle_datasets/{BLEND_SLUG} --dir-mode zip" in result.stdout


def test_blend_package_refuses_a_run_whose_record_cannot_predict(trained, tmp_path):
    make_blend(trained)
    (trained / "data/output/exp/exp001/run003/src/predict.py").unlink()  # as in a record from before predict.py

    result = kaggle_cli(trained, "package", "blend001", "--user", "alice", env=no_kaggle_env(tmp_path))

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "exp001/run003 has no src/predict.py in its record" in result.stderr
    assert "python exp/exp001/exp.py --run run003 --force), then blend again" in result.stderr
    assert not dataset_folder(trained, BLEND_SLUG).exists()


def test_blend_notebook_on_kaggles_paths_reproduces_the_blends_own_submission(trained, tmp_path):
    make_blend(trained)
    env = dict(no_kaggle_env(tmp_path), KAGGLE_USERNAME="alice")
    assert kaggle_cli(trained, "package", "blend001", env=env).returncode == 0
    built = kaggle_cli(trained, "notebook", "blend001", env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    notebook = trained / "data" / "output" / "kaggle_notebooks" / BLEND_SLUG
    metadata = json.loads((notebook / "kernel-metadata.json").read_text())
    assert metadata["dataset_sources"] == [f"alice/{BLEND_SLUG}"] and metadata["enable_internet"] is False
    input_dir, working = kaggle_layout(trained, tmp_path, BLEND_SLUG, dataset_folder(trained, BLEND_SLUG))

    ran = subprocess.run([sys.executable, str(notebook / "inference.py"), "--input", str(input_dir), "--working",
                          str(working)],
                         cwd=tmp_path, env=dict(offline_env(tmp_path), OMP_NUM_THREADS="1"),
                         capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "exp001/run001 x0.700, exp001/run003 x0.300" in ran.stdout
    own = trained / "data" / "output" / "blend" / "blend001" / "submission.csv"
    assert (working / "submission.csv").read_text() == own.read_text()
    assert [p.name for p in working.iterdir()] == ["submission.csv"]


def test_blend_notebook_is_pushed_and_submitted_with_the_blends_name(trained, fake_kaggle):
    make_blend(trained)
    unpackaged = kaggle_cli(trained, "notebook", "blend001", env=fake_kaggle.env)
    assert unpackaged.returncode == 2 and "python scripts/kaggle_cli.py package blend001 --upload" in unpackaged.stderr
    assert kaggle_cli(trained, "package", "blend001", env=fake_kaggle.env).returncode == 0

    pushed = kaggle_cli(trained, "notebook", "blend001", "--push", env=fake_kaggle.env)
    submitted = kaggle_cli(trained, "submit", "--kernel", f"alice/{BLEND_SLUG}", "--version", "7", env=fake_kaggle.env)

    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert f"submit --kernel alice/{BLEND_SLUG} --version 7" in pushed.stdout
    assert fake_kaggle.requests("SaveKernel")[0]["body"]["datasetDataSources"] == [f"alice/{BLEND_SLUG}"]
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    oof = json.loads((trained / "data/output/blend/blend001/blend.json").read_text())["oof"]
    message = f"blend/blend001 oof={oof:.5f} (exp001/run001+exp001/run003) (notebook alice/{BLEND_SLUG} v7)"
    assert fake_kaggle.requests("CreateCodeSubmission")[0]["body"]["submissionDescription"] == message


# ---------------------------------------------------------------- Kaggle Models: package --to models

MODEL = f"{COMPETITION}-exp001"


def test_package_to_models_uploads_a_model_version_whose_notebook_reads_it_from_its_mount(trained, fake_kaggle,
                                                                                           tmp_path):
    fake_kaggle.answer("CreateModel", {"id": 5, "url": f"https://www.kaggle.com/models/alice/{MODEL}"})
    fake_kaggle.answer("CreateModelInstance", {"id": 6, "url": f"https://www.kaggle.com/models/alice/{MODEL}/other/run002"})
    fake_kaggle.answer("CreateModelInstanceVersion",
                       {"id": 7, "url": f"https://www.kaggle.com/models/alice/{MODEL}/other/run002/2"})
    folder = f"data/output/kaggle_datasets/{MODEL}"

    first = kaggle_cli(trained, "package", "exp001/run002", "--to", "models", "--upload", env=fake_kaggle.env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert fake_kaggle.calls() == [["models", "create", "-p", folder],
                                   ["models", "instances", "create", "-p", folder, "--dir-mode", "zip"]]
    model = fake_kaggle.requests("CreateModel")[0]["body"]
    assert model["ownerSlug"] == "alice" and model["slug"] == MODEL and model["isPrivate"] is True
    instance = fake_kaggle.requests("CreateModelInstance")[0]["body"]
    assert instance["modelSlug"] == MODEL and instance["body"]["instanceSlug"] == "run002"
    cv = json.loads((trained / "data/output/exp/exp001/run002/metrics.json").read_text())["cv"]
    commit = json.loads((trained / "data/output/exp/exp001/run002/provenance.json").read_text())["git"]["commit"]
    assert f"exp001/run002 cv={cv:.5f} commit {commit[:12]}" in instance["body"]["overview"]  # what the version is
    uploaded = {r["body"]["name"] for r in fake_kaggle.requests("StartBlobUpload")}
    assert "kaggle_package.json" in uploaded and not {"model-metadata.json", "model-instance-metadata.json"} & uploaded
    assert f"Kaggle Model version: alice/{MODEL}/other/run002/1" in first.stdout

    again = kaggle_cli(trained, "package", "exp001/run002", "--to", "models", "--version", "-m", "more leaves",
                       "--upload", env=fake_kaggle.env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert fake_kaggle.calls()[-1][:6] == ["models", "instances", "versions", "create", f"alice/{MODEL}/other/run002",
                                           "-p"]
    notes = fake_kaggle.requests("CreateModelInstanceVersion")[0]["body"]["body"]["versionNotes"]
    assert notes == f"exp001/run002 cv={cv:.5f} commit {commit[:12]}; more leaves"

    built = kaggle_cli(trained, "notebook", "exp001/run002", env=fake_kaggle.env)
    assert built.returncode == 0, built.stdout + built.stderr
    metadata = json.loads((trained / "data/output/kaggle_notebooks" / KERNEL / "kernel-metadata.json").read_text())
    assert metadata["model_sources"] == [f"alice/{MODEL}/other/run002/2"] and metadata["dataset_sources"] == []
    # Kaggle mounts a model version at /kaggle/input/<model>/<framework>/<variation>/<version>/
    input_dir, working = kaggle_layout(trained, tmp_path, f"{MODEL}/other/run002/2")
    script = trained / "data/output/kaggle_notebooks" / KERNEL / "inference.py"
    ran = subprocess.run([sys.executable, str(script), "--input", str(input_dir), "--working", str(working)],
                         cwd=tmp_path, env=dict(offline_env(tmp_path), OMP_NUM_THREADS="1"), capture_output=True,
                         text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    own = trained / "data/output/exp/exp001/run002/submission.csv"
    assert (working / "submission.csv").read_text() == own.read_text()
    # packaged as a dataset again: the notebook reads the dataset, not the model
    assert kaggle_cli(trained, "package", "exp001/run002", env=fake_kaggle.env).returncode == 0
    assert kaggle_cli(trained, "notebook", "exp001/run002", env=fake_kaggle.env).returncode == 0
    metadata = json.loads((trained / "data/output/kaggle_notebooks" / KERNEL / "kernel-metadata.json").read_text())
    assert metadata["model_sources"] == [] and metadata["dataset_sources"] == [f"alice/{MODEL}"]


def test_package_to_models_refused_by_kaggle_is_one_message_saying_to_add_version(trained, fake_kaggle):
    fake_kaggle.answer("CreateModel", {"error": "Model slug already in use"})
    result = kaggle_cli(trained, "package", "exp001/run002", "--to", "models", "--upload", env=fake_kaggle.env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert "Model creation error: Model slug already in use" in result.stdout
    assert "Kaggle refused the model" in result.stderr and "add --version" in result.stderr
    assert len(fake_kaggle.calls()) == 1  # no variation made after the model was refused
