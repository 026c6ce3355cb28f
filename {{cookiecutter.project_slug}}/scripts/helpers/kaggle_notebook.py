"""Build the folder of a code-competition notebook: kernel-metadata.json and an inference script.

`python scripts/kaggle_cli.py notebook exp001/run002 [--push]` (or `notebook blend001`) calls build_notebook();
this file only writes files. The notebook runs offline on Kaggle: it reads the competition's files and the
dataset that `kaggle_cli.py package` built, runs the experiment's predict.py on the run record (or, for a
blend, the project's predict_blend.py, shipped in the dataset), and writes /kaggle/working/submission.csv.
It needs no network and installs nothing. A text run with LoRA over a pretrained model needs that base model too:
model.kaggle_source (a Kaggle Model or dataset) is listed as an input, and predict.py finds it under /kaggle/input;
a blend lists the base model of each of its runs.
"""
import json
from pathlib import Path

import yaml

from .kaggle_server import server_script

SCRIPT_NAME = "inference.py"

# find_input of both notebook scripts (this one's and kaggle_server.py's): where Kaggle mounted an input.
FIND_INPUT = '''def find_input(input_dir, name, holding):
    """Give the folder of input_dir named name that holds `holding` (a file or a folder), else the only one that
    holds it (a dataset: /kaggle/input/<slug>/; a Kaggle Model: /kaggle/input/<model>/<framework>/<variation>/<n>/)."""
    if (input_dir / name / holding).exists():
        return input_dir / name
    found = [path.parent for depth in range(1, 5) for path in sorted(input_dir.glob("*/" * depth + holding))]
    named = [folder for folder in found if folder.name == name]
    if named or len(found) == 1:
        return (named or found)[0]
    where = ", ".join(str(f) for f in found) or "nowhere"
    sys.exit(f"error: cannot find {name} in {input_dir} (a folder holding {holding}; found: {where}). "
             f"Fix: add it as an input of this notebook (Add Input), or rebuild the notebook.")
'''

# The script Kaggle runs: standard library only (the experiment's own code predicts). inference_script() fills
# in the __MARKER__ placeholders.
INFERENCE_SCRIPT = '''"""Predict __NAME__ for the code competition __COMPETITION_NAME__, offline
(built by scripts/helpers/kaggle_notebook.py).

Reads /kaggle/input/<competition>/ and /kaggle/input/<dataset>/ (found by their contents when Kaggle mounts
them elsewhere), writes /kaggle/working/submission.csv. Rebuild it with:
    python scripts/kaggle_cli.py notebook __NAME__
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

COMPETITION = __COMPETITION__
DATASET = __DATASET__            # the slug of the dataset made by `kaggle_cli.py package`
SCRIPT = __SCRIPT__              # in the dataset: the experiment's predict.py, or predict_blend.py for a blend
RUN_DIR = __RUN_DIR__            # in the dataset: the run record that predict.py reads (None for a blend)
BLEND = __BLEND__                # the blend that predict_blend.py predicts (None for a run)
ONNX = __ONNX__                  # the run's folds as ONNX (package --onnx): predicted with ONNX Runtime on the CPU
OPENVINO = __OPENVINO__          # those ONNX folds run in OpenVINO's runtime instead (package --onnx --openvino)
TEST_FILE = __TEST_FILE__
SAMPLE_FILE = __SAMPLE_FILE__
PACKAGE_FILE = __PACKAGE_FILE__  # at the top of the dataset


def predict_command(dataset_dir, data_dir, out, input_dir=None):
    """Give the one command that predicts: predict.py on the packaged run record, or predict_blend.py on the blend."""
    # --force: a second run of the notebook in the same session writes over the first one's submission
    # (a predict.py from before --force overwrites without being asked).
    options = ["--force"] if not BLEND and b'"--force"' in (dataset_dir / SCRIPT).read_bytes() else []
    # A text run with LoRA (or a blend holding one) finds its base model (a Kaggle Model or dataset) among the
    # inputs by its weights.
    if b'"--base-model"' in (dataset_dir / SCRIPT).read_bytes():
        options += ["--base-model", str(input_dir or dataset_dir.parent)]
    return [sys.executable, str(dataset_dir / SCRIPT),
            *([BLEND] if BLEND else ["--run-dir", str(dataset_dir / RUN_DIR)]), *options,
            *(["--onnx"] if ONNX else []), *(["--openvino"] if OPENVINO else []),
            "--test", str(data_dir / TEST_FILE),
            "--sample", str(data_dir / SAMPLE_FILE),
            "--out", str(out)]


__FIND_INPUT__


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=Path("/kaggle/input"), help="where Kaggle mounts the inputs")
    parser.add_argument("--working", type=Path, default=Path("/kaggle/working"), help="where the submission goes")
    args, _ = parser.parse_known_args()  # a notebook kernel may add arguments of its own
    data_dir = find_input(args.input, COMPETITION, SAMPLE_FILE)
    dataset_dir = find_input(args.input, DATASET, PACKAGE_FILE)
    out = args.working / "submission.csv"
    command = predict_command(dataset_dir, data_dir, out, args.input)
    # The inputs are read-only: no .pyc beside the code; the experiment reads its data from KAGGLE_EXP_DATA_DIR.
    env = dict(os.environ, KAGGLE_EXP_DATA_DIR=str(data_dir), PYTHONDONTWRITEBYTECODE="1")
    print("$ " + " ".join(command), flush=True)
    code = subprocess.run(command, env=env, cwd=args.working).returncode
    if code != 0:
        sys.exit(f"error: predicting failed (exit code {code}); its message is above.")
    if not out.is_file():
        sys.exit(f"error: predicting wrote no {out}.")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
'''


def kernel_metadata(kernel_id, title, competition, dataset_id, gpu, inputs=None):
    """Give kernel-metadata.json for `kaggle kernels push`: a private script, internet off, optional GPU; inputs
    (model_inputs) adds a base model's Kaggle Model or dataset."""
    inputs = inputs or {}
    return {
        "id": kernel_id,
        "title": title,
        "code_file": SCRIPT_NAME,
        "language": "python",
        "kernel_type": "script",
        "is_private": True,
        "enable_gpu": bool(gpu),
        "enable_tpu": False,
        "enable_internet": False,  # code competitions refuse notebooks with internet on
        "dataset_sources": [*([] if inputs.get("package_in_a_model") else [dataset_id]),
                            *inputs.get("dataset_sources", [])],
        "competition_sources": [competition],
        "kernel_sources": [],
        "model_sources": inputs.get("model_sources", []),
    }


def model_inputs(*records):
    """Give the notebook's inputs for the base models of runs (`records`: their folders; a blend's: each of its runs),
    each source once: {"model_sources": [...]} for a model.kaggle_source naming a Kaggle Model, {"dataset_sources":
    [...]} for a dataset, {} without one."""
    inputs = {}
    for record in records:
        for key, sources in run_model_inputs(record).items():
            inputs.setdefault(key, []).extend(s for s in sources if s not in inputs[key])
    return inputs


def run_model_inputs(record):
    """Give the notebook's inputs for the base model of a run (`record`: its folder): {"model_sources": [...]} for
    model.kaggle_source naming a Kaggle Model (owner/model/framework/variation/version), {"dataset_sources": [...]}
    for a dataset (owner/slug), {} without one. A LoRA run whose checkpoints need their base and that names none
    is told how to add it."""
    config = yaml.safe_load((record / "config.yml").read_text(encoding="utf-8")) or {}
    source = (config.get("model") or {}).get("kaggle_source") if isinstance(config.get("model"), dict) else None
    if source:
        return {"model_sources" if source.count("/") == 4 else "dataset_sources": [source]}
    if (record / "model" / "base.json").is_file():
        name = json.loads((record / "model" / "base.json").read_text(encoding="utf-8"))["name"]
        print(f"note: {record.name}'s checkpoints hold only its LoRA adapters and head, so the notebook needs its "
              f"base model ({name}) as an input. Fix: set model.kaggle_source in its config (a Kaggle Model or "
              "dataset) and build the notebook again, or add the model as an input on Kaggle (Add Input).")
    return {}


def inference_script(competition, dataset_slug, name, predicts, test_file, sample_file, package_file):
    """Give the text of the inference script for a run or a blend (values written as Python literals, through JSON).

    predicts: {"script": path in the dataset, "run_dir": the run's folder in it, "onnx": predicted with ONNX,
    "openvino": in OpenVINO's runtime} for a run, {"script", "blend", "onnx", "openvino"} for a blend.
    """
    values = {"__COMPETITION__": competition, "__DATASET__": dataset_slug, "__SCRIPT__": predicts["script"],
              "__RUN_DIR__": predicts.get("run_dir"), "__BLEND__": predicts.get("blend"),
              "__ONNX__": bool(predicts.get("onnx")), "__OPENVINO__": bool(predicts.get("openvino")),
              "__TEST_FILE__": test_file, "__SAMPLE_FILE__": sample_file, "__PACKAGE_FILE__": package_file}
    text = INFERENCE_SCRIPT.replace("__FIND_INPUT__", FIND_INPUT)
    text = text.replace("__NAME__", name).replace("__COMPETITION_NAME__", competition)
    for marker, value in values.items():
        # JSON null is no Python literal; None is.
        text = text.replace(marker, "None" if value is None else repr(value) if isinstance(value, bool)
                            else json.dumps(value))
    return text


def build_notebook(folder, *, kernel_id, title, competition, dataset_id, name, predicts, test_file, sample_file,
                   package_file, gpu=False, built_from=None, inputs=None, server=False):
    """Write the notebook folder (kernel-metadata.json, the inference script, built_from.json); give its path.
    server: a script that serves the run to the competition's evaluation gateway instead (kaggle_server.py)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dataset_slug = dataset_id.split("/", 1)[1]
    script = (server_script(competition, dataset_slug, name, predicts, package_file, FIND_INPUT) if server else
              inference_script(competition, dataset_slug, name, predicts, test_file, sample_file, package_file))
    files = {
        "kernel-metadata.json": kernel_metadata(kernel_id, title, competition, dataset_id, gpu, inputs),
        SCRIPT_NAME: script,
        # Not uploaded (push sends only code_file): lets `submit --kernel` name the run or blend in its message.
        "built_from.json": dict(built_from or {}, name=name),
    }
    for filename, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
        (folder / filename).write_text(text, encoding="utf-8")
    return folder


def test_input(data):
    """Give what the notebook hands predict.py as --test: the test table, or (an audio run with data.test: null) the
    folder of the test recordings, where Kaggle puts the hidden ones (test_soundscapes/)."""
    if data.get("test", "test.csv") is None and data.get("test_audio"):
        return str(Path(data["test_audio"]).parent)
    return data.get("test", "test.csv")
