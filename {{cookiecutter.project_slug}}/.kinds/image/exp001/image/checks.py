"""check_config: every value of config.yml and of each run checked before any training (the runner calls it).

Quick on purpose (no torch, no timm): `exp.py --list` and `--dry-run` call it for every run. Whether
model.name is a timm model is checked before training, in train.check_before_training.
"""
from metrics import METRICS
from runner.util import ConfigError

TASKS = ("binary", "multiclass", "multilabel", "regression")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("cosine", "none")
SCHEMES = ("kfold", "stratified", "group", "stratified_group")


def check_config(cfg, where):
    """Raise ConfigError for the first value no run could train with, naming the key and the fix."""
    task, metric = cfg["task"], cfg["metric"]

    def need(ok, key, fix):
        if not ok:
            value = dig(cfg, key)
            raise ConfigError(f"{where}: {key} is {value!r}, which cannot work. Fix: {fix}")

    need(task in TASKS, "task", f"one of {', '.join(TASKS)}.")
    need(metric in METRICS, "metric", f"one of {', '.join(m for m in METRICS if task in METRICS[m].tasks)}, "
                                      "or add yours to metrics.py.")
    need(task in METRICS[metric].tasks, "metric", f"task {task} is scored by one of "
                                                  f"{', '.join(m for m in METRICS if task in METRICS[m].tasks)}.")
    target = cfg["data"]["target"]
    if task == "multilabel":
        need(isinstance(target, list) and target and all(isinstance(t, str) for t in target), "data.target",
             "for multilabel, a list of the 0/1 label columns, e.g. [cat, dog].")
    else:
        need(isinstance(target, str), "data.target", f"one column name (a list is for task multilabel).")
    for key in ("data.image", "data.test_image"):
        need(isinstance(dig(cfg, key), str) and "{" in dig(cfg, key), key,
             "a path pattern relative to data.dir with a column in braces, e.g. train_images/{id}.png.")
    size = cfg["image"]["size"]
    need(positive_int(size) or (isinstance(size, list) and len(size) == 2 and all(map(positive_int, size))),
         "image.size", "a number of pixels (224), or [height, width].")
    for key in ("image.mean", "image.std"):
        need(isinstance(dig(cfg, key), list) and len(dig(cfg, key)) == 3, key, "three numbers, one per channel (RGB).")
    need(positive_int(cfg["dataset"]["batch_size"]), "dataset.batch_size", "a whole number of images, e.g. 32.")
    workers = cfg["dataset"]["num_workers"]
    need(workers is None or (isinstance(workers, int) and not isinstance(workers, bool) and workers >= 0), "dataset.num_workers",
         "null (0 on the CPU, up to 4 beside a GPU), 0 (decode in the main process) or a number of worker processes.")
    need(isinstance(cfg["dataset"]["cache"], bool), "dataset.cache", "true or false.")
    for key in ("train.epochs", "train.accumulate", "debug.epochs"):
        need(positive_int(dig(cfg, key)), key, "a whole number, 1 or more.")
    need(number(cfg["train"]["lr"]) and cfg["train"]["lr"] > 0, "train.lr", "a positive number, e.g. 0.001.")
    need(number(cfg["train"]["weight_decay"]) and cfg["train"]["weight_decay"] >= 0, "train.weight_decay", "0 or more.")
    need(number(cfg["train"]["warmup_epochs"]) and cfg["train"]["warmup_epochs"] >= 0, "train.warmup_epochs", "0 or more.")
    need(cfg["train"]["optimizer"] in OPTIMIZERS, "train.optimizer", f"one of {', '.join(OPTIMIZERS)}.")
    need(cfg["train"]["scheduler"] in SCHEDULERS, "train.scheduler", f"one of {', '.join(SCHEDULERS)}.")
    need(cfg["train"]["patience"] is None or positive_int(cfg["train"]["patience"]), "train.patience",
         "null (train every epoch) or a number of epochs without a better valid score.")
    minutes = cfg["train"]["checkpoint_minutes"]
    need(minutes is None or (number(minutes) and minutes >= 0), "train.checkpoint_minutes",
         "null (a stopped run resumes from its last finished epoch) or minutes between saves inside an epoch, e.g. 30.")
    need(isinstance(cfg["train"]["amp"], bool), "train.amp", "true or false (used on CUDA only).")
    need(isinstance(cfg["model"]["name"], str), "model.name", "a timm architecture, e.g. resnet18.")
    need(cfg["model"]["pretrained"] is None or isinstance(cfg["model"]["pretrained"], (bool, str)), "model.pretrained",
         "null, true (timm's weights from the hub), or the path of a weights file.")
    need(cfg["model"]["params"] is None or isinstance(cfg["model"]["params"], dict), "model.params", "a section.")
    device = cfg["model"]["device"]
    need(isinstance(device, str) and (device in ("auto", "cpu", "cuda", "mps") or device.startswith("cuda:")),
         "model.device", "auto (CUDA when there is one), cpu, cuda or cuda:1.")
    for key in ("augment.hflip", "augment.vflip"):
        need(number(dig(cfg, key)) and 0 <= dig(cfg, key) <= 1, key, "a probability from 0 (off) to 1.")
    crop = cfg["augment"]["random_resized_crop"]
    need(crop is None or (isinstance(crop, list) and len(crop) == 2 and all(map(number, crop)) and 0 < crop[0] <= crop[1] <= 1),
         "augment.random_resized_crop", "null, or the [smallest, largest] share of the image to crop, e.g. [0.8, 1.0].")
    for key in ("tta.hflip", "tta.vflip"):
        need(isinstance(dig(cfg, key), bool), key, "true or false.")
    cv = cfg["cv"]
    need(cv["scheme"] in SCHEMES, "cv.scheme", f"one of {', '.join(SCHEMES)}.")
    need(isinstance(cv["n_splits"], int) and cv["n_splits"] >= 2, "cv.n_splits", "2 or more.")
    need(cv["group"] is not None or "group" not in cv["scheme"], "cv.group", "the column of the groups, for a group scheme.")


def dig(cfg, dotted):
    value = cfg
    for part in dotted.split("."):
        value = value[part]
    return value


def positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
