"""What would stop a run only once its first fold starts, tried before any training: the model's params, its weights.

train.check_before_training calls check_model_settings once per run. Each problem is one message:
a model.params key the constructor refuses, a weights file torch will not unpickle safely, and
model.pretrained: true where the Hugging Face hub cannot be reached and nothing is cached.
"""
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

from runner.util import ConfigError, DataError, notice, rel

HUB_TIMEOUT_SECONDS = 5  # one short try: without internet, the hub's own retries took 47 s inside the run


def check_model_settings(cfg, n_out, weights_file):
    """Raise ConfigError or DataError for model.params, the weights file (when given) or an unreachable hub."""
    check_params(cfg, n_out)
    if weights_file is not None:
        check_weights_file(weights_file)
    elif cfg["model"]["pretrained"] is True:
        check_hub(cfg["model"]["name"])


def check_params(cfg, n_out):
    """Build the model once on the CPU, without weights, so a model.params key its constructor refuses is named."""
    import timm

    name, params = cfg["model"]["name"], cfg["model"]["params"] or {}
    try:
        timm.create_model(name, pretrained=False, num_classes=n_out, **params)
    except TypeError as e:
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(e))
        if not unknown:
            raise
        raise ConfigError(f"model.params: {unknown.group(1)!r} is not a parameter of {name} ({e}). Fix: remove it, "
                          "or use one the model takes (drop_rate, drop_path_rate, ... : see the model's class in timm)."
                          ) from None
    except (ValueError, AssertionError) as e:  # a value the model cannot be built with, e.g. an odd img_size
        raise ConfigError(f"model.params {params} cannot build {name} ({type(e).__name__}: {e}). "
                          "Fix: change or remove that value.") from None


def check_weights_file(path):
    """Raise DataError unless torch reads the file at `path` as tensors only (weights_only), as a safe load must."""
    if path.suffix == ".safetensors":  # tensors only, by the format itself
        return
    import pickle

    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError) as e:
        if "weights_only" not in str(e) and "Weights only" not in str(e):
            raise DataError(f"model.pretrained: {rel(path)} cannot be read as torch weights ({type(e).__name__}: "
                            f"{str(e)[:200]}). Fix: give a .pth, .bin or .safetensors file of weights.") from None
        raise DataError(
            f"model.pretrained: {rel(path)} holds pickled Python objects besides tensors (a whole model saved with "
            "torch.save(model), or a checkpoint with an optimizer or numpy values), which torch refuses to load "
            "because unpickling can run code. Fix: where you trust the file, load it and save only the weights: "
            "torch.save(model.state_dict(), 'weights.pth'), then give that file.") from None


def check_hub(name):
    """Raise DataError when model.pretrained: true needs the hub, which cannot be reached, and nothing is cached.

    With a cached copy and no hub, the run goes offline at once (HF_HUB_OFFLINE), instead of retrying the hub.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return  # offline by choice: the hub library reads its cache and says so itself when the weights are not there
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        socket.create_connection((endpoint.hostname, port), timeout=HUB_TIMEOUT_SECONDS).close()
        return
    except OSError as e:
        reason = f"{type(e).__name__}: {e}"
    if cached_weights(name):
        go_offline()
        notice(f"model.pretrained: true: the Hugging Face hub cannot be reached ({reason}); using the cached weights "
               f"of {name}.")
        return
    raise DataError(
        f"model.pretrained: true, but the Hugging Face hub ({endpoint.geturl()}) cannot be reached ({reason}) and no "
        f"weights of {name} are cached. Fix: download them once where there is internet and give their file, "
        "model.pretrained: path/to/weights.safetensors (relative to the project root; on Kaggle attach them as a "
        "dataset), or train from scratch with model.pretrained: null.")


def cached_weights(name):
    """Give the path of timm's weights for `name` in the local Hugging Face cache, or None."""
    try:
        from huggingface_hub import try_to_load_from_cache
        from timm.models import get_pretrained_cfg

        repo = get_pretrained_cfg(name).hf_hub_id
    except Exception:  # no hub library, a model without hub weights, a name timm cannot resolve: not cached
        return None
    for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"):
        found = repo and try_to_load_from_cache(repo, filename)
        if isinstance(found, str) and Path(found).is_file():
            return found
    return None


def go_offline():
    """Make the hub library read its cache without asking the network (it reads the variable when imported)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True
    except ImportError:
        pass
