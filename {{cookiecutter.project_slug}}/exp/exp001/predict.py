"""Run it to predict a new (hidden) test file from a finished run, without training: its saved code and fold models.

    python exp/exp001/predict.py run002 --test data/input/test.csv --out submission.csv
    python exp/exp001/predict.py run002 --test PATH --sample PATH --out PATH
    python exp/exp001/predict.py --run-dir PATH/run002 --test PATH --out PATH      a packaged record (Kaggle)
    ... --raw-out PATH     also (or only) the predictions, laid out like the run's test_pred.csv (for blends)

The test file is encoded as the run's training encoded its own (features.json: the features, category
levels from train, class order), every fold model predicts it, and the submission is the sample
(default: data.sample_submission of the run's config, in $KAGGLE_EXP_DATA_DIR when set) filled in and
checked. Relative paths are read from the project root. Nothing is written but --out and --raw-out.

The run predicts with the code that trained it: its src/ (data.py, features.py, models/, train.py). When the run's
src/predict.py differs from this file, that one runs instead, so later edits here never change a run's predictions.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

# The record and Kaggle's read-only dataset stay as they are: no __pycache__ beside the code.
sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
# exp/expNNN/predict.py -> the project root; for a packaged or saved copy (code/expNNN/, runNNN/src/) it is no project.
ROOT = HERE.parents[1]
IN_PROJECT = (ROOT / "project.yml").is_file()
DATA_DIR_ENV = "KAGGLE_EXP_DATA_DIR"  # the same variable data.py reads


class UsageError(Exception):
    """Bad input on the command line: one line, exit code 2."""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", help=f"a finished run of {HERE.name}: run002 or 2")
    parser.add_argument("--run-dir", type=Path, help="the run's record folder instead (a packaged run on Kaggle)")
    parser.add_argument("--test", type=Path, required=True, help="the test file to predict (CSV or Parquet)")
    parser.add_argument("--sample", type=Path, help="the sample submission (default: the run's data.sample_submission)")
    parser.add_argument("--out", type=Path, help="where the submission goes")
    parser.add_argument("--raw-out", type=Path, help="where the predictions go, like test_pred.csv")
    parser.add_argument("--force", action="store_true", help="overwrite --out or --raw-out when the file exists")
    args = parser.parse_args(argv)
    if (args.run is None) == (args.run_dir is None):
        parser.error("give a run (run002) or --run-dir, one of the two")
    if args.out is None and args.raw_out is None:
        parser.error("give --out (the submission), --raw-out (the predictions), or both")
    return args


def absolute(path):
    """Give `path` from the project root (from the current folder outside a project), as an absolute path."""
    if path is None or path.is_absolute():
        return path
    return (ROOT if IN_PROJECT else Path.cwd()) / path


def shown(path):
    """Give `path` from the project root when it is inside the project, for short messages."""
    return str(path.relative_to(ROOT)) if IN_PROJECT and path.is_relative_to(ROOT) else str(path)


def find_run(args):
    """Give the run's record folder, refusing a run that has not finished."""
    if args.run_dir is not None:
        run_dir, name = absolute(args.run_dir), str(args.run_dir)
    else:
        match = re.fullmatch(r"(?:run)?(\d+)/?|(?:tune/)?trial(\d+)/?", args.run.strip().lower())
        if not match:
            raise UsageError(f"{args.run}: cannot read it as a run; write run002 or 2 (a --tune trial: trial0003).")
        if not IN_PROJECT:
            raise UsageError(f"{HERE} is not in a project (no {ROOT / 'project.yml'}). "
                             "Fix: give the record with --run-dir.")
        run = f"run{int(match.group(1)):03d}" if match.group(1) else f"tune/trial{int(match.group(2)):04d}"
        name = f"{HERE.name}/{run}"
        run_dir = ROOT / "data" / "output" / "exp" / name
    status = run_dir / "status.json"
    try:
        done = status.is_file() and json.loads(status.read_text(encoding="utf-8")).get("status") == "done"
    except (ValueError, AttributeError) as e:  # hand-edited or cut short
        raise UsageError(f"{shown(status)} cannot be read ({e}). Fix: restore it, or train the run again.") from None
    if not done:
        fix = (f" Fix: train it (python exp/{HERE.name}/exp.py --run {run_dir.name}), then predict again."
               if args.run_dir is None else " Fix: give the folder of a finished run (it has status.json).")
        raise UsageError(f"{name} is not a finished run: {shown(status)} is missing or not done (not run yet, still "
                         f"running, failed or interrupted), so it has no complete set of fold models.{fix}")
    for needed in ("config.yml", "features.json", "models", "src/predict.py"):
        if not (run_dir / needed).exists():
            raise UsageError(f"{name} has no {needed}, which predicting with the run's own code needs (a record from "
                             "before predict.py, or a partial copy). "
                             "Fix: train the run again, or package the whole record.")
    return run_dir


def default_sample(run_dir):
    """Give the run's sample submission: data.sample_submission in $KAGGLE_EXP_DATA_DIR, else in data.dir."""
    import yaml

    spec = yaml.safe_load((run_dir / "config.yml").read_text(encoding="utf-8"))["data"]
    if os.environ.get(DATA_DIR_ENV):
        return absolute(Path(os.environ[DATA_DIR_ENV])) / spec["sample_submission"]
    if not IN_PROJECT:
        return None  # the submission takes the columns of the run's own submission.csv
    return ROOT / spec["dir"] / spec["sample_submission"]


def check_inputs(args, run_dir):
    """Raise UsageError for a missing input file, or an output that would land on an input or in the record."""
    for option, path in (("--test", args.test), ("--sample", args.sample)):
        if path is not None and not path.is_file():
            raise UsageError(f"{option} {shown(path)}: file not found. Fix: give the path of the {option[2:]} file "
                             "(CSV or Parquet; a relative path is read from the project root).")
    for option, path in (("--out", args.out), ("--raw-out", args.raw_out)):
        if path is None:
            continue
        if not path.parent.is_dir():
            raise UsageError(f"{option} {shown(path)}: the folder {shown(path.parent)} does not exist. "
                             "Fix: create it first.")
        if (path.resolve() in (args.test.resolve(), args.sample and args.sample.resolve())
                or path.resolve().is_relative_to(run_dir.resolve())):
            raise UsageError(f"{option} {shown(path)} would overwrite the test file, the sample or the run's record. "
                             "Fix: write the submission somewhere else, e.g. --out submission.csv.")
        protected = protected_folder(path)
        if protected:
            raise UsageError(f"{option} {shown(path)} is inside {protected}, which holds inputs or finished records "
                             "that nothing may change. Fix: write it somewhere else, e.g. --out submission.csv.")
        if path.exists() and not args.force:
            raise UsageError(f"{option} {shown(path)} exists already. "
                             "Fix: give another path, or --force to overwrite it.")


def protected_folder(path):
    """Give the folder (for messages) of the inputs or records that holds `path`, or None when `path` may be written."""
    path = path.resolve()
    inputs = [ROOT / "data" / "input"] if IN_PROJECT else []
    if os.environ.get(DATA_DIR_ENV):
        inputs.append(absolute(Path(os.environ[DATA_DIR_ENV])))
    for folder in inputs:
        if path.is_relative_to(folder.resolve()):
            return shown(folder) + "/"
    output = (ROOT / "data" / "output").resolve()
    if IN_PROJECT and path.is_relative_to(output):
        parts = path.relative_to(output).parts
        if parts[0] == "blend" and len(parts) > 1:
            return "data/output/blend/"
        # A record: data/output/exp/<exp>/runNNN/ and its kept copies (runNNN.failed, runNNN.replaced-...).
        record = next((i for i, part in enumerate(parts[:-1]) if re.fullmatch(r"run\d{3,}.*", part)), None)
        if record is not None:
            return "data/output/" + "/".join(parts[: record + 1]) + "/"
    return None


def run_saved_code(saved, run_dir, args):
    """Run the record's own predict.py on the same (absolute) paths; give its exit code."""
    command = [sys.executable, str(saved), "--run-dir", str(run_dir), "--test", str(args.test)]
    for option, path in (("--sample", args.sample), ("--out", args.out), ("--raw-out", args.raw_out)):
        if path is not None:
            command += [option, str(path)]
    if args.force and b'"--force"' in saved.read_bytes():  # older saved code has no --force, and overwrites anyway
        command.append("--force")
    print(f"predicting with the run's saved code: {saved}", flush=True)
    return subprocess.run(command, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1")).returncode


def predict(run_dir, args):
    """Predict args.test with every fold model of the run; write the submission and/or the raw predictions."""
    import data as data_io
    import model
    import train
    from runner import util
    from runner.config import parse_yaml
    from tabular.outputs import to_submitted
    from tabular.predictor import load_folds, predict_folds
    from tabular.submission import check_sample, check_submission, make_submission, prediction_frame

    util.setup_logging()
    cfg = parse_yaml((run_dir / "config.yml").read_text(encoding="utf-8"), str(run_dir / "config.yml"))
    spec = util.read_json(run_dir / "features.json")
    id_name = spec["id"]
    try:
        X_test, ids = data_io.load_test_for_prediction(cfg, spec, args.test)
    except util.DataError as e:  # the file given with --test: the message names the flag
        raise UsageError(f"--test {e}") from None
    n_splits = cfg["cv"]["n_splits"]
    test_pred = predict_folds(cfg, load_folds(cfg, run_dir), X_test)  # shared with the inference server's notebook
    n_seeds = len(model.seeds(cfg))
    used = f"{n_splits} folds" + (f" x {n_seeds} seeds ({n_splits * n_seeds} models)" if n_seeds > 1 else "")
    util.log.info(f"{run_dir.name}: predicted {len(X_test):,} rows of {shown(args.test)} with {used} of "
                  f"{cfg['model']['name']}")
    if args.raw_out is not None:
        write(prediction_frame(ids, test_pred, spec["classes"], id_name), args.raw_out)
    if args.out is not None:
        sample = submission_layout(args, run_dir, ids, id_name)
        check_sample(sample, ids, spec["classes"], id_name, spec["target"], args.sample or args.test, args.test)
        submitted = to_submitted(cfg, test_pred, spec.get("target_range"))
        # what make_submission reads
        run_data = types.SimpleNamespace(classes=spec["classes"], sample=sample, test_ids=ids)
        submission = make_submission(run_data, submitted, cfg, train.METRICS[cfg["metric"]].needs_labels)
        check_submission(submission, sample, id_name)
        write(submission, args.out)


def submission_layout(args, run_dir, ids, id_name):
    """Give the sample the submission fills in: the competition's for its test file; for another test file,
    that file's ids in its row order with the sample's columns (the run's submission.csv's without a sample)."""
    import numpy as np
    import pandas as pd

    import data as data_io
    from runner.util import log

    if args.sample is None or not args.sample.is_file():
        if not (run_dir / "submission.csv").is_file():  # a packaged record leaves it out
            raise UsageError("no sample submission "
                             f"({shown(args.sample) + ' not found' if args.sample else 'no project'}), and "
                             f"{run_dir.name} has no submission.csv to take the columns from. Fix: give --sample PATH.")
        columns = pd.read_csv(run_dir / "submission.csv", nrows=0).columns
        log.info("no sample submission "
                 f"({'--sample not given' if args.sample is None else shown(args.sample) + ' not found'}): the ids of "
                 f"--test in its row order, with the columns of {run_dir.name}/submission.csv. For the competition's "
                 "order, give --sample PATH.")
        return pd.DataFrame({c: ids.array if c == id_name else np.nan for c in columns})
    sample = data_io.read_table(args.sample, id_name)
    data_io.require_columns(sample, [id_name], args.sample,
                            f"give --sample the competition's sample submission (id column {id_name!r})")
    in_sample = pd.Index(sample[id_name].astype(str)).unique().get_indexer(ids.astype(str)) >= 0
    if in_sample.all():  # the competition's test file (check_sample refuses a part of it)
        missing = len(set(sample[id_name].astype(str))) - len(set(ids.astype(str)))
        if missing > 0:
            raise UsageError(f"--sample {shown(args.sample)}: {missing:,} of its {len(sample):,} ids are not in --test "
                             f"{shown(args.test)}, which holds no other id: a part of the competition's test file? "
                             "Fix: give --test the whole test file, or a test file of other ids "
                             "(predicted in its own row order).")
        return sample
    log.info(f"--test {shown(args.test)} is not the competition's test file ({int((~in_sample).sum()):,} of its ids "
             f"are not in {shown(args.sample)}): "
             "the submission holds its ids in its row order, with the sample's columns")
    return pd.DataFrame({c: ids.array if c == id_name else sample[c].iloc[:1].repeat(len(ids)).array
                         for c in sample.columns})


def write(frame, path):
    """Write `frame` as a run writes its CSVs, under a temporary name renamed into place: whole or not at all."""
    from util import write_csv

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_csv(frame, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {shown(path)}", flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run_dir = find_run(args)
        args.test, args.out, args.raw_out = absolute(args.test), absolute(args.out), absolute(args.raw_out)
        # Only a submission needs the sample.
        given_sample = args.sample is not None
        args.sample = absolute(args.sample) if given_sample or args.out is None else default_sample(run_dir)
        if not given_sample and args.sample is not None and not args.sample.is_file():
            args.sample = None  # no sample where the run's config says: the layout of the run's own submission.csv
        check_inputs(args, run_dir)
        saved = run_dir / "src" / "predict.py"
        this = Path(__file__)
        if saved.is_file() and saved.resolve() != this.resolve() and saved.read_bytes() != this.read_bytes():
            return run_saved_code(saved, run_dir, args)
        sys.path.insert(0, str(run_dir / "src"))  # the run's own data, model and train code, beside its predict.py
        from runner.util import ConfigError, DataError
        try:
            predict(run_dir, args)
        except (ConfigError, DataError) as e:
            raise UsageError(str(e)) from None
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
