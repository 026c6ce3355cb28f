"""The network: any timm architecture on the kind's input tensor (images, or spectrograms of audio), built for the task.

model.name is any timm architecture (timm.list_models() lists them; test_resnet and test_vit are
tiny ones for tests). model.params go to timm.create_model as they are (drop_rate, drop_path_rate, ...).
model.pretrained: null trains from scratch; a file path loads those weights (the classifier is
replaced to fit the task); true downloads timm's weights from the Hugging Face hub.
What the lab asks of this file: check_model before training, create_model, param_groups for the optimizer,
keep_for_predict, kept_weights (what a fold checkpoint holds), predict_model and load_fold (predict.py).
"""
from pathlib import Path

from deep.checkpoints import load_weights
from deep.model_checks import check_model_settings
from runner.util import ROOT, ConfigError, DataError


def check_model(cfg, n_out):
    """Raise ConfigError or DataError, before any training, for a model.* setting that cannot build the network."""
    check_model_settings(cfg, n_out, weights_file(cfg))


def weights_file(cfg):
    """Raise ConfigError or DataError unless model.name is a timm model and model.pretrained can be had;
    give the file."""
    import timm

    name, pretrained = cfg["model"]["name"], cfg["model"]["pretrained"]
    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('_')[0]}*")[:8]
        raise ConfigError(f"model.name {name!r} is not a timm "
                          f"model{' (close: ' + ', '.join(close) + ')' if close else ''}. Fix: pick one of "
                          "timm.list_models(), e.g. resnet18, efficientnet_b0, convnext_tiny.")
    if pretrained in (None, False, True):
        return None
    path = Path(pretrained) if Path(pretrained).is_absolute() else ROOT / pretrained
    if not path.is_file():
        raise DataError(f"model.pretrained: {pretrained}: file not found. Fix: give the path of a weights file "
                        "(.pth, .bin or .safetensors; relative to the project root), or null.")
    return path


def create_model(cfg, n_out):
    """Give the timm model of model.name with n_out outputs, its weights from model.pretrained; with model.head: sed
    (the audio kind), its classifier replaced by attention over time (deep/heads.py)."""
    net = create_backbone(cfg, n_out)
    if cfg["model"].get("head", "clip") == "sed":  # a kind without the key keeps timm's own head
        from deep.heads import SedHead

        net.reset_classifier(0, "")  # the feature map itself: channels x frequency x time
        net = SedHead(net, net.num_features, n_out)
    return net


def create_backbone(cfg, n_out):
    """Give the timm model of model.name with n_out outputs, its weights from model.pretrained."""
    import timm

    spec = cfg["model"]
    name, pretrained, params = spec["name"], spec["pretrained"], spec["params"] or {}
    path = weights_file(cfg)
    if pretrained in (None, False):
        return timm.create_model(name, pretrained=False, num_classes=n_out, **params)
    if pretrained is True:
        try:
            return timm.create_model(name, pretrained=True, num_classes=n_out, **params)
        except Exception as e:  # offline, no weights for this name, the hub down: all end the same way
            raise DataError(f"model.pretrained: true, but timm could not get the weights of {name} from the Hugging "
                            f"Face hub ({type(e).__name__}: {str(e)[:200]}). Fix: run once with internet access, or "
                            "download the weights and give their file: model.pretrained: "
                            "path/to/weights.pth, or null.") from None
    # timm reads the file as it would the hub's, dropping the classifier when the widths differ.
    return timm.create_model(name, pretrained=True, num_classes=n_out, pretrained_cfg_overlay={"file": str(path)},
                             **params)


def param_groups(cfg, net):
    """Give what the optimizer trains: every weight at train.lr."""
    return net.parameters()


def keep_for_predict(cfg, run_dir):
    """Keep nothing more in the record: timm builds the architecture from model.name alone (config.yml), and the
    fold checkpoints hold every weight. (The text kind keeps its tokenizer and model config here.)"""


def kept_weights(cfg, net):
    """Give None: a fold checkpoint keeps every weight (the text kind's LoRA runs keep only what trains)."""
    return None


def predict_model(cfg, run_dir, n_out, base_model=None, root=None):
    """Give the network predict.py loads each fold into: the architecture alone (no pretrained weights are read)."""
    return create_model({**cfg, "model": {**cfg["model"], "pretrained": None}}, n_out)


def load_fold(cfg, net, checkpoint):
    """Load a fold checkpoint (every weight) into net for predicting."""
    load_weights(net, checkpoint)
