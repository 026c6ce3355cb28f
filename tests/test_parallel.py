"""Many processes on one project: claimed runs, shared files, signals and write failures."""
import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import run_exp, run_python
from test_runs import EXP, set_config, set_runs

SNIPPETS = [f"model:\n  params:\n    num_leaves: {n}" for n in (3, 4, 5, 6, 7, 8)]

pytestmark = pytest.mark.slow  # processes started together, killed and signalled, with sleeps to make them overlap


def slow_training(project):
    """Make each run sleep TEST_SLEEP seconds (0 when unset) once its record folder exists, so processes overlap."""
    path = project / "exp/exp001/train.py"
    anchor = "    data = data_io.load_data(cfg, n_rows)\n"
    assert anchor in path.read_text()
    sleep = "    import os, time; time.sleep(float(os.environ.get('TEST_SLEEP', '0')))\n"
    path.write_text(path.read_text().replace(anchor, sleep + anchor))


def start_exp(project, *args, env=None):
    """Start exp/exp001/exp.py in the background; give the Popen (text output)."""
    full_env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.Popen([sys.executable, str(project / "exp/exp001/exp.py"), *args], cwd=project, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, timeout=60):
    """Wait until `path` exists; a * in it matches any text (a run's partial folder is named by its process)."""
    deadline = time.monotonic() + timeout
    while not glob.glob(str(path)):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def trained_count(outputs, run):
    """Give how many processes started training `run`, from their console output."""
    return sum(len(re.findall(rf"exp001/{run} \(", out)) for out in outputs)


def assert_clean_records(project, runs):
    """Every run done once: no failed, replaced, partial or claim folders left."""
    names = sorted(p.name for p in (project / EXP).iterdir())
    assert names == runs, names
    for run in runs:
        assert json.loads((project / EXP / run / "status.json").read_text())["status"] == "done"


@pytest.fixture
def fast(project):
    set_config(project, model__num_boost_round=20)
    return project


# ---------------------------------------------------------------- claims

def test_two_processes_train_each_run_once_with_the_results_of_a_sequential_run(project, trained_project):
    slow_training(project)
    # Each run sleeps long enough that the second start, which reads the data and preflights every run's
    # settings before it claims one, finds runs left even on a busy machine.
    first = start_exp(project, env={"TEST_SLEEP": "3"})
    time.sleep(0.3)
    second = start_exp(project, env={"TEST_SLEEP": "3"})
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    stdout = [out for out, _ in outputs]
    runs = ["run001", "run002", "run003"]
    assert [trained_count(stdout, run) for run in runs] == [1, 1, 1], stdout
    assert all(trained_count([out], "run001") + trained_count([out], "run002") + trained_count([out], "run003")
               for out in stdout), "both processes take runs"
    assert_clean_records(project, runs)
    for run in runs:
        for name in ("metrics.json", "oof.csv", "submission.csv"):
            ours, sequential = (p / EXP / run / name for p in (project, trained_project))
            if name == "metrics.json":
                drop = ("fit_seconds", "total_seconds")
                ours, sequential = ({k: v for k, v in json.loads(f.read_text()).items() if k not in drop}
                                    for f in (ours, sequential))
                assert ours == sequential
            else:
                assert ours.read_text() == sequential.read_text()


def test_three_processes_with_random_start_delays_train_each_run_once(fast):
    set_runs(fast, *SNIPPETS)
    runs = [f"run{i:03d}" for i in range(1, 7)]
    for repeat in range(2):
        for child in (fast / "data/output").iterdir():
            subprocess.run(["rm", "-rf", str(child)], check=True)
        processes = []
        for delay in sorted(random.uniform(0, 0.8) for _ in range(3)):
            time.sleep(delay / 3)
            processes.append(start_exp(fast))
        outputs = [p.communicate(timeout=180) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        assert [trained_count([o for o, _ in outputs], run) for run in runs] == [1] * 6, outputs
        assert_clean_records(fast, runs)


def test_jobs_trains_runs_in_worker_processes_each_once(fast):
    set_runs(fast, *SNIPPETS[:4])
    result = run_exp(fast, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--jobs 2: 2 worker processes" in result.stdout
    runs = ["run001", "run002", "run003", "run004"]
    assert [trained_count([result.stdout], run) for run in runs] == [1] * 4
    assert_clean_records(fast, runs)
    summary = result.stdout.split("summary (data/output/exp/exp001):")[1]
    assert all(run in summary for run in runs) and summary.count("<- best") == 1


def test_run_of_a_killed_process_is_taken_over_by_the_next_start(fast):
    slow_training(fast)
    victim = start_exp(fast, "--run", "1", env={"TEST_SLEEP": "60"})
    wait_for(fast / EXP / ".run001.partial.*/log.txt")
    victim.kill()  # kill -9: no cleanup at all
    victim.communicate()
    assert (fast / EXP / ".run001.claim").is_dir()
    result = run_exp(fast, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"run001: taking over the claim of pid {victim.pid} on " in result.stdout
    assert_clean_records(fast, ["run001"])


def test_a_running_run_keeps_its_claim_fresh_and_is_skipped_by_another_start(fast):
    slow_training(fast)
    env = {"KAGGLE_EXP_CLAIM_TIMEOUT": "1"}
    # Long enough for the other start to import the model library for its preflight before it looks for a claim.
    holder = start_exp(fast, "--run", "1", env={**env, "TEST_SLEEP": "15"})
    wait_for(fast / EXP / ".run001.partial.*/log.txt")
    time.sleep(1.5)
    owner = fast / EXP / ".run001.claim/owner.json"
    assert json.loads(owner.read_text())["pid"] == holder.pid
    assert time.time() - owner.stat().st_mtime < 1, "refreshed every quarter of the timeout while the run trains"
    other = run_exp(fast, "--run", "1", env=env)
    assert other.returncode == 0, other.stdout + other.stderr
    assert re.search(rf"run001: running in pid {holder.pid} on \S+ since \d\d:\d\d", other.stdout), other.stdout
    out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, out + err
    assert trained_count([out, other.stdout], "run001") == 1
    assert_clean_records(fast, ["run001"])


def write_claim(project, run, host, pid, age):
    folder = project / EXP / f".{run}.claim"
    folder.mkdir(parents=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - age))
    started = started[:-2] + ":" + started[-2:]
    (folder / "owner.json").write_text(json.dumps({"host": host, "pid": pid, "token": "x", "started": started}))
    os.utime(folder / "owner.json", (time.time() - age, time.time() - age))
    return time.strftime("%H:%M", time.localtime(time.time() - age))


def test_claim_from_another_host_is_taken_over_only_after_the_timeout(fast):
    write_claim(fast, "run001", "other-host", 4242, age=60)
    since = write_claim(fast, "run002", "other-host", 4343, age=0)
    env = {"KAGGLE_EXP_CLAIM_TIMEOUT": "20"}
    listing = run_exp(fast, "--list", env=env).stdout
    assert re.search(rf"run002\s+running\s+\(in pid 4343 on other-host since {since}\)", listing), listing
    assert re.search(r"run001\s+not run", listing), listing
    result = run_exp(fast, "--run", "1-2", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run001: taking over the claim of pid 4242 on other-host, gone" in result.stdout
    assert f"run002: running in pid 4343 on other-host since {since}" in result.stdout
    assert (fast / EXP / "run001/status.json").is_file() and not (fast / EXP / "run002").exists()
    assert (fast / EXP / ".run002.claim/owner.json").is_file(), "a live claim is never taken"


# ---------------------------------------------------------------- signals

def test_sigterm_records_the_run_as_interrupted_and_a_restart_goes_on(fast):
    slow_training(fast)
    process = start_exp(fast, env={"TEST_SLEEP": "60"})
    wait_for(fast / EXP / ".run001.partial.*/log.txt")
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, out + err
    assert "Traceback" not in out + err
    assert "summary (data/output/exp/exp001)" in out and "run001  interrupted" in out
    assert sorted(p.name for p in (fast / EXP).iterdir()) == ["run001.failed"], "claim released, nothing half-written"
    status = json.loads((fast / EXP / "run001.failed/status.json").read_text())
    assert status["status"] == "interrupted" and status["error"] == "SIGTERM"
    again = run_exp(fast)
    assert again.returncode == 0, again.stdout + again.stderr
    assert_clean_records(fast, ["run001", "run002", "run003"])


def test_ctrl_c_while_the_data_loads_ends_without_a_traceback(fast):
    path = fast / "exp/exp001/features.py"
    anchor = '    """\n    return frame\n'
    assert anchor in path.read_text()
    marker = fast / "loading"
    hook = (f'    """\n    import os, pathlib, time\n    if os.environ.get("TEST_SLOW_LOAD"):\n'
            f'        pathlib.Path({str(marker)!r}).touch()\n        time.sleep(60)\n    return frame\n')
    path.write_text(path.read_text().replace(anchor, hook))
    process = start_exp(fast, env={"TEST_SLOW_LOAD": "1"})
    wait_for(marker)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    assert "interrupted" in out
    assert not (fast / EXP).exists() or not any((fast / EXP).iterdir()), "nothing left that blocks the next start"
    assert run_exp(fast, "--run", "1").returncode == 0


# ---------------------------------------------------------------- shared files

def test_eight_new_experiments_at_once_are_each_complete_or_refused(project):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    processes = [subprocess.Popen([sys.executable, str(project / "scripts/new_exp.py")], cwd=project, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    created = []
    for code, out, err in results:
        assert "Traceback" not in err
        if code == 0:
            created.append(re.match(r"created exp/(exp\d+) from", out).group(1))
        else:
            assert code == 2 and err.startswith("error: ")
    assert len(created) == len(set(created)) >= 1
    expected = sorted(p.name for p in (project / "exp/exp001").iterdir()) + ["NOTES.md"]
    folders = sorted(p.name for p in (project / "exp").iterdir())
    assert folders == sorted(["exp001", *created]), "no half-copied or hidden folder is left"
    for name in created:
        assert sorted(p.name for p in (project / "exp" / name).iterdir()) == sorted(expected), name
        assert (project / "exp" / name / "exp.py").read_bytes() == (project / "exp/exp001/exp.py").read_bytes()


def test_two_experiments_sharing_folds_started_together_both_succeed(fast, tmp_path):
    assert run_python(fast, "scripts/new_exp.py").returncode == 0
    # A slow disk: renaming a file into data/output/folds/ takes a second, so both experiments write it at once.
    slow = tmp_path / "slowfs"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(textwrap.dedent("""
        import os, time
        _replace = os.replace

        def slow_replace(src, dst, *args, **kwargs):
            if "folds" in os.fspath(dst):
                time.sleep(1)
            return _replace(src, dst, *args, **kwargs)

        os.replace = slow_replace
    """))
    env = {"PYTHONPATH": str(slow)}
    processes = [start_exp(fast, env=env), subprocess.Popen(
        [sys.executable, str(fast / "exp/exp002/exp.py")], cwd=fast, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg", **env))]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    folds = list((fast / "data/output/folds").iterdir())
    assert len(folds) == 1, "one complete fold file, no temporary ones left"
    oof = [(fast / f"data/output/exp/{exp}/run001/oof.csv").read_text().splitlines() for exp in ("exp001", "exp002")]
    assert [row.split(",")[:2] for row in oof[0]] == [row.split(",")[:2] for row in oof[1]]


# ---------------------------------------------------------------- write failures

def fake_file_system(tmp_path, condition, error):
    """Give env that makes every write to a path matching `condition` (Python, on `p`) fail with errno `error`.

    Only the operating system's answer is replaced: Python's own open() and mkdir() see the failure.
    """
    folder = tmp_path / "fakefs"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import builtins, errno, io, os
        _open, _mkdir = io.open, os.mkdir

        def _fails(p):
            p = os.fspath(p) if isinstance(p, (str, os.PathLike)) else ""
            return {condition}

        def _error(p):
            return OSError(errno.{error}, os.strerror(errno.{error}), os.fspath(p))

        def fake_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+") and _fails(file):
                raise _error(file)
            return _open(file, mode, *args, **kwargs)

        def fake_mkdir(path, *args, **kwargs):
            if _fails(path):
                raise _error(path)
            return _mkdir(path, *args, **kwargs)

        builtins.open = io.open = fake_open
        os.mkdir = fake_mkdir
    """))
    return {"PYTHONPATH": str(folder)}


def test_full_disk_while_recording_one_run_fails_that_run_and_the_next_still_trains(fast, tmp_path):
    env = fake_file_system(tmp_path, "'.run002.partial' in p and p.endswith('metrics.json')", "ENOSPC")
    result = run_exp(fast, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    cause = (re.escape("No space left on device while writing data/output/exp/exp001/.run002.partial.")
             + r"[^/]+/metrics\.json")
    assert re.search(rf"failed: run002: {cause}. See log.txt in data/output/exp/exp001/run002.failed/",
                     result.stdout), result.stdout
    assert sorted(p.name for p in (fast / EXP).iterdir()) == ["run001", "run002.failed", "run003"]
    assert re.fullmatch(cause, json.loads((fast / EXP / "run002.failed/status.json").read_text())["error"])


def test_read_only_output_folder_is_reported_once_before_training(fast, tmp_path):
    env = fake_file_system(tmp_path, f"p.startswith({str(fast / 'data/output')!r})", "EROFS")
    result = run_exp(fast, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    message = "cannot write to data/output/exp/exp001/ (Read-only file system). No run was started."
    assert (result.stdout + result.stderr).count(message) == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "fold 1/5" not in result.stdout


def test_blends_made_at_once_each_get_their_own_number(trained):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
    processes = [subprocess.Popen([sys.executable, str(trained / "scripts/blend.py"), "exp001/run001", "exp001/run002"],
                                  cwd=trained, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, outputs
    written = sorted(re.search(r"written: data/output/blend/(blend\d+)/", out).group(1) for out, _ in outputs)
    assert written == ["blend001", "blend002", "blend003", "blend004"]
    blends = sorted(p.name for p in (trained / "data/output/blend").iterdir())
    assert blends == written, "no hidden partial folder is left"
    for name in written:
        assert (trained / "data/output/blend" / name / "blend.json").is_file()
