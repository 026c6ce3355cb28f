"""The network: a Hugging Face transformer (an encoder such as DeBERTa or ModernBERT, or a causal LM such as Qwen),
its token states pooled into one vector per text, and a linear head for the task; LoRA adapters when asked.

model.name is the folder of a Hugging Face model (config.json, the tokenizer's files, and with model.pretrained: true
its weights): a Kaggle dataset or Model, relative to the project root, so runs and notebooks need no internet. A hub
name (microsoft/deberta-v3-small) works only where the hub can be reached. model.pretrained: false builds the model
from config.json with random weights (the example, tests). model.params are set on the model's config
(hidden_dropout_prob, ...). What the lab asks of this file: check_model before training, create_model, param_groups,
keep_for_predict, kept_weights (what a fold checkpoint holds), predict_model and load_fold (predict.py). LoRA's
adapters, and the base model a LoRA run's checkpoints go on, are lora.py's.
"""
import functools
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch

import lora as lora_io
from runner.util import ROOT, ConfigError, DataError, log

POOLINGS = ("cls", "mean", "last")  # last: the last real token, what a causal LM has read the whole text by


def model_source(cfg):
    """Give model.name as a local folder (str) when it is one under the project root, else the name as given."""
    name = cfg["model"]["name"]
    folder = Path(name) if Path(name).is_absolute() else ROOT / name
    return str(folder) if folder.is_dir() else name


def check_model(cfg, n_out):
    """Raise ConfigError or DataError, before any training, unless model.name gives a config, a tokenizer and, with
    LoRA, the modules it names."""
    source = model_source(cfg)
    if not Path(source).is_dir() and (re.match(r"^[.~/]|.*[\\]", source) or source.count("/") != 1):
        raise DataError(f"model.name {source!r}: no such folder under the project root. Fix: attach the model (a "
                        "Kaggle dataset or Model) and give its folder, e.g. data/input/deberta-v3-small.")
    if not Path(source).is_dir() and not hub_reachable():
        go_offline()  # a copy in the local cache still works; the rest fails at once, not after a minute of retries
    try:
        load_tokenizer(cfg)
        config = model_config(cfg)
    except OSError as e:  # a folder without config.json, or a hub name with no internet
        raise DataError(f"model.name {cfg['model']['name']!r} cannot be read by transformers ({str(e)[:300]}). Fix: "
                        "give a folder holding config.json and the tokenizer's files (tokenizer.json, ...); without "
                        "internet, a hub name cannot be downloaded.") from None
    with torch.device("meta"):  # the shapes alone, no memory: LoRA's target_modules checked on a 7B model too
        build(cfg, config, n_out, pretrained=False)


def hub_reachable(timeout=5):
    """Tell whether the Hugging Face hub answers on its port within `timeout` seconds (one try, no retries)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def go_offline():
    """Make transformers read its local cache without asking the network (the hub library reads this when imported,
    so its constant is set too)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True
    except ImportError:
        pass


def model_config(cfg):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_source(cfg))
    for key, value in (cfg["model"]["params"] or {}).items():
        if not hasattr(config, key):
            raise ConfigError(f"model.params: {key!r} is not a setting of {config.model_type}'s config. Fix: remove "
                              f"it, or use one config.json holds (e.g. hidden_dropout_prob).")
        setattr(config, key, value)
    return config


@functools.lru_cache(maxsize=None)
def _tokenizer(source):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source)


def load_tokenizer(cfg):
    """Give model.name's tokenizer (read once per process)."""
    return _tokenizer(model_source(cfg))


def keep_for_predict(cfg, run_dir):
    """Keep model.name's config and tokenizer in the record (run_dir/model/; no weights: the fold checkpoints hold
    every one, or with LoRA over pretrained weights the adapters and head, and model/base.json names their base),
    so predict.py and a Kaggle notebook rebuild the network from the record (and that base) alone."""
    load_tokenizer(cfg).save_pretrained(run_dir / "model")
    model_config(cfg).save_pretrained(run_dir / "model")
    lora_io.write_base(cfg, model_source(cfg), run_dir / "model")


def kept_weights(cfg, net):
    """Give the names of the weights a fold checkpoint keeps, or None for all (lora.py says which)."""
    return lora_io.kept_weights(cfg, net)


def predict_model(cfg, run_dir, n_out, base_model=None, root=None):
    """Give the network predict.py loads each fold into, from the record's model/ (model.name points there): the
    architecture alone, or for checkpoints holding only LoRA's adapters, the base's weights (found by lora.py in
    base_model, predict.py --base-model, else at the run's model.name from `root`, the project's)."""
    if not (run_dir / "model" / lora_io.BASE_FILE).is_file():
        return build(cfg, model_config(cfg), n_out, pretrained=False)
    folder = lora_io.base_folder(run_dir / "model", base_model, root or ROOT)
    log.info(f"  base model: {folder}")
    return build(cfg, model_config(cfg), n_out, pretrained=True, source=folder)


def load_fold(cfg, net, checkpoint):
    """Load a fold checkpoint into net for predicting (LoRA's adapters merged or not: lora.py)."""
    lora_io.load_fold(cfg, net, checkpoint)


def create_model(cfg, n_out):
    """Give the transformer of model.name with a pooling and a head of n_out outputs (LoRA adapters: model.lora)."""
    pretrained = cfg["model"]["pretrained"] is True
    return build(cfg, model_config(cfg), n_out, pretrained)


def build(cfg, config, n_out, pretrained, source=None):
    from transformers import AutoModel

    backbone = (AutoModel.from_pretrained(source or model_source(cfg), config=config) if pretrained
                else AutoModel.from_config(config))
    if cfg["train"]["gradient_checkpointing"]:
        backbone.gradient_checkpointing_enable()  # recompute activations in backward: less memory, slower steps
    lora = cfg["model"]["lora"]
    if lora:
        backbone = lora_io.with_lora(backbone, lora)
    return TextNet(backbone, config.hidden_size, n_out, cfg["model"]["pooling"])


class TextNet(torch.nn.Module):
    """A transformer, a pooling of its last hidden states over the real (unpadded) tokens, and a linear head."""

    def __init__(self, backbone, width, n_out, pooling):
        super().__init__()
        self.backbone, self.pooling = backbone, pooling
        self.head = torch.nn.Linear(width, n_out)

    def forward(self, batch):
        mask = batch["attention_mask"]
        states = self.backbone(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state
        if self.pooling == "cls":
            pooled = states[:, 0]
        elif self.pooling == "last":  # batches are padded on the right: the last real token of each row
            pooled = states[torch.arange(len(states), device=states.device), mask.sum(1) - 1]
        else:
            weights = mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1)
        return self.head(pooled.float())


def param_groups(cfg, net):
    """Give the trainable weights in groups: with train.layer_decay d below 1, layer i of n learns at lr * d^(n - i)
    (the embeddings at lr * d^(n + 1), the head at lr): the layers near the input, already general, move least."""
    lr, decay = cfg["train"]["lr"], cfg["train"]["layer_decay"]
    named = [(name, p) for name, p in net.named_parameters() if p.requires_grad]
    if decay == 1:
        return [p for _, p in named]
    depths = [layer_of(name) for name, _ in named]
    n = max([d for d in depths if d is not None] + [0]) + 1
    groups = {}
    for (name, p), depth in zip(named, depths):
        if depth is not None:
            factor = decay ** (n - depth)
        else:  # the embeddings learn slowest; the head and what follows the last layer (a final norm) at lr
            factor = decay ** (n + 1) if "embed" in name else 1.0
        groups.setdefault(factor, []).append(p)
    return [{"params": params, "lr": lr * factor} for factor, params in sorted(groups.items())]


def layer_of(name):
    """Give the index of the transformer layer a weight belongs to (…layer.3… or …layers.3…), or None."""
    found = re.search(r"\.layers?\.(\d+)\.", name)
    return int(found.group(1)) if found else None
