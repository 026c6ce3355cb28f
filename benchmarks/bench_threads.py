"""The default thread count of a run (models/thread_count.py): measured idle and beside a busy loop.

    python benchmarks/bench_threads.py [--repeat 3] [--sizes 1000,10000,100000,300000] [--skip-runs]

Part 1, LightGBM alone (in this process): one model of 100 rounds on rows x 20 features, trained with
1 thread and with every core, on an idle machine and with a busy loop on one core. It prints T(all
cores) / T(1 thread) per size, and what the template's rule picks: below its SMALL_DATA values the
rule takes one thread, so the ratio there says how much slower the library default would be.

Part 2, whole runs: `exp.py` on small data (2,000 rows x 20 features, 5 folds, 100 rounds) with the
template's default, with KAGGLE_EXP_THREADS=1 and with every core, idle and beside the busy loop. The
goal: the default is never more than 1.2x slower than one thread.
OMP_NUM_THREADS is unset on every side, since it takes precedence over the rule.
"""
import argparse
import os
import re
import subprocess
import sys
import time

import common

BUSY_LOOP = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:  # ends with the benchmark\n    pass\n"
RULE = common.TEMPLATE / "{{cookiecutter.project_slug}}" / "exp" / "exp001" / "models" / "thread_count.py"


def small_data_limit():
    """Give SMALL_DATA of the template's rule, read from its source (it imports the runner)."""
    return int(re.search(r"^SMALL_DATA = ([\d_]+)", RULE.read_text(), re.M).group(1).replace("_", ""))


class BusyLoop:
    """A process spinning on the last core while the block runs (the 'other work' of a shared machine)."""

    def __init__(self, on):
        self.on, self.proc = on, None

    def __enter__(self):
        if self.on:
            core = max(os.sched_getaffinity(0))
            self.proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP],
                                         preexec_fn=lambda: os.sched_setaffinity(0, {core}))
            time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def fit_seconds(X, y, threads, repeat):
    """Give the median seconds of training one LightGBM model of 100 rounds with `threads` threads."""
    import lightgbm as lgb

    times = []
    for _ in range(repeat):
        data = lgb.Dataset(X, y, params={"verbosity": -1, "num_threads": threads})
        start = time.perf_counter()
        lgb.train({"objective": "binary", "num_leaves": 31, "verbosity": -1, "num_threads": threads}, data, 100)
        times.append(time.perf_counter() - start)
    return common.median(times)


def library_part(sizes, repeat, cores):
    import numpy as np

    limit = small_data_limit()
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        X = rng.normal(size=(n, 20)).astype(np.float32)
        y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=n) > 0).astype(int)
        picked = 1 if n * 20 < limit else cores
        line = [f"{n:,} x 20", str(picked)]
        for busy in (False, True):
            with BusyLoop(busy):
                one, every = fit_seconds(X, y, 1, repeat), fit_seconds(X, y, cores, repeat)
            line += [f"{one:.3f}", f"{every:.3f}", f"{every / one:.2f}"]
        rows.append(line)
        print("  " + "  ".join(line), flush=True)
    header = ["data", "rule", "idle 1 thr s", f"idle {cores} thr s", "ratio", "busy 1 thr s", f"busy {cores} thr s",
              "ratio"]
    print(f"\nLightGBM, 100 rounds, median of {repeat}; ratio = T({cores} threads) / T(1 thread); rule: threads the "
          f"template picks (SMALL_DATA = {limit:,} values)")
    print(common.table(rows, header))


def runs_part(repeat, cores):
    project = common.bake_project("threads")
    data = common.make_synthetic(common.WORK / "synthetic_threads", rows=2000, test_rows=400, n_features=20)
    common.use_data(project, data)
    common.edit_config(project, {
        "data": {"id": "id", "target": "target", "features": None, "drop": [], "categorical": []},
        "task": "binary", "metric": "auc", "cv": {"scheme": "kfold", "n_splits": 5, "seed": 42},
        "model": {"name": "lightgbm", "num_boost_round": 100, "early_stopping_rounds": None}, "seed": 42,
    })
    common.set_runs(project, ["seed: 42\n"])
    common.commit_project(project)
    base = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    sides = {"default": {}, "1 thread": {"KAGGLE_EXP_THREADS": "1"},
             f"{cores} threads": {"KAGGLE_EXP_THREADS": str(cores)}}
    results = {}
    for busy in (False, True):
        for rep in range(repeat):
            for side, env in sides.items():
                common.clear_outputs(project)
                log = common.WORK / "threads" / f"{side.replace(' ', '')}_{'busy' if busy else 'idle'}_{rep}.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                with BusyLoop(busy):
                    m = common.measure([sys.executable, "exp/exp001/exp.py"], cwd=project, log_path=log,
                                       quiet_limit=0, env=dict(base, **env))
                # The run's own training time, from its record: the process start is the same on every side.
                seconds = common.read_json(project / "data/output/exp/exp001/run001/metrics.json")["total_seconds"]
                results.setdefault((busy, side), []).append((m.seconds, seconds))
                chosen = next((line.split("threads: ", 1)[1][:60] for line in log.read_text().splitlines()
                               if "  threads: " in line), "?")
                print(f"  {'busy' if busy else 'idle'} {side}: "
                      f"process {m.seconds:.2f}s, CV loop {seconds:.2f}s ({chosen})",
                      flush=True)
    rows = []
    for busy in (False, True):
        one = results[(busy, "1 thread")]
        for side in sides:
            mine = results[(busy, side)]
            wall, loop = common.median([w for w, _ in mine]), common.median([s for _, s in mine])
            rows.append(["busy" if busy else "idle", side, f"{wall:.2f}", f"{loop:.2f}",
                         f"{wall / common.median([w for w, _ in one]):.2f}",
                         f"{loop / common.median([s for _, s in one]):.2f}"])
    print(f"\nexp.py, one run: 2,000 rows x 20 features, 5 folds x 100 rounds; median of {repeat}; busy: "
          "a loop on one core")
    print(common.table(rows, ["machine", "threads", "process s", "CV loop s", "process / 1 thr", "CV loop / 1 thr"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000,100000,300000", help="train rows of part 1")
    parser.add_argument("--skip-library", action="store_true")
    parser.add_argument("--skip-runs", action="store_true")
    args = parser.parse_args()
    common.require("lightgbm")
    cores = len(os.sched_getaffinity(0))
    print(common.machine_report())
    if not args.skip_library:
        library_part([int(s) for s in args.sizes.split(",")], args.repeat, cores)
    if not args.skip_runs:
        runs_part(args.repeat, cores)


if __name__ == "__main__":
    main()
