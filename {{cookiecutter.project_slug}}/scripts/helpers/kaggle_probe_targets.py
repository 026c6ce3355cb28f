"""What `kaggle_cli.py probe` times: the command a run's or a blend's notebook runs, on a sample of the test set.

A run's notebook runs the run's predict.py on the packaged run (with --onnx when package --onnx exported it). A
blend's notebook runs scripts/predict_blend.py of the blend's dataset, which runs each run's predict.py in turn (with
--onnx, the runs package --onnx exported predict with ONNX Runtime). Before packaging, the probe times the record, or
the project's own predict_blend.py over the records: the same code on the same models.
"""
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .kaggle_package import PACKAGE_FILE, dataset_names
from .kaggle_project import (DATASETS_DIR, complete_blend, complete_run, notebook_gpu, parse_blend, parse_run,
                             read_json_file)
from .project import RECORDS_ROOT, ROOT, UserError, data_dir, read_table, rel


@dataclass
class Target:
    """What is timed: a run's predict.py (blend None) or a blend's predict_blend.py."""
    name: str  # exp001/run002 or blend001
    blend: str | None
    root: Path  # the run folder predict.py reads, or the folder holding scripts/predict_blend.py
    cfg: dict  # the (first) run's config: where the test set is, and what it holds
    deep: bool  # a deep-learning run, or a blend holding one: the test rows name images or texts
    onnx: bool  # predicted with the ONNX models that package --onnx exported
    openvino: bool  # those in OpenVINO's runtime (package --onnx --openvino)
    device: str  # where it is timed: the notebook's device (cpu when this machine has no GPU)
    what: str  # what is timed, for the message


def probe_target(args):
    """Give the Target of `args.target` (expNNN/runNNN or blendNNN) as its notebook would predict it."""
    blend = parse_blend(args.target)
    return blend_target(args, blend) if blend else run_target(args)


def run_target(args):
    exp, run = parse_run(args.target)
    record, _ = complete_run(exp, run)
    slug, _ = dataset_names(args, exp, run)
    packaged = read_json_file(DATASETS_DIR / slug / PACKAGE_FILE)
    onnx = run in packaged.get("onnx", [])
    openvino = onnx and packaged.get("onnx_runtime") == "openvino"
    if run in packaged.get("runs", []):
        root, what = DATASETS_DIR / slug / run, f"the packaged {rel(DATASETS_DIR / slug / run)}"
    else:
        root, what = record, f"the record {rel(record)} (not packaged yet)"
    return Target(f"{exp}/{run}", None, root, read_config(record), (record / "labels.json").is_file(), onnx, openvino,
                  timing_device(args, onnx, record), f"predict.py of {what}{engine(onnx, openvino)}")


def blend_target(args, blend):
    _, summary, first_run = complete_blend(blend)
    cfg = read_config(first_run)
    if cfg["data"].get("test", "test.csv") is None:
        raise UserError(f"{blend}'s runs read a folder of test recordings (data.test: null), and predict_blend.py "
                        "predicts a test table: a blend of audio runs cannot predict a hidden test set yet, so there "
                        "is nothing to time. Fix: probe each of its runs (probe expNNN/runNNN).")
    slug, _ = dataset_names(args, blend, None)
    packaged = read_json_file(DATASETS_DIR / slug / PACKAGE_FILE)
    onnx = packaged.get("blend") == blend and bool(packaged.get("onnx"))
    openvino = onnx and packaged.get("onnx_runtime") == "openvino"
    if packaged.get("blend") == blend:
        root, what = DATASETS_DIR / slug, f"the packaged {rel(DATASETS_DIR / slug)}"
    else:
        root, what = ROOT, "the project's records (not packaged yet)"
    deep = any((RECORDS_ROOT / run / "labels.json").is_file() for run in summary["runs"])
    return Target(blend, blend, root, cfg, deep, onnx, openvino, timing_device(args, onnx, first_run),
                  f"predict_blend.py of {what}, {len(summary['runs'])} runs{engine(onnx, openvino)}")


def engine(onnx, openvino):
    return " (ONNX in OpenVINO)" if openvino else " (ONNX)" if onnx else ""


def read_config(record):
    return yaml.safe_load((record / "config.yml").read_text(encoding="utf-8"))


def timing_device(args, onnx, config_dir):
    """Give where to time: the notebook's device (ONNX Runtime always on the CPU), or the CPU when this machine has
    no GPU (said, as the estimate is then high)."""
    device = "cpu" if onnx else args.device or ("cuda" if notebook_gpu(False, config_dir) else "cpu")
    if device.startswith("cuda") and not shutil.which("nvidia-smi"):
        print("note: the notebook runs on a GPU, this machine has none: timed on the CPU, so the estimate is "
              "high (give --device cpu to say so, or set submit.device: cpu in project.yml).")
        device = "cpu"
    return device


def predict_command(target, sample, files, folder):
    """Give the command that predicts `sample` as the notebook would, writing into `folder` (for a blend, also the
    sample submission it fills in, beside `sample`)."""
    out = folder / f"out_{sample.parent.name}_{sample.name}.csv"
    if target.blend:
        command = [sys.executable, str(target.root / "scripts" / "predict_blend.py"), target.blend, "--test",
                   str(sample), "--sample", str(write_sample_submission(target.cfg, sample)), "--out", str(out)]
        # predict_blend.py has no --device: a deep run picks CUDA when it sees one (kaggle_probe hides it for cpu)
        return command + runtime_options(target) + (["--files", str(files)] if target.deep else [])
    command = [sys.executable, str(target.root / "src" / "predict.py"), "--run-dir", str(target.root), "--test",
               str(sample), "--raw-out", str(out), *runtime_options(target)]
    return command + (["--device", target.device, "--files", str(files)] if target.deep else [])


def runtime_options(target):
    return [*(["--onnx"] if target.onnx else []), *(["--openvino"] if target.openvino else [])]


def write_sample_submission(cfg, sample):
    """Write the sample submission of a test sample beside it: its ids, with the competition sample's other columns
    (predict_blend.py fills in a sample that holds exactly the test file's ids); give its path."""
    import pandas as pd

    spec = cfg["data"]
    competition = read_table(data_dir(spec) / spec["sample_submission"], spec["id"])
    ids = read_table(sample, spec["id"])[spec["id"]]
    layout = pd.DataFrame({column: ids.array if column == spec["id"] else competition[column].iloc[:1].repeat(
        len(ids)).array for column in competition.columns})
    path = sample.with_name(f"sample_submission_{sample.stem}.csv")
    layout.to_csv(path, index=False)
    return path
