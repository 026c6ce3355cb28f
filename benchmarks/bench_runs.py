"""Four runs on the same 1,000,000-row CSV: the data is parsed once, not once per run.

    python benchmarks/bench_runs.py [--rounds 50] [--threads 1]

Measures, each in its own process: the parse alone (the experiment's data.load_data),
one run of exp001 (its training: run001's own seconds in status.json), and four runs
that change only the learning rate, so each trains as long as the one. If the data is
parsed once, T(4 runs) is close to start-up + parse + 4 x train; parsing per run would
add three more parses.
"""
import argparse
import json
import sys

import common
from bench_scale import QUIET_LIMIT, prepare_project

LEARNING_RATES = (0.05, 0.1, 0.2, 0.3)


def run_exp(project, n, label):
    """Give the Measurement of exp.py with the first n runs, and each run's own seconds."""
    common.set_runs(project, [f"model:\n  params:\n    learning_rate: {lr}\n" for lr in LEARNING_RATES[:n]])
    common.commit_project(project)
    common.clear_outputs(project)
    log_path = common.WORK / "runs" / f"exp001_{label}.log"
    reads_path = common.WORK / "runs" / f"exp001_{label}_reads.json"
    result = common.measure([sys.executable, str(common.BENCH_DIR / "drive_exp.py"), "--reads-json", str(reads_path),
                             "exp/exp001/exp.py"], cwd=project, log_path=log_path, quiet_limit=QUIET_LIMIT)
    records = project / "data" / "output" / "exp" / "exp001"
    seconds = []
    for k in range(1, n + 1):
        status_path = records / f"run{k:03d}" / "status.json"
        if not status_path.is_file() or common.read_json(status_path).get("status") != "done":
            sys.exit(f"exp001 run{k:03d} did not finish; see {log_path}")
        seconds.append(common.read_json(status_path)["seconds"])
    reads = common.read_json(reads_path)
    return result, seconds, reads


def describe_reads(reads):
    """Give e.g. '3 files read (train.csv, test.csv, sample_submission.csv) in 2.2 s'."""
    files = [f for r in reads.values() for f in r["files"]]
    return f"{len(files)} file reads ({', '.join(files)}) taking {sum(r['seconds'] for r in reads.values()):.1f} s"


def run_parse(project):
    """Give the Measurement of reading the data alone, and its in-process timings."""
    log_path = common.WORK / "runs" / "parse_only.log"
    result = common.measure([sys.executable, str(common.BENCH_DIR / "parse_only.py"), str(project / "exp" / "exp001")],
                            log_path=log_path, quiet_limit=QUIET_LIMIT)
    timings = json.loads(log_path.read_text().strip().splitlines()[-1])
    return result, timings


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50, help="boosting rounds per fold in every run")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (1: see README, 'Why one thread')")
    args = parser.parse_args()

    print(common.machine_report())
    common.make_synthetic()
    project, _ = prepare_project(args.rounds, args.threads, name="runs")
    print(f"data: {common.SYNTH_ROWS:,} train + {common.SYNTH_TEST_ROWS:,} test rows x {common.SYNTH_FEATURES} "
          f"features; each run: 5 folds x {args.rounds} rounds, {args.threads} LightGBM thread(s); "
          "runs set learning_rate to " + ", ".join(map(str, LEARNING_RATES)), flush=True)

    parse, timings = run_parse(project)
    print(f"  parse alone: load_data {timings['load_data']:.1f} s (pandas.read_csv of the three files "
          f"{timings['read_csv']:.1f} s); process {parse.seconds:.1f} s wall, {parse.peak_mib:.0f} MiB peak",
          flush=True)
    one, (train_one,), reads_one = run_exp(project, 1, "1run")
    print(f"  1 run:  {one.seconds:6.1f} s wall, {one.peak_mib:5.0f} MiB peak; run001 took {train_one:.1f} s; "
          f"{describe_reads(reads_one)}", flush=True)
    four, seconds, reads_four = run_exp(project, 4, "4runs")
    print(f"  4 runs: {four.seconds:6.1f} s wall, {four.peak_mib:5.0f} MiB peak; runs took "
          + ", ".join(f"{s:.1f}" for s in seconds) + f" s; {describe_reads(reads_four)}", flush=True)

    p = timings["load_data"]
    startup = one.seconds - p - train_one  # interpreter, imports, planning: paid once per process
    ideal = startup + p + 4 * train_one
    per_run_parse = startup + 4 * (p + train_one)
    rows = [
        ["start-up (1-run wall - parse - run001)", f"{startup:.1f}"],
        ["parse (load_data alone)", f"{p:.1f}"],
        ["train (run001 of the 1-run process)", f"{train_one:.1f}"],
        ["start-up + parse + 4 x train", f"{ideal:.1f}"],
        ["T(4 runs), measured", f"{four.seconds:.1f}"],
        ["start-up + 4 x (parse + train), if parsed per run", f"{per_run_parse:.1f}"],
    ]
    print("\n" + common.table(rows, ["", "seconds"]))
    ratio = four.seconds / ideal
    print(f"\nT(4 runs) / (start-up + parse + 4 x train) = {ratio:.3f}  "
          f"(parsing per run would give {per_run_parse / ideal:.3f})")
    n_one = sum(r["calls"] for r in reads_one.values())
    n_four = sum(r["calls"] for r in reads_four.values())
    print(f"files read: {n_four} in the 4-run process, {n_one} in the 1-run process: "
          + ("the data is parsed once"
             if n_four == n_one else f"the data is parsed {n_four / max(n_one, 1):.0f} times"))
    print(f"peak memory: 4 runs {four.peak_mib:.0f} MiB vs 1 run {one.peak_mib:.0f} MiB (ratio "
          f"{four.peak_mib / one.peak_mib:.2f})")
    disturbed = sum(m.disturbed() for m in (parse, one, four))
    if disturbed:
        print(f"note: {disturbed} of 3 measurements were disturbed by other processes; run again on a quiet machine")


if __name__ == "__main__":
    main()
