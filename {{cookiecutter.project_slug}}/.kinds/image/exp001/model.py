"""The model, its optimizer and learning-rate schedule, the loss per task, and the device.

model.name is any timm architecture (timm.list_models() lists them; test_resnet and test_vit are
tiny ones for tests). model.params go to timm.create_model as they are (drop_rate, drop_path_rate, ...).
model.pretrained: null trains from scratch; a file path loads those weights (the classifier is
replaced to fit the task); true downloads timm's weights from the Hugging Face hub.
"""
import math
from pathlib import Path

import torch

from runner.util import ROOT, ConfigError, DataError


def n_outputs(task, classes):
    """Give the width of the model's last layer: one per class or label, else one."""
    return len(classes) if task in ("multiclass", "multilabel") else 1


def check_model(cfg):
    """Raise ConfigError or DataError unless model.name is a timm model and model.pretrained can be had; give the file."""
    import timm

    name, pretrained = cfg["model"]["name"], cfg["model"]["pretrained"]
    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('_')[0]}*")[:8]
        raise ConfigError(f"model.name {name!r} is not a timm model{' (close: ' + ', '.join(close) + ')' if close else ''}. "
                          "Fix: pick one of timm.list_models(), e.g. resnet18, efficientnet_b0, convnext_tiny.")
    if pretrained in (None, False, True):
        return None
    path = Path(pretrained) if Path(pretrained).is_absolute() else ROOT / pretrained
    if not path.is_file():
        raise DataError(f"model.pretrained: {pretrained}: file not found. Fix: give the path of a weights file "
                        "(.pth, .bin or .safetensors; relative to the project root), or null.")
    return path


def create_model(cfg, n_out):
    """Give the timm model of model.name with n_out outputs, its weights from model.pretrained."""
    import timm

    spec = cfg["model"]
    name, pretrained, params = spec["name"], spec["pretrained"], spec["params"] or {}
    path = check_model(cfg)
    if pretrained in (None, False):
        return timm.create_model(name, pretrained=False, num_classes=n_out, **params)
    if pretrained is True:
        try:
            return timm.create_model(name, pretrained=True, num_classes=n_out, **params)
        except Exception as e:  # offline, no weights for this name, the hub down: all end the same way
            raise DataError(f"model.pretrained: true, but timm could not get the weights of {name} from the Hugging Face "
                            f"hub ({type(e).__name__}: {str(e)[:200]}). Fix: run once with internet access, or download "
                            "the weights and give their file: model.pretrained: path/to/weights.pth, or null.") from None
    # timm reads the file as it would the hub's, dropping the classifier when the widths differ.
    return timm.create_model(name, pretrained=True, num_classes=n_out, pretrained_cfg_overlay={"file": str(path)}, **params)


def pick_device(name):
    """Give the device of model.device: auto is CUDA when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DataError(f"model.device: {name}, but torch sees no CUDA device here. Fix: set model.device: auto or cpu.")
    return torch.device(name)


def make_loss(task):
    """Give the training loss of the task, on the model's raw outputs."""
    if task == "multiclass":
        return torch.nn.CrossEntropyLoss()
    if task == "regression":
        return lambda out, y: torch.nn.functional.mse_loss(out.squeeze(1), y.float())
    if task == "binary":
        return lambda out, y: torch.nn.functional.binary_cross_entropy_with_logits(out.squeeze(1), y.float())
    return lambda out, y: torch.nn.functional.binary_cross_entropy_with_logits(out, y.float())


def to_prediction(task, out, target_stats=None):
    """Give the model's raw outputs as predictions: probabilities, P(positive), or values on the target's scale."""
    out = out.float()
    if task == "multiclass":
        return torch.softmax(out, dim=1)
    if task == "multilabel":
        return torch.sigmoid(out)
    if task == "binary":
        return torch.sigmoid(out.squeeze(1))
    mean, std = target_stats  # regression learns the standardized target
    return out.squeeze(1) * std + mean


def make_optimizer(cfg, model):
    """Give train.optimizer (adamw, adam or sgd) over the model's weights, at train.lr."""
    spec = cfg["train"]
    kinds = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam,
             "sgd": lambda p, **kw: torch.optim.SGD(p, momentum=0.9, nesterov=True, **kw)}
    return kinds[spec["optimizer"]](model.parameters(), lr=spec["lr"], weight_decay=spec["weight_decay"])


def make_scheduler(cfg, optimizer, steps_per_epoch, epochs):
    """Give the learning-rate schedule, stepped once per optimizer step: linear warmup, then cosine to 0 (or constant)."""
    spec = cfg["train"]
    total = max(1, steps_per_epoch * epochs)
    warmup = min(total - 1, round(spec["warmup_epochs"] * steps_per_epoch))

    def factor(step):
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if spec["scheduler"] == "none":
            return 1.0
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
