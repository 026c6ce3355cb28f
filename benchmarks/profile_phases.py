"""Where the fixed cost of a run goes: exp.py run in this process, with a clock around each phase.

    python benchmarks/profile_phases.py [--noop-train] [--json PATH] <project>/exp/exp001/exp.py [exp.py options]

Each phase is a function of the experiment (the table PHASES below) replaced, in every module that
holds it, by a wrapper that adds its wall time to a tally; phases nest (a run's total holds its
preflight), so the rows do not add up. Printed: calls, total ms and ms per run (runs = calls of
one_run.run_one), and the imports before the first run. Lighter than cProfile, whose cost per call
inflates the many small calls of the record; cProfile is still the tool for finding a phase's inside.
--noop-train replaces train.run as bench_overhead.py does (drive_exp.noop_run): what is left is run management.
"""
import argparse
import functools
import importlib
import json
import runpy
import sys
import time
from pathlib import Path

# (module, attribute path, label): what a run spends its fixed cost on. A missing one is skipped, so the
# table works on older and newer versions of the experiment alike.
PHASES = [
    ("runner.one_run", "run_one", "one run, all of it"),
    ("runner.plan", "check_config", "checks of a run before any trains (per run, preflight inside)"),
    ("train", "check_before_training", "  data checks + preflight"),
    ("tabular.preflight", "preflight", "    preflight: the model library on a few dozen rows"),
    ("runner.claims", "claim", "claim: the folder and owner.json"),
    ("runner.claims", "Claim.__init__", "  claim's refresh thread started"),
    ("runner.claims", "Claim.is_ours", "fencing: Claim.is_ours (reads owner.json)"),
    ("runner.resume", "still_ours", "  resume.still_ours (before each fold's save)"),
    ("runner.record", "start", "record: partial folder"),
    ("runner.record", "snapshot_sources", "record: src/ snapshot"),
    ("runner.record", "write_provenance", "record: provenance.json"),
    ("runner.record", "git_state", "  git (rev-parse, status, diff)"),
    ("runner.record", "publish", "record: publish (rename)"),
    ("runner.one_run", "finish_record", "record: finish (provenance, status, publish)"),
    ("runner.resume", "prepare", "resume folder prepared"),
    ("train", "run", "train.run: the lab's whole run"),
    ("data", "load_data", "  data.load_data (cached per process)"),
    ("tabular.folds", "make_folds", "  folds"),
    ("train", "cross_validate", "  cross_validate"),
    ("model", "prepare", "    model.prepare (binning)"),
    ("model", "fit_fold", "    model.fit_fold (training)"),
    ("model", "predict_fold", "    model.predict_fold"),
    ("model", "importance", "    model.importance"),
    ("model", "save_fold", "    model.save_fold (the fold's model file)"),
    ("tabular.checkpoints", "save_fold", "    checkpoints.save_fold (resume state)"),
    ("tabular.advice", "run_warnings", "  warnings of the run"),
    ("tabular.outputs", "save_predictions", "  save_predictions (oof, test, submission, pictures)"),
    ("tabular.outputs", "plot_importance", "    importance picture"),
    ("diagnostics", "plot_diagnostics", "    diagnostic pictures"),
    ("runner.report", "refresh", "HTML report rebuilt (per process)"),
]


def wrap(tally, label, function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            entry = tally.setdefault(label, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start
    return timed


def instrument(exp_dir, tally):
    """Replace each phase's function by its timed wrapper, in every module of the experiment that refers to it."""
    for module_name, path, label in PHASES:
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            continue
        *classes, name = path.split(".")
        for part in classes:
            owner = getattr(owner, part)
        original = getattr(owner, name, None)
        if original is None:
            continue
        timed = wrap(tally, label, original)
        setattr(owner, name, timed)
        if classes:
            continue
        for module in list(sys.modules.values()):  # `from x import f` made copies of the name elsewhere
            if str(getattr(module, "__file__", "") or "").startswith(str(exp_dir)) and getattr(
                    module, name, None) is original:
                setattr(module, name, timed)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write {label: [calls, seconds]} here")
    parser.add_argument("--noop-train", action="store_true", help="train.run only writes metrics.json")
    parser.add_argument("exp_py", type=Path)
    parser.add_argument("exp_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    exp_py = args.exp_py.resolve()
    sys.path.insert(0, str(exp_py.parent))  # what `python exp.py` does for the script's folder
    tally = {}
    start = time.perf_counter()
    import runner  # noqa: F401  (what exp.py imports first)
    import train  # (the lab, as the runner imports it)
    try:  # the model family, which the first preflight imports: counted here, not in that run's preflight
        importlib.import_module("models.lightgbm")
    except ImportError:
        pass
    tally["imports of runner, train and models.lightgbm"] = [1, time.perf_counter() - start]
    if args.noop_train:
        from drive_exp import noop_run

        train.run = noop_run
    instrument(exp_py.parent, tally)
    sys.argv = [str(exp_py), *args.exp_args]
    start = time.perf_counter()
    try:
        runpy.run_path(str(exp_py), run_name="__main__")
    except SystemExit:
        pass
    tally["exp.py after those imports"] = [1, time.perf_counter() - start]
    runs = tally.get(PHASES[0][2], [0])[0] or 1
    print(f"\n{'phase':<62} {'calls':>6} {'ms':>9} {'ms/run':>8}   ({runs} runs)", file=sys.stderr)
    for label, (calls, seconds) in tally.items():
        print(f"{label:<62} {calls:>6} {seconds * 1000:>9.1f} {seconds * 1000 / runs:>8.1f}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(tally, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
