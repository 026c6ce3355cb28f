"""Predict a new test set from a finished run, without training: the run's own code (its src/) and fold checkpoints.

    python exp/exp001/predict.py run002 --test data/input/test.csv --out submission.csv
    python exp/exp001/predict.py run002 --test PATH --files DIR --sample PATH --out PATH
    python exp/exp001/predict.py --run-dir PATH/run002 --test PATH --out PATH      a packaged record (Kaggle)
    ... --onnx             predict with the folds' ONNX models in ONNX Runtime on the CPU (package --onnx made them)
    ... --export-onnx DIR  write each fold as DIR/fold<k>.onnx, checked against PyTorch on --test (package --onnx)
    ... --openvino         with --onnx: OpenVINO's runtime runs them instead; with --export-onnx: it is checked too
    ... --raw-out PATH     also (or only) the predictions, laid out like the run's test_pred.csv (for blends)
    ... --base-model DIR   a text run with LoRA: where its base model is (its folder, or one above it: /kaggle/input)

--test is a test table whose rows name their files through the run's pattern (data.test_image, data.test_audio),
read from --files (default: the table's folder); for the audio kind it may also be a folder of recordings, each
cut into the run's windows (BirdCLEF's hidden test_soundscapes/). Every fold's best checkpoint predicts them with
the run's TTA, and the
submission is the sample (default: data.sample_submission of the run's config, in $KAGGLE_EXP_DATA_DIR when
set) filled in and checked; for a part of the competition's test file, or another one, it holds the test file's ids
in its row order, with the sample's columns. Relative paths are read from the project root. Nothing is written
but --out and --raw-out.

The run predicts with the code that trained it: its src/. When the run's src/predict.py differs from this
file, that one runs instead, so later edits here never change a run's predictions.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
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
    parser.add_argument("--test", type=Path, required=True,
                        help="the test table (CSV): one row per file; audio: or a folder of recordings")
    parser.add_argument("--files", "--images", type=Path, dest="files",
                        help="the folder the table's file pattern is relative to (default: the test table's)")
    parser.add_argument("--sample", type=Path, help="the sample submission (default: the run's data.sample_submission)")
    parser.add_argument("--out", type=Path, help="where the submission goes")
    parser.add_argument("--raw-out", type=Path, help="where the predictions go, like test_pred.csv")
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda, cuda:1")
    parser.add_argument("--base-model", type=Path, help="text, LoRA: the base model's folder or a folder above it "
                                                        "(default: the run's model.name)")
    parser.add_argument("--onnx", action="store_true", help="predict with models/fold<k>.onnx in ONNX Runtime (CPU)")
    parser.add_argument("--export-onnx", type=Path, metavar="DIR",
                        help="export each fold to DIR/fold<k>.onnx and check it against PyTorch on --test")
    parser.add_argument("--openvino", action="store_true",
                        help="with --onnx: run them in OpenVINO's runtime (CPU); with --export-onnx: check it too")
    args = parser.parse_args(argv)
    if args.openvino and not (args.onnx or args.export_onnx):
        parser.error("--openvino runs the ONNX models: give it with --onnx (or --export-onnx)")
    if (args.run is None) == (args.run_dir is None):
        parser.error("give a run (run002) or --run-dir, one of the two")
    if args.out is None and args.raw_out is None and args.export_onnx is None:
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
        match = re.fullmatch(r"(?:run)?(\d+)/?", args.run.strip().lower())
        if not match:
            raise UsageError(f"{args.run}: cannot read it as a run; write run002 or 2.")
        if not IN_PROJECT:
            raise UsageError(f"{HERE} is not in a project (no {ROOT / 'project.yml'}). "
                             "Fix: give the record with --run-dir.")
        name = f"{HERE.name}/run{int(match.group(1)):03d}"
        run_dir = ROOT / "data" / "output" / "exp" / name
    status = run_dir / "status.json"
    if not status.is_file() or json.loads(status.read_text(encoding="utf-8")).get("status") != "done":
        fix = (f" Fix: train it (python exp/{HERE.name}/exp.py --run {run_dir.name}), then predict again."
               if args.run_dir is None else " Fix: give the folder of a finished run (it has status.json).")
        raise UsageError(f"{name} is not a finished run: {shown(status)} is missing or not done (not run yet, still "
                         f"running, failed or interrupted), so it has no complete set of fold checkpoints.{fix}")
    for needed in ("config.yml", "labels.json", "models", "src/predict.py"):
        if not (run_dir / needed).exists():
            raise UsageError(f"{name} has no {needed}, which predicting with the run's own code needs (a partial "
                             "copy). Fix: train the run again, or package the whole record.")
    return run_dir


def default_sample(run_dir):
    """Give the run's sample submission: data.sample_submission in $KAGGLE_EXP_DATA_DIR, else in data.dir."""
    import yaml

    spec = yaml.safe_load((run_dir / "config.yml").read_text(encoding="utf-8"))["data"]
    if os.environ.get(DATA_DIR_ENV):
        return absolute(Path(os.environ[DATA_DIR_ENV])) / spec["sample_submission"]
    if not IN_PROJECT:
        raise UsageError(f"no --sample given, and neither a project nor {DATA_DIR_ENV} says where "
                         f"{spec['sample_submission']} is. Fix: give --sample PATH.")
    return ROOT / spec["dir"] / spec["sample_submission"]


def check_inputs(args, run_dir):
    """Raise UsageError for a missing input, or an output that would land on an input or in the record."""
    for option, path in (("--test", args.test), ("--sample", args.sample)):
        if path is not None and not (path.is_file() or option == "--test" and path.is_dir()):
            raise UsageError(f"{option} {shown(path)}: file not found. Fix: give the path of the {option[2:]} file "
                             "(a relative path is read from the project root).")
    if args.files is not None and not args.files.is_dir():
        raise UsageError(f"--files {shown(args.files)}: no such folder. "
                         "Fix: give the folder holding the test files.")
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


def run_saved_code(saved, run_dir, args):
    """Run the record's own predict.py on the same (absolute) paths; give its exit code."""
    command = [sys.executable, str(saved), "--run-dir", str(run_dir), "--test", str(args.test), "--device", args.device,
               *(["--onnx"] if args.onnx else []), *(["--openvino"] if args.openvino else [])]
    for option, path in (("--files", args.files), ("--sample", args.sample), ("--out", args.out),
                         ("--raw-out", args.raw_out), ("--export-onnx", args.export_onnx),
                         ("--base-model", args.base_model)):
        # a record's predict.py from before --base-model has no use for it (its checkpoints hold every weight)
        if path is not None and (option != "--base-model" or b'"--base-model"' in saved.read_bytes()):
            command += [option, str(path)]
    print(f"predicting with the run's saved code: {saved}", flush=True)
    return subprocess.run(command, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1")).returncode


def predict(run_dir, args):
    """Predict args.test with every fold checkpoint of the run; write the submission and/or raw predictions."""
    import numpy as np
    import torch

    import data as data_io
    import model as model_io
    import network
    import train
    from deep import onnx_export
    from deep.outputs import make_submission, prediction_frame
    from runner import util
    from runner.config import parse_yaml

    util.setup_logging()
    cfg = parse_yaml((run_dir / "config.yml").read_text(encoding="utf-8"), str(run_dir / "config.yml"))
    if (run_dir / "model").is_dir():  # the model's own files, kept by the run (text: its tokenizer and config)
        cfg["model"]["name"] = str(run_dir / "model")
    labels, spec, task = util.read_json(run_dir / "labels.json"), cfg["data"], cfg["task"]
    classes, stats = labels["classes"], labels["target_stats"]
    started = time.perf_counter()  # from reading the files: decoding is much of a notebook's time on the CPU
    ids, dataset = data_io.read_test(cfg, args.test, args.files)
    device = model_io.pick_device("cpu" if args.onnx or args.export_onnx else args.device)
    # The architecture (or a LoRA run's base): each fold's weights come from its checkpoint.
    net = network.predict_model(cfg, run_dir, model_io.n_outputs(task, classes), args.base_model,
                                root=ROOT if IN_PROJECT else Path.cwd())
    n_splits = cfg["cv"]["n_splits"]
    test_pred = 0
    kept = "fold0.onnx" if args.onnx else "fold0.pt"
    runtime = "openvino" if args.openvino else "onnxruntime"
    if not (run_dir / "models" / kept).is_file():
        raise UsageError(f"{run_dir.name} has no models/{kept} (train.keep_checkpoints: none, a packaged record "
                         "without them, or --onnx without package --onnx), so it cannot predict. Fix: redo it with "
                         "keep_checkpoints: best or fp16, or package it again.")

    def fold_net(k):
        """Give fold k's network: its checkpoint's weights in `net`, or its ONNX model in ONNX Runtime."""
        if args.onnx:
            return onnx_export.OnnxNet(run_dir / "models" / f"fold{k}.onnx", runtime)
        network.load_fold(cfg, net, torch.load(run_dir / "models" / f"fold{k}.pt", map_location=device,
                                               weights_only=True))
        return net.to(device)

    if args.export_onnx is not None:
        return onnx_export.export_and_check(cfg, fold_net, n_splits, dataset, stats, args.export_onnx,
                                            ("onnxruntime", runtime) if args.openvino else ("onnxruntime",))
    # the fold means in the order and arithmetic of training, so they agree with test_pred.csv
    for k in range(n_splits):
        fold = fold_net(k)
        test_pred = test_pred + train.infer(cfg, fold, dataset, device, stats, data_io.tta_views(cfg))[0] / n_splits
    seconds = time.perf_counter() - started
    engine = f" ({onnx_export.RUNTIME_NAMES[runtime]})" if args.onnx else ""
    util.log.info(f"{run_dir.name}: predicted {len(ids):,} {data_io.UNIT} of {shown(args.test)} with {n_splits} folds "
                  f"of {cfg['model']['name']}{engine} on {device} "
                  f"in {seconds:.1f} s ({data_io.speed(dataset, seconds)})")
    if args.raw_out is not None:
        write(prediction_frame(ids, np.asarray(test_pred), task, classes, spec["id"]), args.raw_out)
    if args.out is not None:
        sample = submission_layout(args, run_dir, ids, spec["id"])
        write(make_submission(cfg, classes, np.asarray(test_pred), ids, sample), args.out)


def submission_layout(args, run_dir, ids, id_name):
    """Give the sample the submission fills in: the competition's for its whole test file; for a part of it or
    another test file, that file's ids in its row order with the sample's columns (or the run's submission.csv's)."""
    import pandas as pd

    import data as data_io
    from runner.util import log

    if args.sample is None or not args.sample.is_file():
        if not (run_dir / "submission.csv").is_file():  # a packaged record leaves it out
            raise UsageError("no sample submission "
                             f"({shown(args.sample) + ' not found' if args.sample else 'no project'}), and "
                             f"{run_dir.name} has no submission.csv to take the columns from. Fix: give --sample PATH.")
        columns = pd.read_csv(run_dir / "submission.csv", nrows=0).columns
        log.info("no sample submission: the ids of --test in its row order, with the columns of "
                 f"{run_dir.name}/submission.csv")
        return pd.DataFrame({c: ids.array if c == id_name else 0 for c in columns})
    sample = data_io.read_csv(args.sample, id_name)
    data_io.require_columns(sample, [id_name], args.sample)
    if set(sample[id_name].astype(str)) == set(ids.astype(str)):  # the competition's own test file
        return sample
    log.info(f"--test {shown(args.test)} holds other ids than {shown(args.sample)} (a part of the test set, or another "
             "one): the submission holds its ids in its row order, with the sample's columns")
    return pd.DataFrame({c: ids.array if c == id_name else sample[c].iloc[:1].repeat(len(ids)).array
                         for c in sample.columns})


def write(frame, path):
    """Write `frame` as a run writes its CSVs, under a temporary name renamed into place: whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {shown(path)}", flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run_dir = find_run(args)
        args.test, args.out, args.raw_out = absolute(args.test), absolute(args.out), absolute(args.raw_out)
        args.files, args.base_model = absolute(args.files), absolute(args.base_model)
        # Only a submission needs the sample.
        args.sample = absolute(args.sample) if args.sample or args.out is None else default_sample(run_dir)
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
