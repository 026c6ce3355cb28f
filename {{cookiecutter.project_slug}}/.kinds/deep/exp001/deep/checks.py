"""check_config: every value of config.yml and of each run checked before any training (the runner calls it).

The checks are one table, KEYS: the rows every deep-learning kind shares, here, and the kind's own (its data
paths, input, augmentations, TTA) from config_keys.py. A row per key says what its value must be and how to fix
it, and, for a knob, the value that turns it off (what a key added to config.yml may hold without making finished runs
stale: neutral_values). A new key is one row. The few rules that tie two keys together follow the table.
Quick on purpose (no torch, no timm): `exp.py --list` and `--dry-run` call it for every run. Whether
model.name is a timm model is checked before training, in train.check_before_training.
"""
import config_keys
from deep.values import NO_OFF, boolean, null_or, number, one_of, whole
from metrics import METRICS
from runner.util import ConfigError

TASKS = ("binary", "multiclass", "multilabel", "regression")
SCHEMES = ("kfold", "stratified", "group", "stratified_group")
LOSSES = ("auto", "ce", "bce", "focal", "mse", "l1")
LOSSES_OF_TASK = {"multiclass": ("ce", "focal"), "multilabel": ("bce", "focal"), "binary": ("bce", "focal"),
                  "regression": ("mse", "l1")}  # the losses model.make_loss gives each task
# (dotted key, what its value must be, the fix the message gives, the value that turns it off)
KEYS = [
    ("task", one_of(*TASKS), f"one of {', '.join(TASKS)}.", NO_OFF),
    ("dataset.batch_size", whole(), "a whole number of examples (images, clips), e.g. 32.", NO_OFF),
    ("dataset.num_workers", null_or(whole(0)), "null (0 on the CPU, up to 4 beside a GPU), 0 (decode in the main "
                                               "process) or a number of worker processes.", None),
    ("dataset.cache", boolean, "true or false.", NO_OFF),
    ("dataset.sampler", null_or(one_of("balanced")),
     "null (each example once an epoch) or balanced (multiclass, binary).",
     None),
    ("train.epochs", whole(), "a whole number, 1 or more.", NO_OFF),
    ("train.accumulate", whole(), "a whole number, 1 or more.", 1),
    ("debug.epochs", whole(), "a whole number, 1 or more.", NO_OFF),
    ("train.lr", number(above=0), "a positive number, e.g. 0.001.", NO_OFF),
    ("train.weight_decay", number(0), "0 or more.", NO_OFF),
    ("train.warmup_epochs", number(0), "0 or more.", 0),
    ("train.optimizer", one_of("adamw", "adam", "sgd"), "one of adamw, adam, sgd.", NO_OFF),
    ("train.scheduler", one_of("cosine", "none"), "one of cosine, none.", NO_OFF),
    ("train.patience", null_or(whole()), "null (train every epoch) or a number of epochs without a better valid score.",
     None),
    ("train.checkpoint_minutes", null_or(number(0)), "null (a stopped run resumes from its last finished epoch) or "
                                                     "minutes between saves inside an epoch, e.g. 30.", None),
    ("train.loss", one_of(*LOSSES), f"one of {', '.join(LOSSES)} (auto: the task's usual loss).", "auto"),
    ("train.label_smoothing", number(0, 0.999), "a share from 0 (off) to below 1, e.g. 0.1.", 0),
    ("train.focal_gamma", number(0), "0 or more (2 is usual; 0 makes focal the plain ce / bce).", 2.0),
    ("train.class_weights", null_or(one_of("balanced")), "null (every example weighs the same) or balanced.", None),
    ("train.ema", null_or(number(0, high=0.9999999)), "null (off), or a decay below 1, e.g. 0.999.", None),
    ("train.grad_clip", null_or(number(above=0)), "null (off), or the largest total gradient norm, e.g. 1.0.", None),
    ("train.precision", one_of("auto", "fp32", "fp16", "bf16"), "auto, fp32, fp16 or bf16.", "auto"),
    ("train.compile", boolean, "true or false.", False),
    ("train.channels_last", boolean, "true or false.", False),
    ("train.keep_checkpoints", one_of("best", "fp16", "none"), "best (each fold's best weights), fp16 (the same, half "
                                                               "the size) or none (nothing to predict from).", "best"),
    ("model.name", lambda v: isinstance(v, str), "a timm architecture, e.g. resnet18.", NO_OFF),
    ("model.pretrained", lambda v: v is None or isinstance(v, (bool, str)),
     "null, true (timm's weights from the hub), or the path of a weights file.", None),
    ("model.params", lambda v: v is None or isinstance(v, dict), "a section.", NO_OFF),
    ("model.device", lambda v: isinstance(v, str) and (v in ("auto", "cpu", "cuda", "mps") or v.startswith("cuda:")),
     "auto (CUDA when there is one), cpu, cuda or cuda:1.", NO_OFF),
    ("augment.mixup", number(0), "mixup's alpha, 0 (off) or more, e.g. 0.4.", 0),
    ("augment.cutmix", number(0), "cutmix's alpha, 0 (off) or more, e.g. 1.0.", 0),
    ("augment.mix_prob", number(0, 1), "the share of batches mixed, from 0 to 1.", 1.0),
    ("cv.scheme", one_of(*SCHEMES), f"one of {', '.join(SCHEMES)}.", NO_OFF),
    ("cv.n_splits", whole(2), "2 or more.", NO_OFF),
]
# The kind's own rows (data paths, the input, its augmentations, TTA) come after; a kind's row for a shared key
# replaces it, and a shared key the kind's inputs have no use for (config_keys.NOT_USED) is left out.
_OWN = {row[0] for row in config_keys.KEYS} | set(getattr(config_keys, "NOT_USED", ()))
KEYS = [row for row in KEYS if row[0] not in _OWN] + config_keys.KEYS


def check_config(cfg, where):
    """Raise ConfigError for the first value no run could train with, naming the key and the fix."""
    for key, test, fix, _ in KEYS:
        if not test(dig(cfg, key)):
            fail(cfg, where, key, fix)
    for rule in (metric_fits_task, target_fits_task, loss_fits_task, groups_are_named, *config_keys.RULES):
        problem = rule(cfg)
        if problem:
            fail(cfg, where, *problem)


def neutral_values():
    """Give {dotted key: the value that turns the knob off}, for the runner's staleness rule."""
    return {key: off for key, _, _, off in KEYS if off is not NO_OFF}


def fail(cfg, where, key, fix):
    raise ConfigError(f"{where}: {key} is {dig(cfg, key)!r}, which cannot work. Fix: {fix}")


def dig(cfg, dotted):
    value = cfg
    for part in dotted.split("."):
        value = value[part]
    return value


# ---------------------------------------------------------------- rules that tie keys together

def scored_by(task):
    return ", ".join(m for m in METRICS if task in METRICS[m].tasks)


def metric_fits_task(cfg):
    if cfg["metric"] not in METRICS:
        return "metric", f"one of {scored_by(cfg['task'])}, or add yours to metrics.py."
    if cfg["task"] not in METRICS[cfg["metric"]].tasks:
        return "metric", f"task {cfg['task']} is scored by one of {scored_by(cfg['task'])}."


def target_fits_task(cfg):
    target = cfg["data"]["target"]
    one_column_of_labels = "secondary_labels" in cfg["data"]  # the audio kind's: labels named in text (BirdCLEF)
    if cfg["task"] == "multilabel" and not (one_column_of_labels and isinstance(target, str)):
        if not (isinstance(target, list) and target and all(isinstance(t, str) for t in target)):
            return "data.target", ("for multilabel, a list of the 0/1 label columns, e.g. [cat, dog]"
                                   + (", or the label column with data.secondary_labels." if one_column_of_labels
                                      else "."))
    elif cfg["task"] == "regression" and isinstance(target, list):
        if len(target) < 2 or not all(isinstance(t, str) for t in target):
            return "data.target", "one column name, or a list of two or more target columns (several scores)."
    elif not isinstance(target, str):
        return "data.target", "one column name (a list is for task multilabel, or several regression targets)."


def loss_fits_task(cfg):
    loss, task = cfg["train"]["loss"], cfg["task"]
    if loss != "auto" and loss not in LOSSES_OF_TASK[task]:
        return "train.loss", f"auto, or for task {task}: {', '.join(LOSSES_OF_TASK[task])}."
    if cfg["train"]["class_weights"] and task == "regression":
        return "train.class_weights", "null: a regression target has no classes to weigh."
    if cfg["dataset"]["sampler"] and task in ("regression", "multilabel"):
        return "dataset.sampler", f"null: task {task} has no single class per example to balance."


def groups_are_named(cfg):
    if cfg["cv"]["group"] is None and "group" in cfg["cv"]["scheme"]:
        return "cv.group", "the column of the groups, for a group scheme."
