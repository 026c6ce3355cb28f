"""`kaggle_cli.py submit-notebook`: push to score in one command, through the real kaggle CLI.

As in tests/test_kaggle.py, the `kaggle` on PATH is the installed kaggle package with only its HTTP layer replaced
(tests/fake_kaggle.py): a notebook version that is queued, runs and completes, a submission that is pending and then
scored, are canned API answers given in turn. Polling asks every 0.01 s here instead of every minute, and waits a
minute at most, so a score that a bug keeps from coming fails the test in a minute.
"""
import csv
import json

import pytest

from conftest import run_python
from test_kaggle import (BLEND_SLUG, COMPETITION, KERNEL, SUBMISSIONS, fake_kaggle, kaggle_cli,  # noqa: F401
                         make_blend, no_real_kaggle_account)
from test_scripts import read_board

pytestmark = pytest.mark.slow  # each test runs the real kaggle CLI many times

KERNEL_ID = f"alice/{KERNEL}"
FAST = ["--poll-seconds", "0.01", "--wait-minutes", "1"]  # a test that gives a shorter wait gives it after these
RECORDS = "data/output/exp/exp001"
STATUS = {"__sequence__": [{"status": "QUEUED"}, {"status": "RUNNING"}, {"status": "RUNNING"},
                           {"status": "COMPLETE"}]}
# What Kaggle keeps as a notebook's log: a JSON list of what each stream printed.
FAILED_LOG = json.dumps([
    {"stream_name": "stdout", "time": 1.2, "data": "$ /usr/bin/python3 /kaggle/input/x/code/exp001/predict.py\n"},
    {"stream_name": "stderr", "time": 3.4, "data": "Traceback (most recent call last):\n"},
    {"stream_name": "stderr", "time": 3.5, "data": "FileNotFoundError: /kaggle/input/x/run002/models/fold0.txt\n"}])


def message_of(project, version=7, extra=""):
    """Give the message submit-notebook sends for exp001/run002's notebook version (the leaderboard joins by it)."""
    cv = json.loads((project / RECORDS / "run002/status.json").read_text())["cv"]
    return f"exp001/run002 cv={cv:.5f} (notebook {KERNEL_ID} v{version}){extra}"


def ours(message, status, score=None, ref=13):
    """Give our submission as ListSubmissions lists it (the shape of kagglesdk's ApiSubmission)."""
    row = {"ref": ref, "date": "2025-01-04T10:00:00Z", "description": message, "fileName": "submission.csv",
           "status": status}
    return dict(row, publicScore=score) if score else row


def answer_a_scored_notebook(fake_kaggle, message, score="0.93456"):  # noqa: F811 (the fixture)
    fake_kaggle.answer("GetKernelSessionStatus", STATUS)
    fake_kaggle.answer("CreateCodeSubmission", {"message": "Your code submission was queued", "ref": 13})
    fake_kaggle.answer("ListSubmissions", {"__sequence__": [
        {"submissions": [ours(message, "PENDING"), *SUBMISSIONS]},
        {"submissions": [ours(message, "COMPLETE", score), *SUBMISSIONS]}]})


def package(project, env):
    packaged = kaggle_cli(project, "package", "exp001/run002", env=env)
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr


def score_record(project, run="run002"):
    path = project / RECORDS / run / "kaggle_submission.json"
    return json.loads(path.read_text()) if path.exists() else None


def set_submit(project, **settings):
    """Set project.yml's submit.<key> values (the template has device and accelerator)."""
    path = project / "project.yml"
    text = path.read_text()
    for key, value in settings.items():
        assert f"  {key}: auto " in text
        text = text.replace(f"  {key}: auto ", f"  {key}: {value} ")
    path.write_text(text)


def test_submit_notebook_pushes_waits_submits_and_saves_the_public_score_in_the_record_and_leaderboard(
        trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    message = message_of(trained, extra=" first try")
    answer_a_scored_notebook(fake_kaggle, message)

    result = kaggle_cli(trained, "submit-notebook", "exp001/run002", "-m", "first try", *FAST, env=fake_kaggle.env)

    assert result.returncode == 0, result.stdout + result.stderr
    calls = fake_kaggle.calls()
    assert calls[0] == ["kernels", "push", "-p", f"data/output/kaggle_notebooks/{KERNEL}"]  # a CPU run: no accelerator
    assert calls[1:5] == [["kernels", "status", f"{KERNEL_ID}/7"]] * 4  # the version push printed
    assert calls[5] == ["competitions", "submit", COMPETITION, "-k", KERNEL_ID, "-v", "7", "-f", "submission.csv",
                        "-m", message]
    assert calls[6:] == [["competitions", "submissions", COMPETITION, "--format", "json", "--page-size", "200"]] * 2
    status = fake_kaggle.requests("GetKernelSessionStatus")[0]["body"]
    assert (status["userName"], status["kernelSlug"], status["versionLabel"]) == ("alice", KERNEL, "v7")
    printed = result.stdout.splitlines()
    assert [line.split()[0] for line in printed if line.startswith("  ")] == [
        "queued", "running", "complete", "pending", "complete"]  # each status once, as it changed

    record = score_record(trained)
    assert record["step"] == "scored" and record["public_score"] == pytest.approx(0.93456)
    assert (record["kernel"], record["version"], record["ref"], record["message"]) == (KERNEL_ID, 7, 13, message)
    assert score_record(trained, "run001") is None and score_record(trained, "run003") is None
    saved = {row["ref"]: row for row in csv.DictReader((trained / "data/output/submissions.csv").open())}
    assert saved["13"]["publicScore"] == "0.93456" and saved["13"]["status"] == "COMPLETE"

    board_run = run_python(trained, "scripts/leaderboard.py", "--no-plot")
    assert board_run.returncode == 0, board_run.stderr
    board = {row["run"]: row for row in read_board(trained)}
    assert float(board["run002"]["public_lb"]) == pytest.approx(0.93456)  # newer than its 0.91 of SUBMISSIONS
    assert board["run001"]["public_lb"] == ""  # its submission is still pending
    assert "0.93456" in board_run.stdout


@pytest.mark.parametrize("device, accelerator, shape, said", [
    ("gpu", "auto", "NvidiaTeslaT4", None),
    ("gpu", "NvidiaTeslaP100", "NvidiaTeslaP100", "Kaggle has retired the P100"),
    ("gpu", "none", None, None),
    ("cpu", "NvidiaTeslaT4", None, "submit.accelerator NvidiaTeslaT4 is not used: this notebook runs on the CPU"),
])
def test_the_notebook_is_pushed_on_the_accelerator_project_yml_names(
        trained, fake_kaggle, device, accelerator, shape, said):  # noqa: F811
    set_submit(trained, device=device, accelerator=accelerator)
    package(trained, fake_kaggle.env)

    result = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--no-wait", env=fake_kaggle.env)

    assert result.returncode == 0, result.stdout + result.stderr
    push = ["kernels", "push", "-p", f"data/output/kaggle_notebooks/{KERNEL}"]
    assert fake_kaggle.calls() == [push + (["--accelerator", shape] if shape else [])]  # pushed, nothing else asked
    saved = fake_kaggle.requests("SaveKernel")[0]["body"]
    assert saved.get("machineShape") == shape and saved["enableGpu"] is (device == "gpu")
    assert (said in result.stdout) if said else "warning" not in result.stdout
    assert score_record(trained)["step"] == "pushed" and score_record(trained)["accelerator"] == shape
    assert "submit-notebook exp001/run002 --resume" in result.stdout


def test_a_run_asking_bf16_is_warned_that_the_t4_has_none(trained, fake_kaggle):  # noqa: F811
    set_submit(trained, device="gpu")
    package(trained, fake_kaggle.env)
    config = trained / RECORDS / "run002/config.yml"
    original = config.read_text()

    config.write_text(original + "train:\n  precision: bf16\n")
    bf16 = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--no-wait", env=fake_kaggle.env)
    config.write_text(original + "train:\n  precision: auto\n")
    auto = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--no-wait", env=fake_kaggle.env)
    wrong = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--no-wait", "--accelerator", "T4 x2",
                       env=fake_kaggle.env)

    assert bf16.returncode == 0 and auto.returncode == 0, bf16.stderr + auto.stderr
    assert f"{RECORDS}/run002 asks train.precision: bf16, and the T4 (NvidiaTeslaT4) has no bf16" in bf16.stdout
    assert "bf16" not in auto.stdout
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "--accelerator is 'T4 x2'. Fix: auto, none, or a Kaggle accelerator name" in wrong.stderr
    assert len(fake_kaggle.requests("SaveKernel")) == 2  # the wrong name was not pushed


def test_a_notebook_that_fails_on_kaggle_is_one_message_with_its_log_and_nothing_is_submitted(
        trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    fake_kaggle.answer("GetKernelSessionStatus", {"__sequence__": [
        {"status": "RUNNING"}, {"status": "ERROR", "failureMessage": "Your notebook hit an error"}]})
    fake_kaggle.answer("ListKernelSessionOutput", {"files": [], "log": FAILED_LOG})

    # a short wait: were the failure missed, the score would be waited for and never come
    short = [*FAST, "--wait-minutes", "0.2"]
    result = kaggle_cli(trained, "submit-notebook", "exp001/run002", *short, env=fake_kaggle.env)
    again = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--resume", *short, env=fake_kaggle.env)

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert result.stderr.count("error:") == 1
    assert f"{KERNEL_ID}/7 stopped on Kaggle with ERROR (Your notebook hit an error), so nothing was submitted" \
        in result.stderr
    tail = result.stdout[result.stdout.index("the end of"):]
    assert "FileNotFoundError: /kaggle/input/x/run002/models/fold0.txt" in tail and "stream_name" not in tail
    assert ["kernels", "logs", f"{KERNEL_ID}/7"] in fake_kaggle.calls()
    assert again.returncode == 2 and "failed on Kaggle (ERROR)" in again.stderr
    assert not [c for c in fake_kaggle.calls() if c[:2] == ["competitions", "submit"]]
    assert fake_kaggle.requests("CreateCodeSubmission") == []
    assert score_record(trained)["step"] == "failed"


def test_a_score_that_never_comes_times_out_saying_how_to_fetch_it_and_resume_saves_it(
        trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    message = message_of(trained)
    answer_a_scored_notebook(fake_kaggle, message)
    fake_kaggle.answer("GetKernelSessionStatus", {"status": "COMPLETE"})
    fake_kaggle.answer("ListSubmissions", {"submissions": [ours(message, "PENDING"), *SUBMISSIONS]})

    waited = kaggle_cli(trained, "submit-notebook", "exp001/run002", *FAST, "--wait-minutes", "0.05",
                        env=fake_kaggle.env)

    assert waited.returncode == 1, waited.stdout + waited.stderr
    assert "no score yet for" in waited.stdout
    assert "Fetch it later with:\npython scripts/kaggle_cli.py submit-notebook exp001/run002 --resume" in waited.stdout
    assert score_record(trained)["step"] == "submitted" and score_record(trained)["ref"] == 13
    assert len(fake_kaggle.requests("ListSubmissions")) >= 2  # asked again until the wait ran out

    fake_kaggle.answer("ListSubmissions", {"submissions": [ours(message, "COMPLETE", "0.87"), *SUBMISSIONS]})
    resumed = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--resume", *FAST, env=fake_kaggle.env)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert score_record(trained)["public_score"] == pytest.approx(0.87)
    assert len(fake_kaggle.requests("SaveKernel")) == 1 and len(fake_kaggle.requests("CreateCodeSubmission")) == 1


def test_each_step_alone_push_then_run_then_submit_and_score(trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    message = message_of(trained)
    answer_a_scored_notebook(fake_kaggle, message, score="0.9")
    before = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--resume", env=fake_kaggle.env)
    no_pause = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--poll-seconds", "0", env=fake_kaggle.env)
    assert no_pause.returncode == 2 and "--poll-seconds 0: give seconds above 0" in no_pause.stderr

    pushed = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--no-wait", env=fake_kaggle.env)
    ran = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--resume", "--no-submit", *FAST,
                     env=fake_kaggle.env)
    assert score_record(trained)["step"] == "ran" and fake_kaggle.requests("CreateCodeSubmission") == []
    scored = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--resume", *FAST, env=fake_kaggle.env)

    assert before.returncode == 2 and "nothing to resume" in before.stderr
    assert pushed.returncode == 0 and ran.returncode == 0 and scored.returncode == 0, scored.stdout + scored.stderr
    assert [c[:2] for c in fake_kaggle.calls()] == [["kernels", "push"]] + [["kernels", "status"]] * 4 + [
        ["competitions", "submit"]] + [["competitions", "submissions"]] * 2
    assert score_record(trained)["public_score"] == pytest.approx(0.9)
    assert "exp001/run002: public score 0.9 (submission 13" in scored.stdout


def test_submit_notebook_refuses_a_run_whose_time_probe_says_it_will_not_fit(trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    probe = trained / "data/output/probe/exp001-run002.json"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text(json.dumps({"fits": False, "minutes": 700.0, "test_size": 1000, "unit": "rows",
                                 "limit_minutes": 540}))

    refused = kaggle_cli(trained, "submit-notebook", "exp001/run002", env=fake_kaggle.env)

    assert refused.returncode == 2 and "over the 540-minute limit" in refused.stderr and "--force" in refused.stderr
    assert fake_kaggle.calls() == [] and score_record(trained) is None
    forced = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--force", "--no-wait", env=fake_kaggle.env)
    assert forced.returncode == 0 and fake_kaggle.calls()[0][:2] == ["kernels", "push"]


def test_the_docker_image_a_run_was_tested_with_is_pinned_and_none_is_invented(trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    metadata = trained / "data/output/kaggle_notebooks" / KERNEL / "kernel-metadata.json"
    image = "gcr.io/kaggle-images/python@sha256:" + "0123456789abcdef" * 4

    unknown = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--no-wait", env=fake_kaggle.env)
    assert unknown.returncode == 0, unknown.stdout + unknown.stderr
    assert "docker_image" not in json.loads(metadata.read_text())
    assert not fake_kaggle.requests("SaveKernel")[0]["body"].get("dockerImage")

    provenance = trained / RECORDS / "run002/provenance.json"
    provenance.write_text(json.dumps(dict(json.loads(provenance.read_text()), docker_image=image)))
    known = kaggle_cli(trained, "submit-notebook", "exp001/run002", "--no-wait", env=fake_kaggle.env)
    assert known.returncode == 0, known.stdout + known.stderr
    assert json.loads(metadata.read_text())["docker_image"] == image
    assert fake_kaggle.requests("SaveKernel")[1]["body"]["dockerImage"] == image
    assert score_record(trained)["docker_image"] == image


def test_a_blend_is_pushed_to_score_into_its_own_record_and_not_credited_to_its_runs(trained, fake_kaggle):  # noqa: F811
    make_blend(trained)
    assert kaggle_cli(trained, "package", "blend001", env=fake_kaggle.env).returncode == 0
    oof = json.loads((trained / "data/output/blend/blend001/blend.json").read_text())["oof"]
    message = f"blend/blend001 oof={oof:.5f} (exp001/run001+exp001/run003) (notebook alice/{BLEND_SLUG} v7)"
    answer_a_scored_notebook(fake_kaggle, message, score="0.95")
    # no ref in Kaggle's answer (so none printed): the submission is found by its message
    fake_kaggle.answer("CreateCodeSubmission", {"message": "Your code submission was queued"})

    result = kaggle_cli(trained, "submit-notebook", "blend001", *FAST, env=fake_kaggle.env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_kaggle.requests("CreateCodeSubmission")[0]["body"]["submissionDescription"] == message
    record = json.loads((trained / "data/output/blend/blend001/kaggle_submission.json").read_text())
    assert record["public_score"] == pytest.approx(0.95) and record["target"] == "blend001" and record["ref"] is None
    assert score_record(trained, "run001") is None
    assert run_python(trained, "scripts/leaderboard.py", "--no-plot").returncode == 0
    board = {row["run"]: row for row in read_board(trained)}
    assert board["run001"]["public_lb"] == "" and board["run003"]["public_lb"] == ""  # the blend's score is not theirs


def test_a_notebook_still_running_when_the_wait_ends_says_how_to_go_on_and_submits_nothing(
        trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    fake_kaggle.answer("GetKernelSessionStatus", {"status": "RUNNING"})

    result = kaggle_cli(trained, "submit-notebook", "exp001/run002", *FAST, "--wait-minutes", "0.05",
                        env=fake_kaggle.env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{KERNEL_ID}/7 is still running after 0.05 min. Go on later with:\n" \
           "python scripts/kaggle_cli.py submit-notebook exp001/run002 --resume" in result.stdout
    assert len(fake_kaggle.requests("GetKernelSessionStatus")) >= 2  # asked again until the wait ran out
    assert fake_kaggle.requests("CreateCodeSubmission") == [] and score_record(trained)["step"] == "pushed"


def test_a_kaggle_command_failing_once_while_waiting_is_asked_again(trained, fake_kaggle):  # noqa: F811
    package(trained, fake_kaggle.env)
    message = message_of(trained)
    answer_a_scored_notebook(fake_kaggle, message)
    # a server error once (a network blip in a wait of hours), then the notebook's status
    fake_kaggle.answer("GetKernelSessionStatus", {"__sequence__": [{"__status__": 503}, {"status": "COMPLETE"}]})

    result = kaggle_cli(trained, "submit-notebook", "exp001/run002", *FAST, env=fake_kaggle.env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("warning: the kaggle command failed") == 1 and "Asking again." in result.stdout
    assert score_record(trained)["public_score"] == pytest.approx(0.93456)
