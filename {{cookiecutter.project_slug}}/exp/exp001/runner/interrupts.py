"""Ctrl-C, SIGTERM and SIGUSR1: the current run ends as "interrupted", its claim is released, no traceback.

SIGTERM is what Slurm, `timeout` and `docker stop` send; SIGUSR1 is what schedulers are often told to
send ahead of a time limit (sbatch --signal=USR1@120). Both are treated like Ctrl-C: the run stops
promptly and keeps what it finished, so the next start resumes it (resume.py). The exit code is
128 + the signal number, as a shell expects: 130 for Ctrl-C, 143 for SIGTERM, 138 for SIGUSR1.
"""
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path


# main() catches these before any slow import (pandas, LightGBM and the experiment's own modules are
# imported inside it), and still prints the summary of the runs that finished.
class Stop(KeyboardInterrupt):
    """Raised in the main thread by Ctrl-C, SIGTERM or SIGUSR1; the exit code is 128 + the signal number."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
STOP_CODES = tuple(128 + signum for signum in STOP_SIGNALS)  # 130, 143, 138


class Signals:
    received = None   # the first signal number received, if any
    shielded = False  # True while a record or claim is being written: the signal waits until it is done


def on_signal(signum, frame):
    """Raise Stop, unless a record or claim is being written: then it is raised once that is done.

    The first signal stays in Signals.received, which the fold and epoch loops check (stop_if_signalled): a Stop
    that a library swallowed (a callback's `except BaseException`) still stops the run at its next fold or epoch,
    and a second Ctrl-C stops it at once.
    """
    Signals.received = Signals.received or signum
    if not Signals.shielded:
        raise Stop(Signals.received)


def catch_signals():
    """Make Ctrl-C, SIGTERM and SIGUSR1 raise Stop from now on; main() calls it, so importing exp.py changes nothing."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    if sys.unraisablehook is not redeliver_stop:
        redeliver_stop.previous = sys.unraisablehook
        sys.unraisablehook = redeliver_stop


def redeliver_stop(unraisable):
    """Send a Stop again that Python swallowed: raised inside a finalizer (a library's __del__), it is only printed.

    The signal comes back from a short-lived thread, so it is raised in the main thread's own code, after the
    finalizer, and the run stops there instead of training on to "done".
    """
    if not isinstance(unraisable.exc_value, Stop):
        return redeliver_stop.previous(unraisable)
    signum = unraisable.exc_value.signum
    threading.Timer(0.01, os.kill, (os.getpid(), signum)).start()


def leave_quietly(signum, frame):
    """Before main() runs (exp.py's own imports, RUNS): nothing was started, so leave at once, without a traceback."""
    sys.stderr.write("interrupted before any run started\n")
    raise SystemExit(128 + signum)


def catch_signals_early(main_file):
    """From `import runner` on, when exp.py (main_file) runs as the command: Ctrl-C and SIGTERM leave quietly.

    Not when exp.py or the runner is imported (a notebook, predict.py): their signals stay as they were.
    """
    here = Path(__file__).resolve().parents[1]
    if main_file and Path(main_file).name == "exp.py" and Path(main_file).resolve().parent == here:
        signal.signal(signal.SIGINT, leave_quietly)
        signal.signal(signal.SIGTERM, leave_quietly)


@contextlib.contextmanager
def shielded():
    """Hold Ctrl-C, SIGTERM and SIGUSR1 back while a record or claim is written, so it is never left half done."""
    before = Signals.shielded
    Signals.shielded = True
    try:
        yield
    finally:
        Signals.shielded = before


def stop_if_signalled():
    """Raise Stop when a stop signal came and nothing stopped on it: the labs call it at each fold and epoch."""
    if Signals.received is not None:
        raise Stop(Signals.received)
