"""One run's life: trained into a hidden partial folder, recorded (provenance, status), then published."""
import errno
import inspect
import json
import os
import signal
import time
import traceback

from . import plan, staleness, util
from .interrupts import Signals, shielded
from .util import ConfigError, DataError, Pruned, TakenOver, log

# What a record's status.json says until the run ends and writes how it ended.
STOPPED_UNRECORDED = "the run stopped before it could record how it ended (see log.txt)"

# Errors of the file system, not of the code: the run fails with this cause, and the other runs still go.
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG)


def run_one(run, position, out_root, argv, fresh=None, report=None, extra=None, claim=None):
    """Train one run into a hidden folder, then publish it: runNNN/ when done, runNNN.failed/ if not.

    A run stopped earlier goes on from its saved state (resume.py), unless `fresh` names the option
    that asks for a clean start. --tune passes report (train.run's report(fold, score)) and extra, more
    fields for status.json (its study and trial); a trial stopped by report is published as NAME.pruned/
    with the folds it finished. `claim` (claims.Claim) is checked before publishing: a run taken over
    by another process meanwhile is that process's to publish, and this process's work on it is discarded.
    """
    from . import record
    from . import resume
    from . import tracking
    import train

    started, clock = util.now(), time.perf_counter()
    status = {"exp": util.EXP_NAME, "run": run.name, "metric": run.config.get("metric"), "started": started,
              "code": staleness.code_digest(), **(extra or {})}  # the code it ran: plan.other_code compares it
    if claim is not None:  # which process made the record: publishing never replaces a record made after this start
        status["claim"] = claim.token
    replaces = record.claim_of(out_root / run.name) if claim is not None else None
    partial = handler = tracker = metrics = None
    try:
        partial = record.start(out_root, run.name, claim.token if claim else None)
        util.write_json(partial / "status.json", {**status, "status": "failed", "error": STOPPED_UNRECORDED})
        (partial / "config_update.yml").write_text(run.snippet + "\n", encoding="utf-8")
        (partial / "config.yml").write_text(run.config_text, encoding="utf-8")
        record.snapshot_sources(partial / "src")
        handler = util.add_log_file(partial / "log.txt")
        log.info(f"{util.EXP_NAME}/{run.name} ({position}): {plan.describe_update(run)}")
        resume_dir = resume.prepare(out_root, run, fresh, claim)
        resumed = resume.progress(resume_dir)
        if resumed:  # the record says it was made by more than one process
            status["resumed"] = resume.describe(resumed)
        util.seed_everything(run.config.get("seed"))
        tracker = tracking.start_tracking(run.config, run.name, resume_dir)
        metrics = train_lab(train, run, partial, resume_dir, report)
        status.update(status="done", cv=metrics["cv"],
                      **({"warnings": metrics["warnings"]} if metrics.get("warnings") else {}))
    except TakenOver as e:
        log.error(f"{run.name}: {e}")
        status.update(status="failed", error=str(e))
    except Pruned as e:
        log.info(f"{run.name} pruned: {e}")
        status.update(status="pruned", folds=e.folds, note=str(e))
    except (ConfigError, DataError) as e:
        log.error(f"{run.name} failed: {e}")
        status.update(status="failed", error=str(e))
    except KeyboardInterrupt as e:
        Signals.received = Signals.received or getattr(e, "signum", signal.SIGINT)
        log.error(f"{run.name} interrupted")
        status.update(status="interrupted", error=signal.Signals(Signals.received).name)
    except Exception as e:
        if claim is not None and not claim.is_ours():  # its folder went with the claim: the error is only that
            log.error(f"{run.name}: taken over by another process while this one trained it ({type(e).__name__})")
            status.update(status="failed", error=f"taken over: {type(e).__name__}: {e}")
        elif write_error(e):
            log.error(f"{run.name} failed: {write_error(e, partial or out_root)}")
            status.update(status="failed", error=write_error(e, partial or out_root))
        else:  # the user's training code: keep the whole traceback
            log.error(f"{run.name} failed:\n{traceback.format_exc()}")
            status.update(status="failed", error=f"{type(e).__name__}: {e}")
    finally:
        with shielded():
            finish_record(run, status, partial, out_root, tracker, metrics, handler, argv, clock, claim, replaces)
    return status


def train_lab(train, run, partial, resume_dir, report=None):
    """Call the lab's train.run, with the folder of its resumable state when it takes one, and --tune's report."""
    options = {"report": report} if report else {}
    if "resume" in inspect.signature(train.run).parameters:
        options["resume"] = resume_dir
    return train.run(run.config, partial, run.n_rows, **options)  # a lab that cannot resume starts each run anew


def finish_record(run, status, partial, out_root, tracker, metrics, handler, argv, clock, claim=None,
                  replaces=None):
    """Close tracking, write provenance and status.json (last: it marks the record whole), and publish it."""
    from . import record
    from . import resume
    from . import tracking

    def attempt(step, *args):
        try:
            step(*args)
        except Exception as e:  # a full disk while recording: this run fails, the others still go
            if status["status"] == "done" or "error" not in status:
                status.update(status="failed", error=write_error(e, partial) or f"{type(e).__name__}: {e}")
            log.error(f"{run.name}: {write_error(e, partial) or e}")
            return False
        return True

    if partial is not None:
        attempt(tracking.finish_tracking, tracker, metrics, partial)
        attempt(record.write_provenance, partial, run.config, status["started"], argv)
    status.update(finished=util.now(), seconds=round(time.perf_counter() - clock, 3))
    if claim is not None and not (claim.is_ours() and (partial is None or partial.is_dir())):
        return discard_taken_over(run, status, partial, handler, claim)  # the new owner removed its folder
    log.info(f"{run.name} {status['status']} in {status['seconds']:.1f}s")
    if partial is not None and status["status"] == "interrupted":
        attempt(resume.keep, out_root, run.name)
    if handler is not None:
        util.remove_log_file(handler)
    if partial is None:
        return
    # Whole or not at all: when it cannot be written (a full disk), the placeholder written at the start
    # stays, and says the run failed, so a .failed/ record always has its status.json.
    if partial.is_dir():  # else removed since by a process that took the run over: publish says so below
        attempt(lambda: util.write_atomic(partial / "status.json", json.dumps(status, indent=2, default=str) + "\n"))
    published = []
    attempt(lambda: published.append(record.publish(partial, out_root, run.name, status["status"], not run.debug,
                                                    replaces)))
    if published == [False]:  # another process published the run first: this one was taken over meanwhile
        return discard_taken_over(run, status, None, None, claim)
    if status["status"] != "interrupted":
        attempt(resume.remove, out_root, run.name)


def discard_taken_over(run, status, partial, handler, claim):
    """Drop this process's work on a run another process took over: the record is that one's alone."""
    import shutil

    from . import claims

    taker = claims.describe_owner(claims.read_owner(claim.folder)) if claim is not None else "another process"
    log.error(f"{run.name}: taken over by another process while this one trained it ({taker}): "
              "its record will be that process's, and this process's work on it is discarded")
    if handler is not None:
        util.remove_log_file(handler)
    if partial is not None:
        shutil.rmtree(partial, ignore_errors=True)
    status.update(status="taken over", error=f"taken over: {taker}")


def write_error(e, folder=None):
    """Give 'No space left on device while writing data/output/...' for a file-system error, else None."""
    if not isinstance(e, OSError) or e.errno not in WRITE_ERRORS:
        return None
    target = e.filename or folder
    return f"{e.strerror or os.strerror(e.errno)} while writing {util.rel(target) if target else 'the record'}"
