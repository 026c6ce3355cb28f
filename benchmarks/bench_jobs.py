"""`exp.py --jobs 2` beside a sequential `exp.py`: 8 LightGBM runs on small data, wall time as a ratio.

    python benchmarks/bench_jobs.py [--rows 10000] [--rounds 100] [--repeat 2] [--threads N]

The data is a small synthetic binary competition (benchmarks/work/synthetic_small/, written once).
Both sides train the same 8 runs (num_leaves 8 to 64) from an empty output folder, 5-fold, a fixed
number of rounds with no early stopping. The sequential side gives LightGBM every core (its
default); --jobs 2 runs two worker processes with cores / 2 threads each. The sides alternate.
On small data one LightGBM model cannot keep many cores busy, so two runs at once should win:
a ratio T(--jobs 2) / T(sequential) below 1.
"""
import argparse
import sys

import common

QUIET_LIMIT = 60
N_RUNS = 8


def prepare_project(rows, rounds):
    """Give a freshly baked project on the small synthetic data, with 8 runs that change num_leaves."""
    project = common.bake_project("jobs")
    data = common.make_synthetic(common.WORK / "synthetic_small", rows=rows, test_rows=rows // 5, n_features=20)
    common.use_data(project, data)
    common.edit_config(project, {
        "data": {"id": "id", "target": "target", "features": None, "drop": [], "categorical": []},
        "task": "binary",
        "metric": "auc",
        "cv": {"scheme": "kfold", "n_splits": 5, "seed": 42},
        "model": {"name": "lightgbm", "num_boost_round": rounds, "early_stopping_rounds": None},
        "seed": 42,
    })
    common.set_runs(project, [f"model:\n  params:\n    num_leaves: {8 * (k + 1)}\n" for k in range(N_RUNS)])
    common.commit_project(project)
    return project


def run_side(project, args, label, env=None):
    """Give the Measurement of `exp.py` with these arguments, after checking every run finished."""
    common.clear_outputs(project)
    log_path = common.WORK / "jobs" / f"{label}.log"
    result = common.measure([sys.executable, "exp/exp001/exp.py", *args], cwd=project, log_path=log_path,
                            quiet_limit=QUIET_LIMIT, env=env)
    records = project / "data" / "output" / "exp" / "exp001"
    done = [p for p in records.iterdir() if (p / "status.json").is_file() and not p.name.endswith(".failed")]
    if len(done) != N_RUNS:
        sys.exit(f"{label}: {len(done)} of {N_RUNS} runs finished; see {log_path}")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000, help="train rows of the synthetic data")
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds per fold")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the sequential side (default: every core); "
                        "1 avoids OpenMP's slowdown on a machine other processes keep busy")
    args = parser.parse_args()

    print(common.machine_report())
    project = prepare_project(args.rows, args.rounds)
    sides = {"sequential": [], "--jobs 2": []}
    disturbed = 0
    for rep in range(args.repeat):
        for side in sides:
            sequential = side == "sequential"
            env = {"OMP_NUM_THREADS": str(args.threads)} if sequential and args.threads else None
            m = run_side(project, [] if sequential else ["--jobs", "2"], f"{side.strip('-').replace(' ', '')}_{rep}",
                         env)
            sides[side].append(m.seconds)
            disturbed += m.disturbed()
            print(f"repetition {rep + 1}/{args.repeat}: {side} {m.seconds:.1f}s (cpu {m.cpu:.1f}s)"
                  + (" disturbed" if m.disturbed() else ""), flush=True)
    medians = {side: common.median(times) for side, times in sides.items()}
    rows = [[side, f"{medians[side]:.1f}", " ".join(f"{t:.1f}" for t in times)] for side, times in sides.items()]
    threads = f"sequential side OMP_NUM_THREADS={args.threads}" if args.threads else "sequential side on every core"
    print(f"\n{N_RUNS} runs, {args.rows:,} train rows x 20 features, {args.rounds} rounds x 5 folds, "
          f"{threads}; wall time, s")
    print(common.table(rows, ["", "median", "each"]))
    print(f"\nratio T(--jobs 2) / T(sequential) = {medians['--jobs 2'] / medians['sequential']:.3f}"
          + (f"  ({disturbed} measurement(s) disturbed by other processes)" if disturbed else ""))


if __name__ == "__main__":
    main()
