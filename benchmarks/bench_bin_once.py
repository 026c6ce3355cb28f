"""Four LightGBM runs on the same data that differ only in learning_rate, against 4 x one hand-written
fold set on one binned Dataset.

    python benchmarks/bench_bin_once.py [--rows 1000000] [--rounds 10] [--repeat 2] [--threads 1] [--baseline-no-valid]

exp001 runs the four runs in one process: it reads the data once and, since no binning
parameter changes, bins it once (its log says "reusing the binned features"). The baseline,
handwritten_gbdt.py --family lightgbm --learning-rates 0.05,0.1,0.2,0.3, is the floor: one read,
one Dataset, four fold loops. Target: exp001 / baseline <= 1.05 in wall time.
"""
import argparse

import common
from bench_families import BASELINE_NO_VALID, prepare_project, report, run_handwritten, run_ours, synthetic

RATES = (0.05, 0.1, 0.2, 0.3)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=common.SYNTH_ROWS)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--baseline-no-valid", action="store_true", help=BASELINE_NO_VALID)
    args = parser.parse_args()
    print(common.machine_report())
    data = synthetic(args.rows)
    project = prepare_project("lightgbm", args.rows, args.rounds, args.threads, "bin_once")
    common.set_runs(project, [f"model:\n  params:\n    learning_rate: {rate}" for rate in RATES])
    common.commit_project(project)
    print(f"data: {args.rows:,} train rows x 50 features; 4 runs x 5 folds x {args.rounds} rounds", flush=True)
    ours, theirs = [], []
    for rep in range(args.repeat):
        result, cvs = run_ours(project, rep, n_runs=len(RATES))
        log = (common.WORK / "families" / f"{project.parent.name}_{rep}.log").read_text()
        ours.append(result)
        print(f"  exp001       {result.seconds:7.1f} s wall {result.cpu:7.1f} s CPU {result.peak_mib:6.0f} MiB; "
              f"binned {log.count('lightgbm: binned')}x, reused {log.count('reusing the binned')}x", flush=True)
        result, _ = run_handwritten("lightgbm", data, args.rounds, args.threads, f"bin_once_{rep}",
                                    ",".join(map(str, RATES)),
                                     no_valid=args.baseline_no_valid)
        theirs.append(result)
        print(f"  hand-written {result.seconds:7.1f} s wall {result.cpu:7.1f} s CPU {result.peak_mib:6.0f} MiB",
              flush=True)
    report("4 runs (learning_rate 0.05, 0.1, 0.2, 0.3)", ours, theirs)


if __name__ == "__main__":
    main()
