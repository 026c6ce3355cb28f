"""Fencing: when two processes both believe they hold a run, its record is the work of exactly one of them.

A process on another host paused past the claim timeout (a VM freeze, a long GC, a slow NFS) is taken
over; so is a live one whose host has a longer timeout than the taker's. Hosts are simulated with
`unshare -u` (a UTS namespace with its own host name), so each process sees the other as remote.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from test_parallel import slow_training, wait_for
from test_runs import EXP, fast  # noqa: F401  (a fixture; the test taking it is noqa: F811)

pytestmark = pytest.mark.slow


def can_rename_host():
    try:
        return subprocess.run(["unshare", "-u", "hostname", "fencing-check"], capture_output=True).returncode == 0
    except OSError:
        return False


needs_hosts = pytest.mark.skipif(not can_rename_host(),
                                 reason="unshare -u (a host name of its own) is not allowed here")


def start_on_host(project, host, timeout, sleep, **env):
    """Start `exp.py --run 1` as if on machine `host`, with its own claim timeout; give the Popen."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1",
               KAGGLE_EXP_CLAIM_TIMEOUT=str(timeout), TEST_SLEEP=str(sleep), **env)
    script = f'hostname {host} && exec "$0" exp/exp001/exp.py --run 1'
    return subprocess.Popen(["unshare", "-u", "sh", "-c", script, sys.executable], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_one_process_record(project, trained_project, loser_output):
    """run001 is whole, made by one process, equal to a sequential run's; the loser said so and left nothing."""
    run = project / EXP / "run001"
    assert (run / "status.json").is_file()
    assert (run / "log.txt").read_text().count("exp001/run001 (") == 1, "one process's log"
    for name in ("oof.csv", "test_pred.csv", "submission.csv"):
        assert (run / name).read_bytes() == (trained_project / EXP / "run001" / name).read_bytes(), name
    assert "run001: taken over by another process while this one trained it" in loser_output
    assert "this process's work on it is discarded" in loser_output
    assert not list((project / EXP).glob(".run001.partial*")), "the loser's partial folder is gone"
    assert sorted(p.name for p in (project / EXP).iterdir()) == ["run001"], "no claim, saved state or record aside"


@needs_hosts
def test_an_owner_paused_past_the_timeout_loses_the_run_and_discards_its_work(project, trained_project):
    slow_training(project)
    first = start_on_host(project, "host-a", timeout=2, sleep=8)
    wait_for(project / EXP / ".run001.partial.host-a.*/log.txt")
    os.kill(first.pid, signal.SIGSTOP)  # a VM freeze: no refresh of its claim, no work
    try:
        time.sleep(3)  # past the 2 s timeout
        second = start_on_host(project, "host-b", timeout=2, sleep=0)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, out + err
        assert "run001: taking over the claim of pid" in out, out
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out1, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, out1 + err1
    assert_one_process_record(project, trained_project, out1)


@needs_hosts
def test_hosts_with_different_claim_timeouts_still_leave_one_process_s_record(project, trained_project):
    slow_training(project)
    # refreshes its claim every 30 s; sleeps long enough that the hasty one, whose start-up (imports) takes 5 s or
    # more on a busy machine, claims the run while it trains (with 6 s it could find it finished and leave it)
    patient = start_on_host(project, "host-a", timeout=300, sleep=15)
    wait_for(project / EXP / ".run001.partial.host-a.*/log.txt")
    time.sleep(1.5)
    hasty = start_on_host(project, "host-b", timeout=1, sleep=0)  # sees a claim older than 1 s as abandoned
    out, err = hasty.communicate(timeout=120)
    assert hasty.returncode == 0 and "taking over the claim" in out, out + err
    out1, err1 = patient.communicate(timeout=120)
    assert patient.returncode == 0, out1 + err1
    assert_one_process_record(project, trained_project, out1)


@needs_hosts
def test_an_owner_paused_between_its_ownership_check_and_its_publish_cannot_publish_over_the_new_owner(
        project, trained_project):
    slow_training(project)
    one_run = project / "exp/exp001/runner/one_run.py"  # a pause planted right after the last ownership check
    anchor = "    log.info(f\"{run.name} {status['status']} in {status['seconds']:.1f}s\")\n"
    pause = "    if os.environ.get('TEST_PAUSE'): os.kill(os.getpid(), signal.SIGSTOP)\n"
    assert anchor in one_run.read_text()
    one_run.write_text(one_run.read_text().replace(anchor, pause + anchor))
    first = start_on_host(project, "host-a", timeout=2, sleep=0, TEST_PAUSE="1")
    deadline = time.monotonic() + 120
    while state(first.pid) != "T":  # trained, checked that it owns the run, and frozen before publishing
        assert first.poll() is None and time.monotonic() < deadline, "the first process never reached the pause"
        time.sleep(0.1)
    try:
        time.sleep(3)  # past the 2 s timeout
        second = start_on_host(project, "host-b", timeout=2, sleep=0)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0 and "taking over the claim" in out, out + err
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out1, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, out1 + err1
    assert_one_process_record(project, trained_project, out1)  # no run001.replaced-*: the new owner's stays


@needs_hosts
def test_the_partial_folder_of_a_process_killed_on_another_host_goes_when_the_next_one_claims_the_run(project):
    slow_training(project)
    first = start_on_host(project, "host-a", timeout=2, sleep=60)
    wait_for(project / EXP / ".run001.partial.host-a.*/log.txt")
    first.kill()  # kill -9 on host-a: nothing of it can clean up, and host-b cannot see its pid
    first.wait()
    time.sleep(3)  # past the 2 s timeout
    second = start_on_host(project, "host-b", timeout=2, sleep=0)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0 and "taking over the claim" in out, out + err
    assert sorted(p.name for p in (project / EXP).iterdir()) == ["run001"], "the dead host's partial folder is gone"


def state(pid):
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_jobs_workers_stop_when_their_parent_is_killed(project):
    slow_training(project)
    parent = subprocess.Popen([sys.executable, "exp/exp001/exp.py", "--jobs", "2"], cwd=project,
                              env=dict(os.environ, OMP_NUM_THREADS="1", TEST_SLEEP="60"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(project / EXP / ".run001.partial.*/log.txt")
    wait_for(project / EXP / ".run002.partial.*/log.txt")
    workers = [int(p.name.rsplit(".", 2)[1]) for p in (project / EXP).glob(".run00*.partial.*")]
    assert len(workers) == 2
    parent.kill()  # kill -9: it cannot pass a signal on
    parent.wait()

    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker kept training after its parent died"
        time.sleep(0.2)
    for run in ("run001", "run002"):
        status = (project / EXP / f"{run}.failed" / "status.json").read_text()
        assert '"interrupted"' in status and "SIGTERM" in status, status


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return state(pid) != "Z"  # a zombie has ended; it only waits to be reaped


def test_a_claim_left_without_its_owner_file_blocks_its_run_for_seconds_only(project):
    claim = project / EXP / ".run001.claim"
    claim.mkdir(parents=True)  # a process killed between creating its claim and writing owner.json
    old = time.time() - 30
    os.utime(claim, (old, old))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "exp/exp001/exp.py", "--run", "1"], cwd=project, capture_output=True,
                            text=True, env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run001: taking over the claim of a process that never finished claiming it" in result.stdout
    assert (project / EXP / "run001/status.json").is_file() and time.monotonic() - started < 60


def test_a_failed_record_has_its_status_and_log_even_when_the_disk_fills_at_the_end(fast, tmp_path):  # noqa: F811
    from test_parallel import fake_file_system
    env = fake_file_system(tmp_path, "'.run002.partial' in p and 'status.json.' in p and p.endswith('.tmp')", "ENOSPC")
    result = subprocess.run([sys.executable, "exp/exp001/exp.py"], cwd=fast, capture_output=True, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1", **env), timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No space left on device" in result.stdout and "Traceback" not in result.stdout + result.stderr
    failed = fast / EXP / "run002.failed"
    status = __import__("json").loads((failed / "status.json").read_text())
    assert status["status"] == "failed"
    assert status["error"] == "the run stopped before it could record how it ended (see log.txt)"
    assert "run002" in (failed / "log.txt").read_text()
    left = sorted(p.name for p in (fast / EXP).iterdir() if not p.name.startswith("."))
    assert left == ["run001", "run002.failed", "run003"]
