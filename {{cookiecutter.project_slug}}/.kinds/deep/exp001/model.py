"""How the network learns: the loss per task, the optimizer and learning-rate schedule, EMA, precision, the device.

The same in every deep-learning kind; the network itself (which architecture, its weights, its parameter groups)
is network.py's, the one file a kind changes here.
"""
import contextlib
import functools
import math

import torch

import network
from runner.util import DataError, log


def n_outputs(task, classes):
    """Give the width of the model's last layer: one per class, label or regression target (classes names them)."""
    return len(classes) if task in ("multiclass", "multilabel") or task == "regression" and classes else 1


def pick_device(name):
    """Give the device of model.device: auto is CUDA when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DataError(f"model.device: {name}, but torch sees no CUDA device here. "
                        "Fix: set model.device: auto or cpu.")
    return torch.device(name)


# train.loss: auto picks the usual loss of the task; each name is one function below (deep/checks.py says which fit).
AUTO_LOSS = {"multiclass": "ce", "multilabel": "bce", "binary": "bce", "regression": "mse"}


def make_loss(cfg, class_weights=None):
    """Give loss(out, y) of train.loss on the model's raw outputs; y may be soft (mixup) for every task.

    multiclass y: class codes, or one row of class probabilities per image after mixup/cutmix.
    train.label_smoothing moves that much of each target's weight evenly onto every class (0/1 targets too).
    class_weights (train.class_weights: balanced) weigh each class's examples (multiclass, binary, multilabel).
    """
    task, spec = cfg["task"], cfg["train"]
    name = AUTO_LOSS[task] if spec["loss"] == "auto" else spec["loss"]
    smoothing, gamma = spec["label_smoothing"], spec["focal_gamma"]

    def targets(out, y):  # soft targets the width of out, smoothed
        if task == "multiclass":
            y = y if y.dtype.is_floating_point and y.dim() == 2 else torch.nn.functional.one_hot(y, out.shape[1])
        y = y.float().reshape(out.shape)
        return y * (1 - smoothing) + smoothing / (out.shape[1] if task == "multiclass" else 2)

    def weigh(losses, y):
        """Give the mean loss, each element weighed by its class's weight (train.class_weights)."""
        if class_weights is None:
            return losses.mean()
        w = class_weights.to(losses.device)
        if task == "multiclass":  # a loss per image; y: its class probabilities
            return (losses * (y @ w)).mean()
        if task == "binary":  # w: [negative, positive]
            return (losses * (y * w[1] + (1 - y) * w[0])).mean()
        return (losses * (y * w + (1 - y))).mean()  # multilabel: w per label weighs its positives

    def ce(out, y):
        y = targets(out, y)
        return weigh(-(y * torch.log_softmax(out.float(), dim=1)).sum(1), y)

    def bce(out, y):
        y = targets(out, y)
        return weigh(torch.nn.functional.binary_cross_entropy_with_logits(out.float(), y, reduction="none"), y)

    def focal(out, y):  # Lin et al.: (1 - p_t)^gamma down-weighs the examples already right; gamma 0 is ce / bce
        y = targets(out, y)
        if task == "multiclass":
            log_p = torch.log_softmax(out.float(), dim=1)
            return weigh(-(y * (1 - log_p.exp()) ** gamma * log_p).sum(1), y)
        p = torch.sigmoid(out.float())
        p_t = y * p + (1 - y) * (1 - p)
        return weigh((1 - p_t) ** gamma * torch.nn.functional.binary_cross_entropy_with_logits(
            out.float(), y, reduction="none"), y)

    def mse(out, y):
        return torch.nn.functional.mse_loss(out.float().squeeze(1), y.float())

    def l1(out, y):
        return torch.nn.functional.l1_loss(out.float().squeeze(1), y.float())

    return {"ce": ce, "bce": bce, "focal": focal, "mse": mse, "l1": l1}[name]


def balanced_class_weights(task, y, n_classes):
    """Give train.class_weights: balanced: n / (n_classes * count) per class of the fold's train rows
    (labels: pos/neg)."""
    y = torch.as_tensor(y)
    if task == "multiclass":
        counts = torch.bincount(y.long(), minlength=n_classes).float()
        return len(y) / (n_classes * counts.clamp(min=1))
    positive = y.float().reshape(len(y), -1).mean(0).clamp(1e-6, 1 - 1e-6)  # binary: one column
    if task == "binary":
        return torch.stack([0.5 / (1 - positive[0]), 0.5 / positive[0]])
    return (1 - positive) / positive  # multilabel: each label's positives weigh as much as its negatives


def to_prediction(task, out, target_stats=None):
    """Give the model's raw outputs as predictions: probabilities, P(positive), or values on the target's scale."""
    out = out.float()
    if task == "multiclass":
        return torch.softmax(out, dim=1)
    if task == "multilabel":
        return torch.sigmoid(out)
    if task == "binary":
        return torch.sigmoid(out.squeeze(1))
    mean, std = (torch.as_tensor(v, dtype=out.dtype, device=out.device) for v in target_stats)  # learned scaled
    return (out if out.shape[1] > 1 else out.squeeze(1)) * std + mean  # several targets: a column each


def make_optimizer(cfg, model):
    """Give train.optimizer (adamw, adam or sgd) over the network's parameter groups (network.py), at train.lr."""
    spec = cfg["train"]
    kinds = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam,
             "sgd": lambda p, **kw: torch.optim.SGD(p, momentum=0.9, nesterov=True, **kw)}
    return kinds[spec["optimizer"]](network.param_groups(cfg, model), lr=spec["lr"], weight_decay=spec["weight_decay"])


def make_scheduler(cfg, optimizer, steps_per_epoch, epochs):
    """Give the learning-rate schedule, stepped each optimizer step: linear warmup, then cosine to 0 (or constant)."""
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


class Ema:
    """train.ema: an exponential moving average of the weights that train, which validates and predicts for them.

    After each optimizer step: ema = decay * ema + (1 - decay) * weights. Early on the average would lean on
    the random start, so the decay used is min(decay, (1 + updates) / (10 + updates)), as timm's ModelEmaV3.
    Only what training changes has a shadow: the trainable weights and the buffers a checkpoint keeps (BatchNorm's
    running statistics, averaged; counts, copied). A LoRA run's frozen base never changes, so it is not copied: a
    7B model's shadows are its adapters and head. applied(net) puts the averages into net for validating and saving
    the best checkpoint. state_dict() holds the shadows and the update count, so a resumed run goes on with the same
    average.
    """

    def __init__(self, net, decay):
        self.shadow = {name: t.detach().clone() for name, t in averaged(net)}
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self, net):
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, now in averaged(net):
            ema = self.shadow[name]
            if ema.dtype.is_floating_point:
                ema.mul_(decay).add_(now.detach(), alpha=1 - decay)
            else:
                ema.copy_(now)
        self.updates += 1

    @contextlib.contextmanager
    def applied(self, net):
        """Give net holding the averaged weights for the block, and its own weights back after it (training goes on
        from them)."""
        live = dict(averaged(net))
        own = {name: t.detach().clone() for name, t in live.items()}
        copy_into(live, self.shadow)
        try:
            yield net
        finally:
            copy_into(live, own)

    def state_dict(self):
        return {"shadow": self.shadow, "updates": self.updates}

    def load_state_dict(self, state):
        copy_into(self.shadow, state["shadow"])
        self.updates = state["updates"]


def averaged(net):
    """Give (name, tensor) of what EMA averages: the weights that train and the buffers in net's state_dict."""
    buffers = {name for name, _ in net.named_buffers()}
    return [(name, t) for name, t in net.state_dict(keep_vars=True).items() if t.requires_grad or name in buffers]


@torch.no_grad()
def copy_into(tensors, values):
    """Copy values[name] into each of `tensors` ({name: tensor}), in place."""
    for name, tensor in tensors.items():
        tensor.copy_(values[name])


def pick_precision(cfg, device):
    """Give (autocast dtype or None for fp32, whether a GradScaler is needed) for train.precision on `device`.

    auto: bf16 on a GPU that has it, fp16 with a GradScaler on other CUDA GPUs, fp32 on the CPU. fp16 or bf16
    asked for where it cannot run (the CPU; bf16 on a GPU without it) falls back to fp32 and says so once.
    """
    asked = cfg["train"]["precision"]
    cuda = device.type == "cuda"
    bf16 = cuda and torch.cuda.is_bf16_supported()
    if asked == "auto":
        return (torch.bfloat16, False) if bf16 else (torch.float16, True) if cuda else (None, False)
    if asked == "fp16" and cuda:
        return torch.float16, True
    if asked == "bf16" and bf16:
        return torch.bfloat16, False
    if asked != "fp32":
        tell_once(f"  train.precision {asked}: not available on "
                  f"{device.type}{' (no bf16 on this GPU)' if cuda else ''}, so fp32")
    return None, False


@functools.lru_cache(maxsize=None)
def tell_once(message):
    log.info(message)


def prepare_model(cfg, net, device):
    """Give the model on `device`, channels_last (train.channels_last) when asked."""
    net = net.to(device)
    if cfg["train"].get("channels_last"):  # a kind without the key (text) has no image-like tensors
        net = net.to(memory_format=torch.channels_last)  # faster convolutions on recent GPUs with AMP
    return net


def compiled(cfg, net):
    """Give what the training steps call: `net` compiled by torch.compile when train.compile is on, else `net`.

    Only the steps go through it: checkpoints, EMA and predictions keep the plain module, whose weights it shares,
    so a saved state_dict loads into a model built without compiling (no '_orig_mod.' in its names).
    """
    return torch.compile(net) if cfg["train"]["compile"] else net  # minutes of compiling, faster epochs
