"""Rules of the run machinery that a one-line slip would break silently, checked in seconds, in the quick subset.

A claim taken over by another process is that process's to remove, and so is the record it publishes; a --tune
trial that died is retried once, and a retry that died too is not retried again; a Ctrl-C a library swallowed
still stops the run; a run stopped by Ctrl-C resumes at its fold to the record of an uninterrupted run; --jobs 2
trains each run once. (The slow files test each of these at length.)
"""
import json

from conftest import run_exp
from test_guards import in_exp

RELEASE_AFTER_TAKEOVER = """
    import json, tempfile
    from pathlib import Path
    from runner import claims
    out = Path(tempfile.mkdtemp())
    mine, _ = claims.claim(out, "run001")
    claims.write_owner(mine.folder, "a-token-of-another-process")  # taken over while this process was paused
    mine.release()
    still = claims.read_owner(out / ".run001.claim")
    theirs, _ = claims.claim(out, "run002")
    theirs.release()
    print(json.dumps({"kept": still is not None and still["token"] == "a-token-of-another-process",
                      "released_own": not (out / ".run002.claim").exists()}))
"""


def test_releasing_a_claim_leaves_it_to_the_process_that_took_it_over(project):
    assert in_exp(project, RELEASE_AFTER_TAKEOVER) == {"kept": True, "released_own": True}


PUBLISH_OVER_A_NEWER_RECORD = """
    import json, tempfile
    from pathlib import Path
    from runner import record, util
    out = Path(tempfile.mkdtemp())
    def folder(name, claim):
        path = out / name
        path.mkdir()
        util.write_json(path / "status.json", {"status": "done", "claim": claim})
        return path
    folder("run001", "new-owner")  # published by the process that took run001 over while this one was paused
    stale = record.publish(folder(".run001.partial.a", "old-owner"), out, "run001", "done", True, replaces=None)
    folder("run002", "first")  # a --force rerun replaces the record it found when it started, kept aside
    forced = record.publish(folder(".run002.partial.a", "second"), out, "run002", "done", True, replaces="first")
    print(json.dumps({"stale": stale, "forced": forced, "left": sorted(p.name[:15] for p in out.iterdir()),
                      "run001": record.claim_of(out / "run001"), "run002": record.claim_of(out / "run002")}))
"""


def test_a_stale_owner_cannot_publish_over_a_record_made_after_it_started(project):
    assert in_exp(project, PUBLISH_OVER_A_NEWER_RECORD) == {
        "stale": False, "forced": True, "left": ["run001", "run002", "run002.replaced"],
        "run001": "new-owner", "run002": "second"}


RETRY_OF_A_RETRY = """
    import json, tempfile
    from pathlib import Path
    import optuna
    from runner import tune
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    root = Path(tempfile.mkdtemp())
    study = optuna.create_study()
    first = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    tune.mark_failed(study, first, root, "pid 1 on host-a")  # died: its values are queued once more
    retry = study.ask()
    queued = retry.suggest_float("x", 0, 1)  # an enqueued trial gives back the values it was queued with
    tune.mark_failed(study, retry, root, "pid 2 on host-a")  # the retry died too: not queued again
    waiting = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.WAITING])
    print(json.dumps({"retry_has_the_values": queued == first.params["x"],
                      "retry_of": retry.user_attrs.get("retry_of"), "waiting": len(waiting)}))
"""


def test_a_tune_trial_that_died_is_retried_once_and_its_retry_not_again(project):
    assert in_exp(project, RETRY_OF_A_RETRY) == {"retry_has_the_values": True, "retry_of": 0, "waiting": 0}


STOP_INSIDE_A_FINALIZER = """
    import json, os, signal, time
    from runner.interrupts import Stop, catch_signals
    catch_signals()

    class LibraryObject:  # as LightGBM's Dataset: Ctrl-C can land while Python runs its __del__
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the handler runs here, and Python only prints what it raises

    seen = {"stopped": False, "trained_on": 0}
    try:
        LibraryObject()  # freed at once
        for step in range(300):  # the run's next steps: the stop must end them
            time.sleep(0.01)
            seen["trained_on"] += 1
    except Stop as stop:
        seen["stopped"], seen["signal"] = True, stop.signum
    print(json.dumps(seen))
"""


def test_a_stop_raised_inside_a_finalizer_still_stops_the_run(project):
    found = in_exp(project, STOP_INSIDE_A_FINALIZER)
    assert found["stopped"] and found["signal"] == 2 and found["trained_on"] < 100, found


STOP_SWALLOWED_BY_A_LIBRARY = """
    import json, os, signal, time
    from runner.interrupts import Stop, catch_signals, stop_if_signalled
    catch_signals()
    seen = {}
    try:  # a library callback that catches everything, and carries on
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    except BaseException:
        pass
    try:
        stop_if_signalled()  # the next fold or epoch
    except Stop as stop:
        seen["next_fold"] = stop.signum
    try:
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C again
        time.sleep(1)
        seen["second"] = "ignored"
    except Stop:
        seen["second"] = "stopped at once"
    print(json.dumps(seen))
"""


def test_a_stop_a_library_swallowed_stops_the_next_fold_and_a_second_ctrl_c_stops_at_once(project):
    assert in_exp(project, STOP_SWALLOWED_BY_A_LIBRARY) == {"next_fold": 2, "second": "stopped at once"}


def test_a_run_whose_ctrl_c_a_library_swallowed_stops_at_its_next_fold(project):
    path = project / "exp/exp001/train.py"
    anchor = "        train_idx, valid_idx = np.flatnonzero(folds != k), np.flatnonzero(folds == k)\n"
    swallow = ("        if k == 1:  # a library that catches every exception, Ctrl-C too, and carries on\n"
               "            try:\n"
               "                import os, signal; os.kill(os.getpid(), signal.SIGINT); time.sleep(1)\n"
               "            except BaseException:\n"
               "                pass\n")
    assert path.read_text().count(anchor) == 1
    path.write_text(path.read_text().replace(anchor, anchor + swallow))
    result = run_exp(project, "--run", "1")
    assert result.returncode == 130, result.stdout + result.stderr
    status = json.loads((project / "data/output/exp/exp001/run001.failed/status.json").read_text())
    progress = json.loads((project / "data/output/exp/exp001/.run001.resume/progress.json").read_text())
    assert status["status"] == "interrupted" and progress["done"] == 2, (status, progress)  # folds 1-2, not 3-5


# ---------------------------------------------------------------- a stop and a resume, and two workers: one quick case
# each

def test_a_run_stopped_by_ctrl_c_in_fold_3_resumes_there_to_an_uninterrupted_run_s_record(project, trained_project):
    from test_resume import assert_same_results, stop_in_fold, stop_run

    stop_in_fold(project)
    assert stop_run(project, "SIGINT") == 130
    result = run_exp(project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run001: resuming at fold 3 (folds 1-2 done)" in result.stdout
    assert_same_results(project, trained_project)


def test_jobs_2_trains_every_run_once_in_two_workers(project):
    result = run_exp(project, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    records = project / "data/output/exp/exp001"
    statuses = [json.loads((records / run / "status.json").read_text()) for run in ("run001", "run002", "run003")]
    assert [s["status"] for s in statuses] == ["done"] * 3
    # each trained once, no leftovers
    assert not list(records.glob("run*.replaced-*")) and not list(records.glob(".run*"))


PACKAGE_VERSIONS = """
    import json
    from importlib import metadata
    from runner import record
    def by_metadata(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None
    every = {record.normalized(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed = record.installed_versions()
    print(json.dumps({
        "provenance": record.environment()["packages"] == {name: by_metadata(name) for name in record.PACKAGES},
        "differ": {name: [installed.get(name), version] for name, version in every.items()
                   if installed.get(name) not in (version, "")},
    }))
"""


def test_provenance_gives_each_package_s_version_as_importlib_metadata_does(project):
    """provenance.json's versions come from the metadata folders' names (parsing 15 METADATA files cost 25 to 80 ms
    of every process): for the packages it lists and for every package installed here, the same as metadata's."""
    assert in_exp(project, PACKAGE_VERSIONS) == {"provenance": True, "differ": {}}
