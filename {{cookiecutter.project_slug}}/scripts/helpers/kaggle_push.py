"""Push a code-competition notebook to Kaggle: `kaggle kernels push`, on the accelerator project.yml chooses.

`kaggle_cli.py notebook --push` and `submit-notebook` push through push_notebook(): a run whose last time probe says
it will not fit is refused (unless --force), the accelerator comes from --accelerator or submit.accelerator (with
warnings for a retired P100 and for bf16 on a GPU without it), and the docker image is pinned when the run's tested
one is known.
"""
import json
import re

import yaml

from .kaggle_auth import run_kaggle_echoed
from .kaggle_probe import check_probe_before_push
from .kaggle_project import parse_run, read_json_file, submit_setting
from .project import RECORDS_ROOT, UserError, rel

GPU_ACCELERATOR = "NvidiaTeslaT4"  # what Kaggle gives a GPU notebook by default ("GPU T4 x2")
NO_BF16 = {"nvidiateslat4": "T4", "nvidiateslap100": "P100"}  # GPUs older than Ampere: no bfloat16


def choose_accelerator(gpu, asked=None):
    """Give the --accelerator of `kaggle kernels push`, or None (the notebook's own enable_gpu decides): --accelerator,
    else project.yml's submit.accelerator; auto is Kaggle's T4 for a notebook on a GPU. Warns about a P100."""
    where = "--accelerator" if asked else "project.yml: submit.accelerator"
    setting = str(asked or submit_setting("accelerator", "auto")).strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", setting):
        raise UserError(f"{where} is {setting!r}. Fix: auto, none, or a Kaggle accelerator name such as "
                        f"{GPU_ACCELERATOR}.")
    if setting.lower() in ("auto", "none") or not gpu:
        if not gpu and setting.lower() not in ("auto", "none"):
            print(f"note: {where} {setting} is not used: this notebook runs on the CPU (submit.device, or ONNX). "
                  "Give --gpu to run it on a GPU.")
        return GPU_ACCELERATOR if gpu and setting.lower() == "auto" else None
    if setting.lower() == "nvidiateslap100":
        print(f"warning: {where} {setting}: Kaggle has retired the P100 (its sessions run on a T4 instead), and "
              "current PyTorch builds no longer run on its Pascal GPU. Fix: auto or NvidiaTeslaT4.")
    return setting


def warn_no_bf16(accelerator, configs):
    """Print a warning for each run whose config asks train.precision bf16 when the accelerator has no bf16."""
    gpu_name = NO_BF16.get((accelerator or "").lower())
    for config_dir in configs if gpu_name else []:
        config = yaml.safe_load((config_dir / "config.yml").read_text(encoding="utf-8")) or {}
        if str((config.get("train") or {}).get("precision")) == "bf16":
            print(f"warning: {rel(config_dir)} asks train.precision: bf16, and the {gpu_name} ({accelerator}) has "
                  "no bf16: predict.py falls back to fp32 there, slower and with more memory. Fix: train it with "
                  "precision auto (fp16 on a T4), or give --accelerator a GPU with bf16.")


def record_configs(record):
    """Give the run record folders whose config.yml the notebook predicts with: the run's, or each run of a blend."""
    blend = read_json_file(record / "blend.json")
    return [RECORDS_ROOT.joinpath(*parse_run(run)) for run in blend["runs"]] if blend else [record]


def pin_docker_image(folder, record):
    """Pin the notebook to the Kaggle docker image the run was tested with, when that is known: provenance.json's
    docker_image, else project.yml's submit.docker_image. Give the image, or None (Kaggle's latest is used)."""
    image = read_json_file(record / "provenance.json").get("docker_image") or submit_setting("docker_image", None)
    if not image:
        return None
    metadata_file = folder / "kernel-metadata.json"
    metadata = dict(read_json_file(metadata_file), docker_image=str(image))  # the key `kaggle kernels push` reads
    metadata_file.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    print(f"docker image pinned: {image}")
    return str(image)


def push_command(folder, accelerator=None):
    return ["kaggle", "kernels", "push", "-p", rel(folder)] + (["--accelerator", accelerator] if accelerator else [])


def push_notebook(built, force, asked_accelerator=None):
    """Push the notebook prepare_notebook built (not a run whose last time probe says it will not fit, unless force);
    give (the version number Kaggle gave it or None, the accelerator, the docker image pinned)."""
    check_probe_before_push(built["probe"], force)
    accelerator = choose_accelerator(built["gpu"], asked_accelerator)
    warn_no_bf16(accelerator, record_configs(built["record"]))
    image = pin_docker_image(built["folder"], built["record"])
    printed = run_kaggle_echoed(push_command(built["folder"], accelerator))
    if "Kernel push error" in printed or "not valid" in printed:
        raise UserError(f"Kaggle did not take the notebook as it is (see above). If the dataset is missing, upload it: "
                        f"python scripts/kaggle_cli.py package {built['target']} --upload")
    version = re.search(r"Kernel version (\d+) successfully", printed)
    return (int(version.group(1)) if version else None), accelerator, image
