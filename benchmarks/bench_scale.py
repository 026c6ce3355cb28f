"""One LightGBM run of exp001 on 1,000,000 x 50 rows, beside a hand-written 5-fold CV loop.

    python benchmarks/bench_scale.py [--rounds 50] [--repeat 2] [--threads 1] [--bin-once] [--profile]

Both read the same CSVs (written once to benchmarks/work/synthetic/), use the same folds
(KFold, 5 splits, shuffled, seed 42), the same LightGBM parameters and a fixed number of
boosting rounds with no early stopping, so both do the same training work. exp001 also
writes its full run record (oof, test predictions, submission, importance, models, folds).
Each side runs as its own process, from an empty output folder; the two alternate.
Targets: wall time within 5% of the hand-written loop, peak memory within 20%.
"""
import argparse
import json
import sys

import common

TIME_TARGET, MEMORY_TARGET = 1.05, 1.20
QUIET_LIMIT = 60  # seconds to wait for other processes to settle before each run


def prepare_project(rounds, threads, name="scale"):
    """Give a freshly baked project set up for the synthetic data, with one run: the base config."""
    project = common.bake_project(name)
    common.use_data(project, common.make_synthetic())
    config = common.edit_config(project, {
        "data": {"id": "id", "target": "target", "features": None, "drop": [], "categorical": []},
        "task": "binary",
        "metric": "auc",
        "cv": {"scheme": "kfold", "n_splits": 5, "seed": 42},
        "model": {"name": "lightgbm", "params": {"num_threads": threads}, "num_boost_round": rounds,
                  "early_stopping_rounds": None},
        "seed": 42,
    })
    common.set_runs(project, ["# the base config as it is"])
    common.commit_project(project)
    return project, config


def lightgbm_params(config):
    """Give the parameters exp001 passes to lgb.train for this config, for the hand-written loop."""
    return {"seed": config["seed"], "verbosity": -1, **config["model"]["params"], "objective": "binary",
            "metric": "auc"}


def run_ours(project, label):
    """Give the Measurement of `python exp/exp001/exp.py` and the phases its record reports."""
    common.clear_outputs(project)
    log_path = common.WORK / "scale" / f"exp001_{label}.log"
    result = common.measure([sys.executable, "exp/exp001/exp.py"], cwd=project, log_path=log_path,
                            quiet_limit=QUIET_LIMIT)
    record = project / "data" / "output" / "exp" / "exp001" / "run001"
    status = common.read_json(record / "status.json") if (record / "status.json").is_file() else {}
    if status.get("status") != "done":
        sys.exit(f"exp001 run001 did not finish; see {log_path}")
    metrics = common.read_json(record / "metrics.json")
    phases = {}
    if "seconds" in status and "total_seconds" in metrics:  # the record's own clocks, when it keeps them
        phases = {
            "before run001 (start-up, imports, read CSVs)": result.seconds - status["seconds"],
            "CV loop (5 x train + predict, after binning)": metrics["total_seconds"],
            "rest of run001 (bin once, folds, outputs, record)": status["seconds"] - metrics["total_seconds"],
        }
    return result, phases, metrics["cv"]


def run_handwritten(data, params, rounds, label, bin_once=False):
    """Give the Measurement of the hand-written loop and the phases it prints."""
    out = common.WORK / "scale" / "handwritten"
    log_path = common.WORK / "scale" / f"handwritten{'_bin_once' if bin_once else ''}_{label}.log"
    command = [sys.executable, str(common.BENCH_DIR / "handwritten_cv.py"), str(data), str(out),
               "--params", json.dumps(params), "--rounds", str(rounds)] + (["--bin-once"] if bin_once else [])
    result = common.measure(command, log_path=log_path, quiet_limit=QUIET_LIMIT)
    lines = log_path.read_text().splitlines()
    timed = json.loads(next(line for line in lines if line.startswith("{")))
    phases = {"start-up, imports": result.seconds - sum(timed.values()), **timed}
    cv = float(next(line for line in lines if line.startswith("CV auc")).split()[2])
    return result, phases, cv


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50, help="boosting rounds per fold, the same on both sides")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (medians are shown)")
    parser.add_argument("--threads", type=int, default=1,
                        help="LightGBM threads, the same on both sides (1: see README, 'Why one thread')")
    parser.add_argument("--bin-once", action="store_true",
                        help="add a third side: the hand-written loop binning the features once, as exp001 does")
    parser.add_argument("--profile", action="store_true", help="then profile one more exp001 run: where its time goes")
    args = parser.parse_args()

    print(common.machine_report())
    data = common.make_synthetic()
    project, config = prepare_project(args.rounds, args.threads)
    params = lightgbm_params(config)
    print(f"data: {common.SYNTH_ROWS:,} train + {common.SYNTH_TEST_ROWS:,} test rows x {common.SYNTH_FEATURES} "
          f"features; 5 folds x {args.rounds} rounds; params {json.dumps(params)}", flush=True)

    sides = {
        "exp001": lambda rep: run_ours(project, rep),
        "hand-written": lambda rep: run_handwritten(data, params, args.rounds, rep),
    }
    if args.bin_once:
        sides["bin-once"] = lambda rep: run_handwritten(data, params, args.rounds, rep, bin_once=True)
    results, phases = {side: [] for side in sides}, {side: [] for side in sides}
    for rep in range(args.repeat):
        for side, run in sides.items():  # alternate, so a slow spell of the machine hits every side alike
            result, parts, cv = run(rep)
            results[side].append(result)
            phases[side].append(parts)
            print(f"  {side:<12} run {rep + 1}: {result.seconds:6.1f} s wall, {result.cpu:6.1f} s CPU, "
                  f"{result.peak_mib:6.0f} MiB peak, CV auc {cv:.5f}"
                  + ("  (disturbed: other processes were busy)" if result.disturbed() else ""), flush=True)
    report(results, phases, args.repeat)
    if args.profile:
        profile_ours(project)


def report(results, phases, repeat):
    med = {side: {k: common.median([getattr(r, k) for r in rs]) for k in ("seconds", "cpu", "peak_mib")}
           for side, rs in results.items()}
    ours, theirs = med["exp001"], med["hand-written"]
    others = [side for side in med if side != "exp001"]
    rows = []
    for label, key, digits in (("wall time, s", "seconds", 1), ("CPU time, s", "cpu", 1),
                               ("peak RSS, MiB", "peak_mib", 0)):
        rows.append([label, *(f"{med[side][key]:.{digits}f}" for side in med),
                     *(f"{ours[key] / med[side][key]:.3f}" for side in others)])
    print(f"\nmedian of {repeat} runs each")
    print(common.table(rows, ["", *med, *(f"exp001 / {side}" for side in others)]))
    print("\nwhere the time goes (median seconds):")
    for side, parts in phases.items():
        for name in parts[0] if parts else []:
            print(f"  {side:<12} {name:<52} {common.median([p[name] for p in parts]):6.1f}")
    time_ratio, memory_ratio = ours["seconds"] / theirs["seconds"], ours["peak_mib"] / theirs["peak_mib"]
    print(f"\ntarget wall time within 5% of hand-written (ratio <= {TIME_TARGET}): "
          f"{'met' if time_ratio <= TIME_TARGET else 'MISSED'} ({time_ratio:.3f})")
    print(f"target peak memory within 20% of hand-written (ratio <= {MEMORY_TARGET}): "
          f"{'met' if memory_ratio <= MEMORY_TARGET else 'MISSED'} ({memory_ratio:.3f})")
    disturbed = sum(r.disturbed() for rs in results.values() for r in rs)
    if disturbed:
        print(f"note: {disturbed} of {sum(map(len, results.values()))} runs were disturbed by other processes; "
              "compare CPU time too, or run again on a quiet machine")


def profile_ours(project):
    """Run exp001 once under cProfile and print the functions that take the most time."""
    import pstats

    common.clear_outputs(project)
    stats_path = common.WORK / "scale" / "exp001.prof"
    common.measure([sys.executable, "-m", "cProfile", "-o", str(stats_path), "exp/exp001/exp.py"], cwd=project,
                   log_path=common.WORK / "scale" / "exp001_profile.log", quiet_limit=QUIET_LIMIT)
    print("\n--- profile of one exp001 run (cumulative seconds; cProfile adds a little) ---")
    stats = pstats.Stats(str(stats_path), stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(
        r"exp001|to_csv|read_csv|savefig|save_model|hash_pandas_object"
        r"|engine.py:\d+\(train\)|basic.py:\d+\((construct|predict)\)", 40)


if __name__ == "__main__":
    main()
