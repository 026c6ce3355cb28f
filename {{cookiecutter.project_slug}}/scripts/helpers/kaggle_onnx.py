"""`package expNNN/runNNN --onnx`: each fold of a packaged image or audio run also as ONNX, checked against PyTorch.

The export runs in the packaged run's own predict.py (--export-onnx: the scripts never import experiment code), on
the run's own test rows: ONNX Runtime's predictions must equal PyTorch's within the tolerance that predict.py's
deep/onnx_export.py states, or nothing is added. kaggle_package.json then lists the run under "onnx", and the
notebook predicts it with ONNX Runtime on the CPU (predict.py --onnx). Tabular runs keep their native models.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .kaggle_package import PACKAGE_FILE, write_json
from .kaggle_probe import amount, test_samples
from .project import UserError, data_dir, rel

CHECK_ROWS = 64  # test rows each fold is checked on: quick on the CPU
CHECK_RECORDINGS = 2  # or test recordings, when the test set is a folder of them (each cut into many windows)


def check_exportable(name, record):
    """Raise UserError unless the record is a run whose own code can export it: an image or audio run trained with a
    predict.py that knows --export-onnx."""
    if not (record / "labels.json").is_file():
        raise UserError(f"{name} is a tabular run: its models already run on the CPU as they are, and are shipped as "
                        "they are. Fix: package it without --onnx.")
    network = record / "src" / "network.py"
    if network.is_file() and "transformers" in network.read_text(encoding="utf-8"):
        raise UserError(f"{name} is a text run: --onnx exports image and audio runs only. Fix: package it without "
                        "--onnx.")
    if b"--export-onnx" not in (record / "src" / "predict.py").read_bytes():
        raise UserError(f"{name} was trained before runs could export themselves to ONNX (its src/predict.py has no "
                        f"--export-onnx). Fix: train it again (exp.py --run {record.name} --force), or package it "
                        "without --onnx.")
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"--onnx exports with onnx and checks with onnxruntime; {' and '.join(missing)} not installed "
                        "here. Fix: pip install onnx onnxruntime")


def export_runs(folder, records, exp):
    """Export every fold of each packaged run in `folder` to ONNX beside its checkpoint, checked; list the runs in
    kaggle_package.json."""
    for run, record in records.items():
        check_exportable(f"{exp}/{run}", record)
    for run in records:
        packaged = folder / run
        cfg = yaml.safe_load((packaged / "config.yml").read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory(prefix="onnx-check-") as scratch:
            folder_of_recordings = cfg["data"].get("test", "test.csv") is None
            samples, unit, _ = test_samples(cfg, True, CHECK_RECORDINGS if folder_of_recordings else CHECK_ROWS,
                                            Path(scratch))
            sample, size = samples[-1]
            files = (data_dir(cfg["data"]) / (cfg["data"].get("test") or "x")).parent
            command = [sys.executable, str(packaged / "src" / "predict.py"), "--run-dir", str(packaged),
                       "--test", str(sample), "--files", str(files), "--export-onnx", str(packaged / "models")]
            print(f"{exp}/{run}: exporting each fold to ONNX and checking it against PyTorch on "
                  f"{amount(size, unit)} of the test set ...", flush=True)
            done = subprocess.run(command, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), capture_output=True,
                                  text=True)
        if done.returncode != 0:
            raise UserError(f"{exp}/{run} was not exported to ONNX:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        check = json.loads((packaged / "models" / "onnx_check.json").read_text(encoding="utf-8"))
        print(f"{exp}/{run}: {check['folds']} folds as ONNX (opset {check['opset']}, torch {check['torch']}); ONNX "
              f"Runtime {check['onnxruntime']} vs PyTorch on {check['rows']} test rows: largest difference "
              f"{check['max_difference']:.2g} (tolerance {check['tolerance']:g}); {rel(packaged / 'models')}/")
    contents = json.loads((folder / PACKAGE_FILE).read_text(encoding="utf-8"))
    write_json(folder / PACKAGE_FILE, dict(contents, onnx=list(records)))
