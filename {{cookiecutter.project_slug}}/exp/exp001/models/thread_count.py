"""How many threads a run's model trains with, chosen from the machine and the data, and said in the log.

In order, the first that is set decides:
    model.params' own key (num_threads, nthread, thread_count, n_jobs)   the config's word
    KAGGLE_EXP_THREADS      set by exp.py --jobs N (the cores split between the workers), or by you
    OMP_NUM_THREADS         the machine's word, read by every OpenMP library
    the data and machine    one thread below SMALL_DATA values (rows x features); above, the usable cores
                            that other work leaves free (the cores minus the 1-minute load average), at least one

Why one thread for small data: a fold of a few thousand rows trains in milliseconds, and OpenMP's
threads spend more time waiting for each other than working; when another process keeps a core busy
the waiting gets far worse (LightGBM's documentation advises few threads for small data). Measured
with benchmarks/bench_threads.py (numbers in benchmarks/README.md), LightGBM on 2 shared cores: at
1,000 and 10,000 rows x 20 features, 2 threads took 18 to 21 times as long as 1; at 100,000 x 20,
1.1 to 1.7 times as long. Other work on the machine costs threads their speed-up too, hence the load.
"""
import os

from runner.util import log

THREADS_ENV = "KAGGLE_EXP_THREADS"
SMALL_DATA = 5_000_000  # rows x features of the train matrix below which one thread is fastest

_CHOICE = {"threads": None}  # the count the family modules give the libraries; set by choose() for each run
_SAID = {}                   # id(cfg) -> the line logged for that run's config, so each run says it once


def usable_cores():
    """Give the number of cores this process may run on (its CPU affinity, e.g. under Slurm or taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def choose(cfg, n_rows, n_features, names):
    """Give (threads or None for the params' own key, the reason); `names` are the family's thread keys."""
    params = cfg["model"]["params"]
    given = next((name for name in names if name in params), None)
    if given:
        return None, f"model.params.{given} = {params[given]} (the config's own)"
    for variable, why in ((THREADS_ENV, "from exp.py --jobs, or set by you"),
                          ("OMP_NUM_THREADS", "the machine's setting")):
        value = os.environ.get(variable, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value), f"{variable}={value} ({why})"
    cells, cores = n_rows * n_features, usable_cores()
    if cells < SMALL_DATA or cores == 1:
        return 1, (f"{n_rows:,} rows x {n_features} features is small data (under {SMALL_DATA:,} values): one thread "
                   f"is fastest, and stays fast beside other work; {cores} cores usable")
    load = machine_load()
    free = min(cores, max(1, round(cores - load)))
    return free, (f"{n_rows:,} rows x {n_features} features; {cores} usable cores, "
                  + (f"load average {load:.1f}, so {free} free" if free < cores else "all of them free"))


def machine_load():
    """Give the 1-minute load average: how many cores other work keeps busy (0 where the system cannot tell)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def decide(cfg, n_rows, n_features, names):
    """Set the thread count the family modules give the libraries for this run, and log it once per run."""
    threads, reason = choose(cfg, n_rows, n_features, names)
    _CHOICE["threads"] = threads
    line = (f"  threads: {threads or 'as the config says'}: {reason}. "
            f"Change it with model.params.{names[0]}, or exp.py --jobs")
    if _SAID.get(id(cfg)) != line:
        _SAID.clear()  # one run's config at a time: a later run's config may reuse a freed id
        _SAID[id(cfg)] = line
        log.info(line)
    return threads


def forget():
    """Leave the thread count to the library (a model without a thread key)."""
    _CHOICE["threads"] = None


def chosen():
    """Give the thread count decide() chose for the current run, or None (the library's default)."""
    return _CHOICE["threads"]
