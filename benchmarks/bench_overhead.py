"""Run-management overhead per run: exp001 with a no-op training step, beside a Hydra multirun.

    python benchmarks/bench_overhead.py [--repeat 7] [--profile]

Both sides run N = 1, 10 and 50 runs in a fresh process whose task does nothing but write
its metrics; each side changes model.params.num_leaves per run. The per-run cost is
(T(50) - T(1)) / 49 of the median wall times, so interpreter start-up and imports cancel out;
the slope of a straight line fitted to every measurement is shown beside it as a check.
Target: under 10 ms per run for exp001. exp001's figure includes claiming each run (a
.runNNN.claim/ folder with owner.json, its refresh thread) and releasing it.
"""
import argparse
import contextlib
import cProfile
import io
import pstats
import shutil
import sys

import common

SIZES = (1, 10, 50)
TARGET_MS = 10.0
QUIET_LIMIT = 30  # seconds to wait for other processes to settle before each measurement
TIME_JSON = common.WORK / "overhead" / "time.json"


# ---------------------------------------------------------------- set up both sides

def prepare_ours():
    """Give exp.py of a freshly baked project (iris data; training is replaced at run time)."""
    project = common.bake_project("overhead")
    common.commit_project(project)
    return project


def prepare_hydra(project):
    """Give the folder holding Hydra's config.yaml: the same config exp001 starts from."""
    folder = common.WORK / "overhead" / "hydra_conf"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project / "exp" / "exp001" / "config.yml", folder / "config.yaml")
    return folder


def snippets(n):
    return [f"model:\n  params:\n    num_leaves: {k + 2}\n" for k in range(n)]


# ---------------------------------------------------------------- one measurement each

def time_ours(project, n):
    """Give (wall seconds, seconds after imports) of `exp.py` training n no-op runs into an empty output folder."""
    common.set_runs(project, snippets(n))
    common.commit_project(project)
    common.clear_outputs(project)
    exp_py = project / "exp" / "exp001" / "exp.py"
    log_path = common.WORK / "overhead" / f"ours_{n}.log"
    result = common.measure([sys.executable, str(common.BENCH_DIR / "drive_exp.py"), "--noop-train",
                             "--time-json", str(TIME_JSON), str(exp_py)], log_path=log_path, quiet_limit=QUIET_LIMIT)
    records = project / "data" / "output" / "exp" / "exp001"
    done = [p for p in records.iterdir() if (p / "status.json").is_file()]
    if len(done) != n:
        sys.exit(f"exp001 made {len(done)} run records, expected {n}; see {log_path}")
    left = [p.name for p in records.iterdir() if p.name.endswith(".claim")]
    if left:
        sys.exit(f"exp001 left claims behind: {', '.join(left)}; see {log_path}")
    return result.seconds, common.read_json(TIME_JSON)["seconds"]


def time_hydra(conf, n):
    """Give (wall seconds, seconds after imports) of a Hydra multirun of n no-op jobs with the basic launcher."""
    sweep = common.WORK / "overhead" / "hydra_multirun"
    shutil.rmtree(sweep, ignore_errors=True)
    log_path = common.WORK / "overhead" / f"hydra_{n}.log"
    command = [sys.executable, str(common.BENCH_DIR / "hydra_noop.py"), "-cp", str(conf), "-cn", "config", "-m",
               f"model.params.num_leaves=range(2,{n + 2})", f"hydra.sweep.dir={sweep}"]
    result = common.measure(command, log_path=log_path, quiet_limit=QUIET_LIMIT,
                            env={"BENCH_TIME_JSON": str(TIME_JSON)})
    jobs = [p for p in sweep.iterdir() if (p / "metrics.json").is_file()]
    if len(jobs) != n:
        sys.exit(f"Hydra made {len(jobs)} job folders, expected {n}; see {log_path}")
    return result.seconds, common.read_json(TIME_JSON)["seconds"]


# ---------------------------------------------------------------- where the time goes

def profile_ours(project, n=50):
    """Print the functions of exp001 that take the most time over n no-op runs, in this process."""
    common.set_runs(project, snippets(n))
    common.commit_project(project)
    common.clear_outputs(project)
    exp_py = project / "exp" / "exp001" / "exp.py"
    sys.argv = [str(common.BENCH_DIR / "drive_exp.py"), "--noop-train", str(exp_py)]
    import drive_exp

    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):  # the runs' own console messages
        try:
            profiler.runcall(drive_exp.main)
        except SystemExit:
            pass
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\n--- profile of exp001 with {n} no-op runs (cumulative seconds; divide by {n} for per run) ---")
    stats.sort_stats("cumulative").print_stats(r"exp001|drive_exp|subprocess.py:\d+\(run\)|shutil|pathlib", 25)


def slope(points):
    """Give the least-squares slope of t over n for the (n, t) points."""
    mean_n = sum(n for n, _ in points) / len(points)
    mean_t = sum(t for _, t in points) / len(points)
    return sum((n - mean_n) * (t - mean_t) for n, t in points) / sum((n - mean_n) ** 2 for n, _ in points)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of each measurement (the median is shown)")
    parser.add_argument("--profile", action="store_true", help="also profile exp001 over 50 no-op runs")
    args = parser.parse_args()
    common.require("hydra", "hydra-core")

    print(common.machine_report(("PyYAML", "pandas", "hydra-core", "omegaconf", "cookiecutter")))
    project = prepare_ours()
    conf = prepare_hydra(project)
    sides = {"exp001": lambda n: time_ours(project, n), "hydra": lambda n: time_hydra(conf, n)}
    wall = {(side, n): [] for side in sides for n in SIZES}
    inner = {(side, n): [] for side in sides for n in SIZES}
    for rep in range(args.repeat):  # interleaved, so a slow spell of the machine hits both sides alike
        for n in SIZES:
            for side, measure in sides.items():
                seconds, after_imports = measure(n)
                wall[(side, n)].append(seconds)
                inner[(side, n)].append(after_imports)
        print(f"repetition {rep + 1}/{args.repeat}: "
              + ", ".join(f"{side} T({n})={wall[(side, n)][-1]:.3f}s" for side, n in wall),
              flush=True)

    per_run = {}
    for title, times in (("wall time of the process", wall),
                         ("time after the imports (numpy, pandas, yaml; hydra)", inner)):
        rows = []
        for side in sides:
            medians = {n: common.median(times[(side, n)]) for n in SIZES}
            cost = (medians[50] - medians[1]) / 49 * 1000
            per_run.setdefault(side, cost)  # the wall-time figure is the headline
            reps = [(times[(side, 50)][r] - times[(side, 1)][r]) / 49 * 1000 for r in range(args.repeat)]
            points = [(n, t) for n in SIZES for t in times[(side, n)]]
            rows.append([side, *(f"{medians[n]:.3f}" for n in SIZES), f"{cost:.1f}", f"{slope(points) * 1000:.1f}",
                         f"{min(reps):.1f} to {max(reps):.1f}"])
        print(f"\n{title}: median of {args.repeat} repetitions, seconds; "
              "ms per run = (T(50) - T(1)) / 49 of the medians")
        print(common.table(rows, ["", "T(1)", "T(10)", "T(50)", "ms per run", "fitted slope, ms", "each rep, ms"]))
    verdict = "met" if per_run["exp001"] < TARGET_MS else "MISSED"
    print(f"\nper-run cost (wall) exp001 / hydra = {per_run['exp001'] / per_run['hydra']:.3f} "
          f"(exp001 {per_run['exp001']:.1f} ms, hydra {per_run['hydra']:.1f} ms)")
    print(f"target exp001 under {TARGET_MS:.0f} ms per run: {verdict}")
    if args.profile:
        profile_ours(project)


if __name__ == "__main__":
    main()
