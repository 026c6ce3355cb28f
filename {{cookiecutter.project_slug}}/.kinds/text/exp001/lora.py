"""LoRA: adapters trained over a frozen base model, what a fold checkpoint keeps of them, and the base found again.

A LoRA run over pretrained weights (model.lora with model.pretrained: true) keeps in each fold checkpoint only the
weights that trained (the adapters and the head), because a Kaggler fine-tuning a 7B model cannot store a copy of it
per fold. The record's model/base.json says which base they go on: its folder (model.name), its Kaggle source
(model.kaggle_source) and a fingerprint of its weight files, by which predict.py finds it again wherever it is
(a Kaggle notebook mounts it somewhere under /kaggle/input/). model.lora.merge (true by default) folds each fold's
adapters into the base weights before predicting, so inference runs plain layers; false keeps them apart.
"""
import hashlib
import json
from pathlib import Path

import torch

from deep import checkpoints
from runner.util import ConfigError, DataError

BASE_FILE = "base.json"  # in the record's model/, beside the tokenizer and config.json
WEIGHT_FILES = ("*.safetensors", "*.bin")
SAMPLES = 64  # slices read through each weight file: the whole of a 7B model would take a minute to hash


def with_lora(backbone, lora):
    """Give `backbone` with LoRA adapters on lora.target_modules; its own weights frozen (the head always trains)."""
    from peft import LoraConfig, get_peft_model

    try:
        return get_peft_model(backbone, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                                                   target_modules=lora["target_modules"]))
    except ValueError as e:  # a module name the model does not have
        names = sorted({name.split(".")[-1] for name, m in backbone.named_modules()
                        if isinstance(m, torch.nn.Linear)})
        raise ConfigError(f"model.lora.target_modules {lora['target_modules']} ({str(e)[:200]}). Fix: name some of "
                          f"the model's linear layers: {', '.join(names)}.") from None


def adapters_only(cfg):
    """Tell whether fold checkpoints keep only what trained. Over random weights (model.pretrained: false) the frozen
    rest exists nowhere else, so those checkpoints stay whole."""
    return bool(cfg["model"]["lora"]) and cfg["model"]["pretrained"] is True


def kept_weights(cfg, net):
    """Give the names of the weights a fold checkpoint keeps: the trainable ones of a LoRA run, else None (all)."""
    if not adapters_only(cfg):
        return None
    return sorted(name for name, p in net.named_parameters() if p.requires_grad)


def write_base(cfg, source, model_dir):
    """Write model_dir/base.json: the base a LoRA run's checkpoints go on, for predict.py and the notebook."""
    if not adapters_only(cfg):
        return
    found = fingerprint(Path(source))
    if found is None:
        raise DataError(f"model.name {cfg['model']['name']!r} holds no weight files (*.safetensors, *.bin), but "
                        "model.pretrained: true reads them. Fix: give the folder that holds the model's weights.")
    base = {"name": cfg["model"]["name"], "kaggle_source": cfg["model"]["kaggle_source"], "fingerprint": found}
    (model_dir / BASE_FILE).write_text(json.dumps(base, indent=2) + "\n", encoding="utf-8")


def fingerprint(folder):
    """Give a digest of the weight files in `folder` (names, sizes, slices read through each), or None without any.

    A copy of the base gives the same digest wherever it is; another model, or a fine-tune of the same one, another.
    """
    files = sorted(path for pattern in WEIGHT_FILES for path in folder.glob(pattern))
    if not files:
        return None
    digest = hashlib.blake2b(digest_size=12)
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.name}:{size};".encode())
        with open(path, "rb") as f:
            for k in range(SAMPLES):
                f.seek(size * k // SAMPLES)
                digest.update(f.read(4096))
    return digest.hexdigest()


def base_folder(model_dir, given, root, depth=6):
    """Give the folder of the base model_dir/base.json names: the first holding weights of its fingerprint in `given`
    (predict.py --base-model: the folder, or one above it, e.g. /kaggle/input) or else model.name's folder (from
    `root`, the project's: a record's own code cannot tell where the project is)."""
    base = json.loads((model_dir / BASE_FILE).read_text(encoding="utf-8"))
    name = Path(base["name"])
    place = Path(given) if given else name if name.is_absolute() else root / name
    below = [config.parent for d in range(1, depth + 1) for config in sorted(place.glob("*/" * d + "config.json"))]
    looked = []
    for folder in [place, *below] if (place / "config.json").is_file() else below:
        if fingerprint(folder) == base["fingerprint"]:
            return folder
        looked.append(str(folder))
    source = f" (Kaggle: {base['kaggle_source']})" if base["kaggle_source"] else ""
    seen = f"other weights in {', '.join(looked[:5])}" if looked else "no model folder"
    raise DataError(f"the base model this LoRA run's adapters go on, {base['name']}{source}, is not in {place} "
                    f"({seen}). Fix: give its folder with --base-model PATH; in a Kaggle notebook, add it as an input "
                    "(model.kaggle_source lists it in the notebook's metadata).")


def load_fold(cfg, net, checkpoint):
    """Load a fold checkpoint into net (every weight, or the adapters and head over the base); with model.lora.merge
    (the default) the adapters are then folded into the base weights, and taken out again before the next fold."""
    lora = cfg["model"]["lora"]
    merged = lora and any(getattr(m, "merged", False) for m in net.backbone.modules())
    if merged:
        net.backbone.unmerge_adapter()  # W - BA with the last fold's adapters: the base is the base again
    checkpoints.load_weights(net, checkpoint)
    if lora and lora.get("merge", True):
        net.backbone.merge_adapter()
