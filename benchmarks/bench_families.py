"""One run of each GBDT family through exp001, beside that library's own hand-written 5-fold loop.

    python benchmarks/bench_families.py [--rows 1000000] [--rounds 50] [--repeat 2] [--threads 1]
                                        [--families lightgbm,xgboost,catboost] [--baseline-no-valid]

Same synthetic binary data as bench_scale.py (train `--rows` x 50 features, test a fifth of
that), the same folds (KFold, 5, shuffled, seed 42), the same parameters and a fixed number of
rounds with no early stopping on both sides. exp001 also writes its full record. The
baseline is handwritten_gbdt.py, which gives the library the valid rows as hand-written loops do;
exp001 gives LightGBM and XGBoost none without early stopping (nothing reads their metric), and
--baseline-no-valid makes the baseline do the same. Each side runs as its own process; the sides alternate.
Targets: wall time within 5% of the hand-written loop, peak memory within 20%.
"""
import argparse
import json
import sys

import common
import yaml

TIME_TARGET, MEMORY_TARGET = 1.05, 1.20
BASELINE_NO_VALID = ("the hand-written loop trains without the valid rows too: exp001 gives LightGBM and XGBoost none "
                     "when early stopping is off, so this compares the same library work")
QUIET_LIMIT = 60


def family_params(family, threads, learning_rate=0.05):
    """Give model.params for exp001: the parameters handwritten_gbdt.py uses for this family."""
    return {
        "lightgbm": {"learning_rate": learning_rate, "num_leaves": 15, "min_child_samples": 5, "verbosity": -1,
                     "num_threads": threads},
        "xgboost": {"learning_rate": learning_rate, "max_depth": 6, "nthread": threads},
        "catboost": {"learning_rate": learning_rate, "depth": 6, "thread_count": threads},
    }[family]


def synthetic(rows, n_features=common.SYNTH_FEATURES):
    """Give the folder of the synthetic data with `rows` train rows (the 1M x 50 set is bench_scale.py's)."""
    if rows == common.SYNTH_ROWS and n_features == common.SYNTH_FEATURES:
        return common.make_synthetic()
    name = f"synthetic_{rows}" + (f"x{n_features}" if n_features != common.SYNTH_FEATURES else "")
    return common.make_synthetic(common.WORK / name, rows=rows, test_rows=rows // 5, n_features=n_features)


def prepare_project(family, rows, rounds, threads, name, n_features=common.SYNTH_FEATURES):
    """Give a freshly baked project set up for the synthetic data and `family`, with one run: the base config."""
    project = common.bake_project(name)
    common.use_data(project, synthetic(rows, n_features))
    common.edit_config(project, {
        "data": {"id": "id", "target": "target", "features": None, "drop": [], "categorical": []},
        "task": "binary", "metric": "auc", "cv": {"scheme": "kfold", "n_splits": 5, "seed": 42},
        "model": {"name": family, "num_boost_round": rounds, "early_stopping_rounds": None}, "seed": 42,
    })
    set_params(project, family_params(family, threads))
    common.set_runs(project, ["# the base config as it is"])
    common.commit_project(project)
    return project


def set_params(project, params):
    """Replace model.params of exp001's config.yml as a whole (edit_config merges into the old ones)."""
    path = project / "exp" / "exp001" / "config.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["model"]["params"] = params
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def run_ours(project, label, n_runs=1):
    common.clear_outputs(project)
    log_path = common.WORK / "families" / f"{project.parent.name}_{label}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    result = common.measure([sys.executable, "exp/exp001/exp.py"], cwd=project, log_path=log_path,
                            quiet_limit=QUIET_LIMIT)
    cvs = []
    for k in range(1, n_runs + 1):
        record = project / "data" / "output" / "exp" / "exp001" / f"run{k:03d}"
        if not (record / "metrics.json").is_file():
            sys.exit(f"exp001 run{k:03d} did not finish; see {log_path}")
        cvs.append(common.read_json(record / "metrics.json")["cv"])
    return result, cvs


def run_handwritten(family, data, rounds, threads, label, learning_rates="0.05", no_valid=False):
    out = common.WORK / "families" / f"handwritten_{family}"
    log_path = common.WORK / "families" / f"handwritten_{family}_{label}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(common.BENCH_DIR / "handwritten_gbdt.py"), str(data), str(out), "--family", family,
               "--rounds", str(rounds), "--threads", str(threads), "--learning-rates", learning_rates,
               *["--no-valid"] * no_valid]
    result = common.measure(command, log_path=log_path, quiet_limit=QUIET_LIMIT)
    cvs = [float(line.split()[2]) for line in log_path.read_text().splitlines() if line.startswith("CV auc")]
    return result, cvs


def report(name, ours, theirs):
    """Print the medians side by side and the ratios against the targets; give the two ratios."""
    def med(rs, key):
        return common.median([getattr(r, key) for r in rs])

    rows = [[label, f"{med(ours, key):.{d}f}", f"{med(theirs, key):.{d}f}", f"{med(ours, key) / med(theirs, key):.3f}"]
            for label, key, d in (("wall time, s", "seconds", 1), ("CPU time, s", "cpu", 1),
                                  ("peak RSS, MiB", "peak_mib", 0))]
    print(f"\n{name}: median of {len(ours)} runs each")
    print(common.table(rows, ["", "exp001", "hand-written", "ratio"]))
    time_ratio = med(ours, "seconds") / med(theirs, "seconds")
    memory_ratio = med(ours, "peak_mib") / med(theirs, "peak_mib")
    print(f"  time {'met' if time_ratio <= TIME_TARGET else 'MISSED'} ({time_ratio:.3f} <= {TIME_TARGET}), "
          f"memory {'met' if memory_ratio <= MEMORY_TARGET else 'MISSED'} ({memory_ratio:.3f} <= {MEMORY_TARGET})")
    disturbed = sum(r.disturbed() for r in [*ours, *theirs])
    if disturbed:
        print(f"  note: {disturbed} of {len(ours) + len(theirs)} measurements were disturbed by other processes; "
              "compare CPU time too")
    return time_ratio, memory_ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=common.SYNTH_ROWS, help="train rows (test: a fifth of that)")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--families", default="lightgbm,xgboost,catboost")
    parser.add_argument("--baseline-no-valid", action="store_true", help=BASELINE_NO_VALID)
    args = parser.parse_args()
    families = args.families.split(",")
    for family in families:
        if family != "lightgbm":
            common.require(family)
    print(common.machine_report(packages=("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "catboost",
                                          "pyarrow")))
    data = synthetic(args.rows)
    print(f"data: {args.rows:,} train + {args.rows // 5:,} test rows x 50 features; 5 folds x {args.rounds} rounds, "
          f"{args.threads} thread(s)", flush=True)
    summary = {}
    for family in families:
        project = prepare_project(family, args.rows, args.rounds, args.threads, f"families_{family}")
        ours, theirs = [], []
        for rep in range(args.repeat):  # alternate, so a slow spell of the machine hits both sides alike
            result, cvs = run_ours(project, rep)
            ours.append(result)
            print(f"  {family:<9} exp001       {result.seconds:7.1f} s wall {result.cpu:7.1f} s CPU "
                  f"{result.peak_mib:6.0f} MiB  auc {cvs[0]:.5f}", flush=True)
            result, cvs = run_handwritten(family, data, args.rounds, args.threads, rep, no_valid=args.baseline_no_valid)
            theirs.append(result)
            print(f"  {family:<9} hand-written {result.seconds:7.1f} s wall {result.cpu:7.1f} s CPU "
                  f"{result.peak_mib:6.0f} MiB  auc {cvs[0]:.5f}", flush=True)
        summary[family] = report(family, ours, theirs)
    print("\nratios exp001 / hand-written (time, memory): "
          + json.dumps({f: [round(t, 3), round(m, 3)] for f, (t, m) in summary.items()}))


if __name__ == "__main__":
    main()
