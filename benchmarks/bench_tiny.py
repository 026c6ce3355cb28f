"""Tiny data, full runs: exp001's per-run cost with training and its whole record, beside a Hydra multirun
whose task trains the same model and writes the same files by hand.

    python benchmarks/bench_tiny.py [--runs 51] [--repeat 3] [--rounds 100] [--threads 1]

Data: the iris example a baked project ships (120 train rows, 30 test rows, 3 classes). Both sides
train LightGBM with the same params, 5 stratified folds (seed 42), a fixed number of rounds (no early
stopping) and change model.params.num_leaves per run (2, 3, ...).
- exp001: `python exp/exp001/exp.py` with RUNS of N snippets; each run writes its full record (folds
  file, oof, test predictions, submission, 5 models, importance CSV and PNG, metrics, config,
  provenance, log, status).
- Hydra: hydra_tiny.py -m model.params.num_leaves=range(2,N+2); its task writes metrics.json,
  oof.csv, test_pred.csv, submission.csv by hand, and Hydra writes the config.
Each side runs N = 1 and N = --runs in a fresh process from an empty output folder; the sides and
sizes are interleaved, --repeat times. Per-run cost = (T(N) - T(1)) / (N - 1) of the median wall
times, so start-up and imports cancel out. Goal: exp001's per-run cost at most the Hydra task's.

Then one run at --scale-rows x --scale-features (100,000 x 20 by default; 0 rows skips it) against
the bin-once hand loop of bench_families.py (handwritten_gbdt.py --family lightgbm: one read, one
binned Dataset, a subset per fold), --scale-repeat times alternating, as a ratio of the medians.
Goal: at most 1.0 in wall time.
"""
import argparse
import shutil
import sys

import common
from bench_families import prepare_project, run_handwritten, run_ours, synthetic

QUIET_LIMIT = 15  # seconds to wait for other processes to settle before each measurement
WORK = common.WORK / "tiny"
TIME_JSON = WORK / "time.json"


def params(threads):
    return {"learning_rate": 0.05, "num_leaves": 15, "max_depth": -1, "min_child_samples": 5, "verbosity": -1,
            "num_threads": threads}


def prepare_ours(rounds, threads):
    """Give a freshly baked project (iris) with exp001 set to fixed rounds on `threads` threads."""
    project = common.bake_project("tiny")
    compile_sources(project)
    config = common.edit_config(project, {"model": {"num_boost_round": rounds, "early_stopping_rounds": None,
                                                    "params": params(threads)}})
    common.commit_project(project)
    return project, config


def prepare_hydra(project):
    """Give the folder holding Hydra's config.yaml: exp001's config.yml as edited."""
    folder = WORK / "hydra_conf"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project / "exp" / "exp001" / "config.yml", folder / "config.yaml")
    return folder


def time_ours(project, n):
    """Give (wall seconds, seconds after imports, CV of the first run) of exp.py training n runs."""
    common.set_runs(project, [f"model:\n  params:\n    num_leaves: {k + 2}\n" for k in range(n)])
    common.commit_project(project)
    common.clear_outputs(project)
    log_path = WORK / f"ours_{n}.log"
    result = common.measure([sys.executable, str(common.BENCH_DIR / "drive_exp.py"), "--time-json", str(TIME_JSON),
                             str(project / "exp" / "exp001" / "exp.py")], log_path=log_path, quiet_limit=QUIET_LIMIT)
    records = project / "data" / "output" / "exp" / "exp001"
    done = sorted(p for p in records.iterdir() if (p / "status.json").is_file() and (p / "importance.png").is_file())
    if len(done) != n:
        sys.exit(f"exp001 made {len(done)} run records, expected {n}; see {log_path}")
    return result, common.read_json(TIME_JSON)["seconds"], common.read_json(done[0] / "metrics.json")["cv"]


def time_hydra(conf, project, n):
    """Give (wall seconds, seconds after imports, CV of the first job) of a Hydra multirun of n training jobs."""
    sweep = WORK / "hydra_multirun"
    shutil.rmtree(sweep, ignore_errors=True)
    log_path = WORK / f"hydra_{n}.log"
    command = [sys.executable, str(common.BENCH_DIR / "hydra_tiny.py"), "-cp", str(conf), "-cn", "config", "-m",
               f"model.params.num_leaves=range(2,{n + 2})", f"hydra.sweep.dir={sweep}"]
    result = common.measure(command, log_path=log_path, quiet_limit=QUIET_LIMIT,
                            env={"BENCH_TIME_JSON": str(TIME_JSON), "BENCH_DATA_DIR": str(project / "data" / "input")})
    jobs = sorted((p for p in sweep.iterdir() if (p / "submission.csv").is_file()), key=lambda p: int(p.name))
    if len(jobs) != n:
        sys.exit(f"Hydra made {len(jobs)} job folders, expected {n}; see {log_path}")
    return result, common.read_json(TIME_JSON)["seconds"], common.read_json(jobs[0] / "metrics.json")["cv"]


def compile_sources(project):
    """Write the project's bytecode once, as a user's first run does: common.ENV (and often the shell) sets
    PYTHONDONTWRITEBYTECODE, so every measured exp.py would compile its 40 modules again (0.1 s), while the
    hand loop's libraries and Hydra are read from their installed bytecode."""
    import subprocess

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(project / "exp"), str(project / "scripts")],
                   check=True, capture_output=True)


def compare_at_scale(rows, n_features, rounds, threads, repeat):
    """Print one exp001 run against the bin-once hand loop on rows x n_features synthetic rows; give the wall ratio."""
    data = synthetic(rows, n_features)
    project = prepare_project("lightgbm", rows, rounds, threads, "tiny_scale", n_features)
    compile_sources(project)
    print(f"\ndata: {rows:,} train + {rows // 5:,} test rows x {n_features} features, binary AUC; 5 folds x "
          f"{rounds} rounds, {threads} thread(s); one run vs the bin-once hand loop, {repeat} repetitions", flush=True)
    ours, theirs = [], []
    for rep in range(repeat):  # alternating, so a slow spell of the machine hits both sides alike
        ours.append(run_ours(project, f"scale_{rep}")[0])
        theirs.append(run_handwritten("lightgbm", data, rounds, threads, f"scale_{rep}")[0])
        print(f"  repetition {rep + 1}/{repeat}: exp001 {ours[-1].seconds:.2f}s wall {ours[-1].cpu:.2f}s CPU, "
              f"hand loop {theirs[-1].seconds:.2f}s wall {theirs[-1].cpu:.2f}s CPU", flush=True)
    rows_out, ratios = [], {}
    for title, key in (("wall, s", "seconds"), ("CPU, s", "cpu"), ("peak RSS, MiB", "peak_mib")):
        a, b = common.median([getattr(r, key) for r in ours]), common.median([getattr(r, key) for r in theirs])
        ratios[key] = a / b
        rows_out.append([title, f"{a:.2f}", f"{b:.2f}", f"{a / b:.3f}"])
    print(common.table(rows_out, ["", "exp001", "bin-once hand loop", "ratio"]))
    verdict = "met" if ratios["seconds"] <= 1 else "MISSED"
    print(f"goal one {rows:,}-row run at most the hand loop's time (wall): {verdict} ({ratios['seconds']:.3f} <= 1)")
    disturbed = sum(r.disturbed() for r in [*ours, *theirs])
    if disturbed:
        print(f"note: {disturbed} of {2 * repeat} measurements were disturbed by other processes; compare CPU too")
    return ratios["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=51, help="runs in the large process (the small one has 1)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement (the median is shown)")
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds per fold, no early stopping")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads on both sides")
    parser.add_argument("--scale-rows", type=int, default=100_000, help="rows of the one-run comparison; 0 skips it")
    parser.add_argument("--scale-features", type=int, default=20)
    parser.add_argument("--scale-rounds", type=int, default=50)
    parser.add_argument("--scale-repeat", type=int, default=3)
    parser.add_argument("--skip-tiny", action="store_true", help="only the one-run comparison at --scale-rows")
    args = parser.parse_args()
    common.require("hydra", "hydra-core")
    print(common.machine_report(("numpy", "pandas", "scikit-learn", "lightgbm", "matplotlib", "hydra-core",
                                 "omegaconf")))
    WORK.mkdir(parents=True, exist_ok=True)
    if not args.skip_tiny:
        compare_tiny(args)
    if args.scale_rows:
        compare_at_scale(args.scale_rows, args.scale_features, args.scale_rounds, args.threads, args.scale_repeat)


def compare_tiny(args):
    """Print the per-run cost of exp001 and of the Hydra task on iris, and their ratio."""
    project, _ = prepare_ours(args.rounds, args.threads)
    conf = prepare_hydra(project)
    print(f"data: iris, 120 train rows; 5 folds x {args.rounds} rounds, {args.threads} thread(s); "
          f"N = 1 and {args.runs} runs, {args.repeat} repetitions", flush=True)
    sides = {"exp001": lambda n: time_ours(project, n), "hydra": lambda n: time_hydra(conf, project, n)}
    sizes = (1, args.runs)
    wall = {(side, n): [] for side in sides for n in sizes}
    inner = {(side, n): [] for side in sides for n in sizes}
    cpu = {(side, n): [] for side in sides for n in sizes}
    disturbed = 0
    for rep in range(args.repeat):  # interleaved, so a slow spell of the machine hits both sides alike
        for n in sizes:
            for side, measure in sides.items():
                result, after_imports, cv = measure(n)
                wall[(side, n)].append(result.seconds)
                cpu[(side, n)].append(result.cpu)
                inner[(side, n)].append(after_imports)
                disturbed += result.disturbed()
                if n == 1 and rep == 0:
                    print(f"  {side}: first run's CV accuracy {cv:.5f}", flush=True)
        print(f"repetition {rep + 1}/{args.repeat}: " + ", ".join(f"{side} T({n})={wall[(side, n)][-1]:.2f}s"
                                                                   for side, n in wall), flush=True)

    per_run = {}
    rows = []
    for title, times in (("wall", wall), ("after imports", inner), ("CPU", cpu)):
        for side in sides:
            medians = {n: common.median(times[(side, n)]) for n in sizes}
            cost = (medians[args.runs] - medians[1]) / (args.runs - 1) * 1000
            per_run[(side, title)] = cost
            each = [(times[(side, args.runs)][r] - times[(side, 1)][r]) / (args.runs - 1) * 1000
                    for r in range(args.repeat)]
            rows.append([f"{side}, {title}", f"{medians[1]:.2f}", f"{medians[args.runs]:.2f}", f"{cost:.1f}",
                         f"{min(each):.1f} to {max(each):.1f}"])
    print(f"\nmedians of {args.repeat} repetitions, seconds; ms per run = (T({args.runs}) - T(1)) / {args.runs - 1}")
    print(common.table(rows, ["", "T(1)", f"T({args.runs})", "ms per run", "each rep, ms"]))
    print("\nexp001 / hydra, per-run cost: " + ", ".join(
        f"{title} {per_run[('exp001', title)] / per_run[('hydra', title)]:.3f}"
        for title in ("wall", "after imports", "CPU")))
    ratio = per_run[("exp001", "wall")] / per_run[("hydra", "wall")]
    print(f"goal exp001 at most the Hydra task's cost (wall): {'met' if ratio <= 1 else 'MISSED'} ({ratio:.3f} <= 1)")
    if disturbed:
        print(f"note: {disturbed} of {2 * len(sizes) * args.repeat} measurements were disturbed by other processes; "
              "compare the CPU row too")


if __name__ == "__main__":
    main()
