"""`package expNNN/runNNN --onnx`: each fold of a packaged image or audio run also as ONNX, checked against PyTorch.

The export runs in the packaged run's own predict.py (--export-onnx: the scripts never import experiment code), on
the run's own test rows: ONNX Runtime's predictions must equal PyTorch's within the tolerance that predict.py's
deep/onnx_export.py states, or nothing is added. kaggle_package.json then lists the run under "onnx", and the
notebook predicts it with ONNX Runtime on the CPU (predict.py --onnx). Tabular runs keep their native models.
`package blendNNN --onnx` exports each image and audio run of the blend in its dataset the same way, and the blend's
notebook runs predict_blend.py --onnx, which passes --onnx to the runs that were exported.
`--openvino` (--onnx implied) also checks OpenVINO's runtime against PyTorch on the same rows, and the notebook runs
the same .onnx files in it instead of ONNX Runtime (predict.py --onnx --openvino).
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
from .project import RECORDS_ROOT, ROOT, UserError, data_dir, rel

CHECK_ROWS = 64  # test rows each fold is checked on: quick on the CPU
CHECK_RECORDINGS = 2  # or test recordings, when the test set is a folder of them (each cut into many windows)


def check_exportable(name, record, openvino=False):
    """Raise UserError unless the record is a run whose own code can export it: an image or audio run trained with a
    predict.py that knows --export-onnx (and --openvino, when asked for)."""
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
    if openvino and b'"--openvino"' not in (record / "src" / "predict.py").read_bytes():
        raise UserError(f"{name} was trained before runs could predict with OpenVINO (its src/predict.py has no "
                        f"--openvino). Fix: train it again (exp.py --run {record.name} --force), or package it with "
                        "--onnx alone (ONNX Runtime).")
    needed = ("onnx", "onnxruntime", "openvino") if openvino else ("onnx", "onnxruntime")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"--onnx exports with onnx and checks with onnxruntime{' and openvino' * openvino}; "
                        f"{' and '.join(missing)} not installed here. Fix: pip install {' '.join(needed)}")


def blend_exports(folder, runs):
    """Give {run: its folder in the blend's dataset `folder`} of the blend's runs that --onnx exports: every run but
    the tabular ones, which keep their own models (said)."""
    packaged = {name: folder / RECORDS_ROOT.relative_to(ROOT) / name for name in runs}
    tabular = [name for name, run_dir in packaged.items() if not (run_dir / "labels.json").is_file()]
    if len(tabular) == len(runs):
        raise UserError(f"every run of this blend ({', '.join(runs)}) is a tabular run: their models already run on "
                        "the CPU as they are. Fix: package it without --onnx.")
    if tabular:
        print(f"{', '.join(tabular)}: tabular, kept with their own models (they run on the CPU as they are)")
    return {name: run_dir for name, run_dir in packaged.items() if name not in tabular}


def export_runs(folder, packaged, openvino=False):
    """Export every fold of each packaged run ({exp/run: its folder in the dataset `folder`}) to ONNX beside its
    checkpoint, checked (in OpenVINO's runtime too when openvino); list them in the dataset's kaggle_package.json."""
    for name, run_dir in packaged.items():
        check_exportable(name, run_dir, openvino)
    for name, run_dir in packaged.items():
        cfg = yaml.safe_load((run_dir / "config.yml").read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory(prefix="onnx-check-") as scratch:
            folder_of_recordings = cfg["data"].get("test", "test.csv") is None
            samples, unit, _ = test_samples(cfg, True, CHECK_RECORDINGS if folder_of_recordings else CHECK_ROWS,
                                            Path(scratch))
            sample, size = samples[-1]
            files = (data_dir(cfg["data"]) / (cfg["data"].get("test") or "x")).parent
            command = [sys.executable, str(run_dir / "src" / "predict.py"), "--run-dir", str(run_dir),
                       "--test", str(sample), "--files", str(files), "--export-onnx", str(run_dir / "models"),
                       *(["--openvino"] if openvino else [])]
            print(f"{name}: exporting each fold to ONNX and checking it against PyTorch on "
                  f"{amount(size, unit)} of the test set ...", flush=True)
            done = subprocess.run(command, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), capture_output=True,
                                  text=True)
        if done.returncode != 0:
            raise UserError(f"{name} was not exported to ONNX:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        check = json.loads((run_dir / "models" / "onnx_check.json").read_text(encoding="utf-8"))
        print(f"{name}: {check['folds']} folds as ONNX (opset {check['opset']}, torch {check['torch']}); ONNX "
              f"Runtime {check['onnxruntime']} vs PyTorch on {check['rows']} test rows: largest difference "
              f"{check['max_difference']:.2g} (tolerance {check['tolerance']:g}); {rel(run_dir / 'models')}/")
        if openvino:
            print(f"{name}: OpenVINO {check['openvino']['version']} vs PyTorch: largest difference "
                  f"{check['openvino']['max_difference']:.2g}")
    contents = json.loads((folder / PACKAGE_FILE).read_text(encoding="utf-8"))
    # a run's dataset lists runNNN (as under "runs"), a blend's exp/run
    listed = [name if "blend" in contents else name.split("/", 1)[1] for name in packaged]
    runtime = "openvino" if openvino else "onnxruntime"  # what the notebook runs them in
    write_json(folder / PACKAGE_FILE, dict(contents, onnx=listed, onnx_runtime=runtime))
