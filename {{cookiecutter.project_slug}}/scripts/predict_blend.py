"""Predict a new test file with a blend that scripts/blend.py wrote: each run predicts, the blend's weights combine.

    python scripts/predict_blend.py blend001 --test PATH --out PATH [--sample PATH]
    ... --onnx        the runs that package --onnx exported predict with ONNX Runtime on the CPU (a Kaggle notebook)
    ... --openvino    with --onnx: those runs predict in OpenVINO's runtime instead (package --onnx --openvino)
    ... --files DIR   the folder the image runs' test file patterns are read from (default: the test file's)
    ... --base-model DIR   text runs with LoRA: their base model's folder, or one above it (e.g. /kaggle/input)

Each run of the blend predicts the file with its own predict.py (the copy in its record's src/), as
`exp/expNNN/predict.py` would. Their probabilities or values are averaged with the weights in blend.json,
labels come from the averaged probabilities, exactly as blend.py made the blend's own submission.
The submission is the sample (default: the first run's data.sample_submission, in $KAGGLE_EXP_DATA_DIR
when set) filled in and checked. Relative paths are read from the project root. Only --out is written.
A text run with LoRA over a pretrained model reads its base model again: at its model.name, or (--base-model) in
that folder or one above it, e.g. /kaggle/input in a notebook, where predict.py finds it by its weights.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.blending import blend, fill_submission, predictions
from helpers.project import BLEND_ROOT, RECORDS_ROOT, ROOT, UserError, data_dir, read_table, rel


def read_blend(name):
    """Give the blend's runs (name, record folder) and weights (summing to 1) from its blend.json."""
    folder = BLEND_ROOT / name
    if not (folder / "blend.json").is_file():
        made = (sorted(p.name for p in BLEND_ROOT.iterdir() if (p / "blend.json").is_file())
                if BLEND_ROOT.is_dir() else [])
        raise UserError(f"{rel(folder)}: no finished blend there. Blends: {', '.join(made) or 'none yet'}. "
                        "Make one with: python scripts/blend.py exp001/run002 exp002/run001")
    summary = json.loads((folder / "blend.json").read_text(encoding="utf-8"))
    weights = np.array(summary["weights"], dtype=float)
    # blend.json rounds the weights to 6 places; scaled again, 0.5/0.5 or 0.7/0.3 are exactly what blend.py used.
    return [(run, RECORDS_ROOT / run) for run in summary["runs"]], weights / weights.sum()


def run_options(folder, args):
    """Give the options of a run's predict.py that predict_blend.py passes on: --onnx to a run package --onnx exported
    (its models/onnx_check.json says its folds passed the check against PyTorch), --files to a deep-learning run."""
    onnx = args.onnx and (folder / "models" / "onnx_check.json").is_file()
    deep = (folder / "labels.json").is_file()
    return [*(["--onnx"] if onnx else []), *(["--openvino"] if onnx and args.openvino else []),
            *(["--files", str(ROOT / args.files)] if args.files and deep else [])]


def predict_run(name, folder, test, raw_out, options=(), base_model=None):
    """Run the run's own predict.py on `test` (with `options`), writing its raw predictions to `raw_out`; give them
    (ids as text). base_model: where a LoRA run's base model is (predict.py --base-model), handed to each predict.py
    that knows it."""
    saved = folder / "src" / "predict.py"
    script = saved if saved.is_file() else ROOT / "exp" / name.split("/")[0] / "predict.py"
    if not script.is_file():
        raise UserError(f"{name}: no predict.py in {rel(folder / 'src')}/ nor in exp/{name.split('/')[0]}/, so it "
                        "cannot predict. Fix: copy exp/exp001/predict.py into that experiment's folder.")
    command = [sys.executable, str(script), "--run-dir", str(folder), "--test", str(test), "--raw-out", str(raw_out),
               *options]
    if base_model is not None and b'"--base-model"' in script.read_bytes():  # (a tabular run's has no base)
        command += ["--base-model", str(base_model)]
    engine = " (OpenVINO)" if "--openvino" in options else " (ONNX Runtime)" if "--onnx" in options else ""
    print(f"{name}: predicting {rel(test)}{engine}", flush=True)
    # From the project root: a record's predict.py reads a LoRA run's model.name from the folder it runs in.
    if subprocess.run(command, cwd=ROOT, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1")).returncode != 0:
        raise UserError(f"{name} could not predict {rel(test)} (its message is above); the blend needs every run.")
    cfg = yaml.safe_load((folder / "config.yml").read_text(encoding="utf-8"))
    return cfg, pd.read_csv(raw_out, dtype={cfg["data"]["id"]: str})


def read_sample(path, id_col):
    """Give the sample submission (ids as text), refusing a missing file or one without the id column."""
    if not path.is_file():
        raise UserError(f"{rel(path)}: sample submission not found. Fix: give it with --sample PATH.")
    sample = read_table(path, id_col)
    if id_col not in sample.columns:
        raise UserError(f"{rel(path)}: no column {id_col!r}. "
                        "Fix: give the competition's sample submission (--sample PATH).")
    sample[id_col] = sample[id_col].astype(str)
    return sample


def default_sample(cfg):
    return data_dir(cfg["data"]) / cfg["data"]["sample_submission"]


def predict_blend(args):
    runs, weights = read_blend(args.blend)
    test = ROOT / args.test
    if not test.is_file():
        raise UserError(f"--test {rel(test)}: file not found. Fix: give the path of the test file to predict.")
    base_model = ROOT / args.base_model if args.base_model else None
    if base_model is not None and not base_model.is_dir():
        raise UserError(f"--base-model {rel(base_model)}: no such folder. Fix: give the base model's folder, or one "
                        "above it (a relative path is read from the project root).")
    if args.onnx and not any((folder / "models" / "onnx_check.json").is_file() for _, folder in runs):
        raise UserError(f"--onnx: no run of {args.blend} has ONNX models (package --onnx exports them into the blend's "
                        "dataset). Fix: predict without --onnx, or package the blend with --onnx.")
    with tempfile.TemporaryDirectory(prefix="predict_blend-") as scratch:  # never inside the project
        predicted = [predict_run(name, folder, test, Path(scratch) / f"raw{i}.csv", run_options(folder, args),
                                 base_model)
                     for i, (name, folder) in enumerate(runs)]
    (cfg, first), id_col = predicted[0], predicted[0][0]["data"]["id"]
    columns = list(first.columns.drop(id_col))
    for (name, _), (_, frame) in zip(runs[1:], predicted[1:]):
        if list(frame.columns.drop(id_col)) != columns or not frame[id_col].equals(first[id_col]):
            raise UserError(f"{name} predicts columns {', '.join(frame.columns)} for other rows than {runs[0][0]} "
                            f"({', '.join(first.columns)}). Fix: blend runs of one competition setup.")
    test_pred = blend([predictions(frame, columns) for _, frame in predicted], weights)

    sample_path = ROOT / args.sample if args.sample else default_sample(cfg)
    sample = read_sample(sample_path, id_col)
    order = pd.Index(first[id_col]).get_indexer(sample[id_col])
    if (order < 0).any():
        raise UserError(f"{rel(sample_path)}: {int((order < 0).sum()):,} of its ids are not in {rel(test)} (e.g. "
                        f"{sample[id_col][order < 0].iloc[0]!r}). Fix: give the sample submission of this test file "
                        "(--sample PATH).")
    # The first run's metric code (its src/) says whether the submission holds labels, as in blend.py.
    sys.dont_write_bytecode = True  # no __pycache__ in the record
    sys.path.insert(0, str(runs[0][1] / "src"))
    import train
    # The class labels by code: features.json in a tabular record, labels.json in an image one.
    classes_file = next(p for p in (runs[0][1] / "features.json", runs[0][1] / "labels.json") if p.is_file())
    classes = json.loads(classes_file.read_text(encoding="utf-8"))["classes"]
    submission = fill_submission(sample, test_pred[order], cfg, classes, train.METRICS[cfg["metric"]].needs_labels)
    if submission.isna().any().any():
        raise UserError("the blend's submission has missing values in "
                        f"{', '.join(submission.columns[submission.isna().any()])}.")
    out = ROOT / args.out
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        submission.to_csv(tmp, index=False)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {rel(out)}: {args.blend} ({', '.join(f'{name} x{w:.3f}' for (name, _), w in zip(runs, weights))})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("blend", help="a blend under data/output/blend/, e.g. blend001")
    parser.add_argument("--test", type=Path, required=True, help="the test file to predict (CSV or Parquet)")
    parser.add_argument("--sample", type=Path, help="the sample submission (default: the first run's)")
    parser.add_argument("--out", type=Path, required=True, help="where the submission goes")
    parser.add_argument("--base-model", type=Path, help="text, LoRA: the base model's folder or a folder above it "
                                                        "(default: each run's model.name)")
    parser.add_argument("--onnx", action="store_true", help="runs exported by package --onnx: ONNX Runtime on the CPU")
    parser.add_argument("--openvino", action="store_true", help="with --onnx: OpenVINO's runtime, not ONNX Runtime")
    parser.add_argument("--files", type=Path, help="image runs: the folder of their test files (default: --test's)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return predict_blend(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
