"""`exp.py --tune 30` beside a hand-written study.optimize: the cost of a trial that is a recorded run.

    python benchmarks/bench_tune.py [--rows 10000] [--rounds 100] [--trials 30] [--repeat 2] [--no-prune]

Both sides tune the same 5-fold LightGBM (a small synthetic binary competition, benchmarks/work/synthetic_small/)
over the same four parameters with TPE and WilcoxonPruner, and train the same values: the trials are drawn
once at random and enqueued on both sides, so both prune alike. exp.py writes each trial's whole record
(models, oof, test predictions, submission, importance, provenance, log) and the journal file; the
hand-written side (handwritten_tune.py) keeps its study in memory and writes nothing.
Cost per trial = (T(N trials) - T(1 trial)) / (N - 1) of the median wall times, so start-up and imports
cancel out; the ratio exp.py / hand-written is printed.
"""
import argparse
import json
import math
import random
import sys

import common

QUIET_LIMIT = 60
SEARCH = """SEARCH = \"\"\"
model:
  params:
    num_leaves: int(8, 256, log)
    learning_rate: float(0.01, 0.3, log)
    +feature_fraction: float(0.5, 1.0)
    +lambda_l2: float(1e-3, 10, log)
\"\"\"
"""


def draw_trials(n, seed=0):
    """Give n parameter sets drawn at random from the search space, the same for both sides."""
    rng = random.Random(seed)

    def log_uniform(low, high):
        return math.exp(rng.uniform(math.log(low), math.log(high)))

    return [{"num_leaves": int(round(log_uniform(8, 256))), "learning_rate": log_uniform(0.01, 0.3),
             "feature_fraction": rng.uniform(0.5, 1.0), "lambda_l2": log_uniform(1e-3, 10)} for _ in range(n)]


def prepare_project(rows, rounds):
    project = common.bake_project("tune")
    data = common.make_synthetic(common.WORK / "synthetic_small", rows=rows, test_rows=rows // 5, n_features=20)
    common.use_data(project, data)
    common.edit_config(project, {
        "data": {"id": "id", "target": "target", "features": None, "drop": [], "categorical": []},
        "task": "binary", "metric": "auc", "cv": {"scheme": "kfold", "n_splits": 5, "seed": 42},
        "model": {"name": "lightgbm", "num_boost_round": rounds, "early_stopping_rounds": None}, "seed": 42,
    })
    exp_py = project / "exp" / "exp001" / "exp.py"
    source = exp_py.read_text()
    start, end = source.index('SEARCH = """'), source.index('"""\n', source.index('SEARCH = """') + 12) + 4
    exp_py.write_text(source[:start] + SEARCH + source[end:])
    common.commit_project(project)
    return project, data


def enqueue_for_exp(project, trials):
    """Make exp001's study and queue the trials in it, named as SEARCH names them."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tune = project / "data" / "output" / "exp" / "exp001" / "tune"
    tune.mkdir(parents=True)
    storage = JournalStorage(JournalFileBackend(str(tune / "journal.log")))
    study = optuna.create_study(storage=storage, study_name="exp001", direction="maximize")
    for values in trials:
        study.enqueue_trial({f"model.params.{k}": v for k, v in values.items()})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-prune", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of both sides (default 1: on a busy "
                        "machine OpenMP's waiting threads cost more than they bring on data this small)")
    args = parser.parse_args()
    common.require("optuna")

    print(common.machine_report(packages=("numpy", "pandas", "lightgbm", "optuna", "PyYAML")))
    project, data = prepare_project(args.rows, args.rounds)
    env = {"OMP_NUM_THREADS": str(args.threads)}
    times = {(side, n): [] for side in ("exp.py --tune", "hand-written") for n in (1, args.trials)}
    for rep in range(args.repeat):
        for n in (1, args.trials):
            trials = draw_trials(n)
            common.clear_outputs(project)
            enqueue_for_exp(project, trials)
            command = [sys.executable, "exp/exp001/exp.py", "--tune", str(n),
                       *(["--no-prune"] if args.no_prune else [])]
            m = common.measure(command, cwd=project, log_path=common.WORK / "tune" / f"exp_{n}_{rep}.log",
                               quiet_limit=QUIET_LIMIT, env=env)
            times["exp.py --tune", n].append(m.seconds)
            trials_file = common.WORK / "tune" / "trials.json"
            trials_file.write_text(json.dumps(trials))
            command = [sys.executable, str(common.BENCH_DIR / "handwritten_tune.py"), str(data), "--trials",
                       str(trials_file), "--rounds", str(args.rounds), *([] if args.no_prune else ["--prune"])]
            h = common.measure(command, log_path=common.WORK / "tune" / f"hand_{n}_{rep}.log", quiet_limit=QUIET_LIMIT,
                               env=env)
            times["hand-written", n].append(h.seconds)
            print(f"repetition {rep + 1}/{args.repeat}, {n} trial(s): exp.py {m.seconds:.1f}s, hand-written "
                  f"{h.seconds:.1f}s"
                  + (" (disturbed)" if m.disturbed() or h.disturbed() else ""), flush=True)
    per_trial = {side: (common.median(times[side, args.trials]) - common.median(times[side, 1])) / (args.trials - 1)
                 for side in ("exp.py --tune", "hand-written")}
    rows = [[side, f"{common.median(times[side, 1]):.1f}", f"{common.median(times[side, args.trials]):.1f}",
             f"{per_trial[side]:.2f}"] for side in per_trial]
    print(f"\n{args.rows:,} train rows x 20 features, {args.rounds} rounds x 5 folds, "
          f"{'no pruning' if args.no_prune else 'WilcoxonPruner'}, OMP_NUM_THREADS={args.threads}; wall time, s")
    print(common.table(rows, ["", "1 trial", f"{args.trials} trials", "per trial"]))
    print("\nratio per trial exp.py --tune / hand-written = "
          f"{per_trial['exp.py --tune'] / per_trial['hand-written']:.3f}")
    for line in (common.WORK / "tune" / f"hand_{args.trials}_{args.repeat - 1}.log").read_text().splitlines()[-1:]:
        print(f"hand-written: {line}")


if __name__ == "__main__":
    main()
