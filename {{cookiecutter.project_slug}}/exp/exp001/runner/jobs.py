"""--jobs N: train up to N runs at once on this machine, in N worker processes of the same command.

Each worker is exp.py without --jobs: it claims runs like any other process (see claims.py), so the
workers never train the same run, and the cores are split between them.
"""
import contextlib
import os
import signal
import subprocess
import sys

from .interrupts import Signals
from .util import log


def run_workers(n, argv, exp_py, each=None):
    """Run `exp.py` (without --jobs) in n worker processes over the same claims; give their exit codes.

    each(i, args), when given, gives worker i's own arguments (--tune shares its trials out).
    """
    threads = max(1, (os.cpu_count() or 1) // n)
    # Workers split the cores: LightGBM and scikit-learn's OpenMP code follow OMP_NUM_THREADS unless
    # the config sets num_threads / n_jobs; the models read KAGGLE_EXP_THREADS (model.threads).
    env = dict(os.environ, KAGGLE_EXP_WORKER="1", KAGGLE_EXP_THREADS=str(threads))
    env.setdefault("OMP_NUM_THREADS", str(threads))
    args = without_jobs(argv)
    log.info(f"--jobs {n}: {n} worker processes, {threads} thread(s) each")
    workers = [subprocess.Popen([sys.executable, str(exp_py), *(each(i, args) if each else args)], env=env)
               for i in range(n)]
    codes = []
    for worker in workers:
        while True:
            try:
                codes.append(worker.wait())
                break
            except KeyboardInterrupt:  # forward SIGTERM (Ctrl-C reaches the workers by itself) and wait for them
                Signals.shielded = True
                for other in workers:
                    with contextlib.suppress(OSError):
                        other.send_signal(Signals.received or signal.SIGINT)
    return codes


def without_jobs(argv):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--jobs":
            skip = True
        elif not a.startswith("--jobs="):
            out.append(a)
    return out
