"""Run an experiment's exp.py as `python exp.py` would, with benchmark instruments attached.

    python benchmarks/drive_exp.py [--noop-train] [--reads-json PATH] [--time-json PATH] \
        <project>/exp/exp001/exp.py [exp.py options]

--noop-train    replace train.run by a step that only writes its metrics: what is left is the
                run management (planning and checking RUNS, the run folder, config and source
                snapshot, log file, provenance, status, publishing).
--reads-json    count and time every pandas.read_csv / read_parquet call; write the totals to PATH.
--time-json     write the seconds exp.py took after the heavy imports (numpy, pandas, yaml) to PATH:
                far less noisy than the process's wall time, whose start-up varies by a tenth of a second.
"""
import argparse
import importlib
import json
import runpy
import sys
import time
from pathlib import Path


def noop_run(cfg, run_dir, n_rows=None):
    """Give the minimal metrics a run returns, after writing them like a real run does."""
    metrics = {"metric": cfg["metric"], "cv": 0.0, "folds": []}
    (Path(run_dir) / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return metrics


def count_reads(pd, reads):
    """Wrap pandas' readers so each call adds to `reads`: {name: {"calls": n, "seconds": s, "files": [...]}}."""
    for name in ("read_csv", "read_parquet"):
        original = getattr(pd, name)
        reads[name] = {"calls": 0, "seconds": 0.0, "files": []}

        def wrapper(path, *args, _original=original, _tally=reads[name], **kwargs):
            start = time.perf_counter()
            try:
                return _original(path, *args, **kwargs)
            finally:
                _tally["calls"] += 1
                _tally["seconds"] = round(_tally["seconds"] + time.perf_counter() - start, 3)
                _tally["files"].append(Path(str(path)).name)

        setattr(pd, name, wrapper)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noop-train", action="store_true")
    parser.add_argument("--reads-json", type=Path)
    parser.add_argument("--time-json", type=Path)
    parser.add_argument("exp_py", type=Path)
    parser.add_argument("exp_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    exp_py = args.exp_py.resolve()
    sys.path.insert(0, str(exp_py.parent))  # what `python exp.py` does for the script's folder
    reads = {}
    if args.reads_json:
        import pandas as pd
        count_reads(pd, reads)
    if args.noop_train:
        import train
        train.run = noop_run
    if args.time_json:  # the heavy imports happen before the clock starts
        for name in ("numpy", "pandas", "yaml"):
            importlib.import_module(name)
    sys.argv = [str(exp_py), *args.exp_args]
    start = time.perf_counter()
    try:
        runpy.run_path(str(exp_py), run_name="__main__")  # exp.py ends with runner.main(RUNS), which exits
    finally:
        if args.time_json:
            args.time_json.write_text(json.dumps({"seconds": time.perf_counter() - start}), encoding="utf-8")
        if args.reads_json:
            args.reads_json.write_text(json.dumps(reads, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
