"""One run: read the table and images, split into folds, train a timm model per fold, predict with TTA, save.

The steps read top to bottom: run -> cross_validate -> train_fold (the epoch loop) -> infer. The images and
augmentations are in data.py; the model, optimizer, schedule and loss in model.py; metrics in metrics.py;
the checks of config.yml and the record's files (oof.csv, submission.csv, history.csv, curves.png) in image/;
seeding and small helpers in util.py.
"""
import copy
import math
import time

import numpy as np
import torch

import data as data_io
import model as model_io
from image import checkpoints
from image.checks import check_config  # noqa: F401  (the runner's contract: train.check_config)
from image.curves import track_epoch
from image.folds import make_folds
from image.outputs import check_layout, save_outputs
from metrics import METRICS, score
from runner.util import log, write_json
from util import seed_everything


# ---------------------------------------------------------------- one run

def run(cfg, run_dir, n_rows=None, resume=None, report=None):
    """Train and evaluate one run with cross-validation; write its outputs into run_dir; give its metrics.

    resume: the folder the runner keeps this run's state in over a stop (image/checkpoints.py), or None.
    report(fold, score), when given (--tune), hears each fold's score and may stop the run there.
    """
    seed_everything(cfg["seed"])
    table = data_io.load_table(cfg, n_rows)
    size, cache = data_io.image_size(cfg), cfg["dataset"]["cache"]
    images = data_io.load_images(table.paths, size, cache, cfg["data"]["train"])
    test_images = data_io.load_images(table.test_paths, size, cache, cfg["data"]["test"])
    device = model_io.pick_device(cfg["model"]["device"])
    # What predicting another test file needs besides config.yml and the fold models.
    write_json(run_dir / "labels.json", {"classes": table.classes, "target_stats": table.target_stats})
    log.info(f"  data: train {len(table.paths):,} images, test {len(table.test_paths):,}, resized to {size[0]}x{size[1]}"
             + (f", {len(table.classes)} {'labels' if cfg['task'] == 'multilabel' else 'classes'}" if table.classes else "")
             + f"; model {cfg['model']['name']} on {device}" + ("" if cache else "; images decoded every epoch (dataset.cache: false)"))
    folds = make_folds(cfg, table)
    epochs = cfg["debug"]["epochs"] if n_rows else cfg["train"]["epochs"]
    result = cross_validate(cfg, table, images, test_images, folds, device, epochs, run_dir, resume, report)
    save_outputs(cfg, table, folds, result, run_dir)
    return result["metrics"]


def check_before_training(cfg, n_rows=None):
    """Raise DataError for what would stop a run only after training: files, columns, target, every image, the sample."""
    table = data_io.load_table(cfg, n_rows)
    check_layout(cfg, table)
    make_folds(cfg, table)
    model_io.check_model(cfg)
    size, cache = data_io.image_size(cfg), cfg["dataset"]["cache"]
    data_io.load_images(table.paths, size, cache, cfg["data"]["train"])  # with the cache, the run reuses them
    data_io.load_images(table.test_paths, size, cache, cfg["data"]["test"])


def higher_is_better(metric):
    """True when a higher score of `metric` is better (the runner's contract; KeyError for an unknown metric)."""
    return METRICS[metric].higher_is_better


# ---------------------------------------------------------------- the folds

def cross_validate(cfg, table, images, test_images, folds, device, epochs, run_dir, resume=None, report=None):
    """Give out-of-fold and fold-averaged test predictions (with TTA), fold scores and each epoch's history.

    Each finished fold is saved in `resume` (when given), and a fold found there is not trained again.
    """
    task, metric, size = cfg["task"], cfg["metric"], data_io.image_size(cfg)
    n_splits = int(folds.max()) + 1
    base = model_io.create_model(cfg, model_io.n_outputs(task, table.classes))  # weights read once, copied per fold
    # Regression learns the standardized target; predictions come back on the target's scale.
    targets = (table.y - table.target_stats[0]) / table.target_stats[1] if task == "regression" else table.y
    subset = (lambda arrays, idx: [arrays[i] for i in idx] if arrays is not None else None)
    test_set = data_io.ImageDataset(table.test_paths, size, test_images)
    oof = np.zeros(table.y.shape if task != "multiclass" else (len(table.y), len(table.classes)))
    test_pred = np.zeros((len(test_set), *oof.shape[1:]))
    (run_dir / "models").mkdir(exist_ok=True)
    scores, history, clock = [], [], {"epochs_left": n_splits * epochs, "seconds": 0.0, "epochs": 0}
    checkpoints.check_rows(resume, checkpoints.rows_digest(table.y, folds))
    flips, started = tta_flips(cfg), time.perf_counter()
    for k in range(n_splits):
        train_idx, valid_idx = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fold = checkpoints.load_fold(resume, k, run_dir / "models")  # finished by an earlier process of this run
        saved = fold is not None
        if not saved:
            fold_start = time.perf_counter()
            train_set = data_io.ImageDataset([table.paths[i] for i in train_idx], size, subset(images, train_idx),
                                             targets[train_idx], data_io.make_augment(cfg))
            valid_set = data_io.ImageDataset([table.paths[i] for i in valid_idx], size, subset(images, valid_idx),
                                             targets[valid_idx])
            net, fold_history, valid_pred = train_fold(cfg, k, n_splits, copy.deepcopy(base), train_set, valid_set,
                                                       table, valid_idx, device, epochs, clock, run_dir, resume)
            valid_pred = infer(cfg, net, valid_set, device, table.target_stats, flips)[0] if flips else valid_pred
            fold = {"oof": valid_pred, "test": infer(cfg, net, test_set, device, table.target_stats, flips)[0],
                    "score": float(score(metric, table.y[valid_idx], valid_pred)), "history": fold_history,
                    "seconds": round(time.perf_counter() - fold_start, 3)}
            checkpoints.save_fold(resume, k, fold, run_dir / "models" / f"fold{k}.pt", n_splits)
            del net
        else:
            clock["epochs_left"] -= epochs
        oof[valid_idx] = fold["oof"]
        test_pred += fold["test"] / n_splits
        scores.append(score(metric, table.y[valid_idx], oof[valid_idx]))
        history += fold["history"]
        log.info(f"  fold {k + 1}/{n_splits} {metric}={scores[-1]:.5f} (best epoch {max_epoch(fold['history'], cfg)}"
                 f"{', with TTA ' + '+'.join(flips) if flips else ''}{'; saved before the stop' if saved else ''})")
        if report:  # --tune: a trial whose folds are hopeless stops here (pruned), keeping the folds it saved
            report(k, scores[-1])

    higher = METRICS[metric].higher_is_better
    metrics = {
        "metric": metric, "higher_is_better": higher, "direction": "maximize" if higher else "minimize",
        "cv": float(np.mean(scores)), "cv_std": float(np.std(scores)), "oof": score(metric, table.y, oof),
        "folds": scores, "best_epochs": [max_epoch([h for h in history if h["fold"] == k], cfg) for k in range(n_splits)],
        "total_seconds": round(time.perf_counter() - started, 3), "model": cfg["model"]["name"],
        "image_size": list(size), "epochs": epochs, "n_train": int(len(table.y)),
    }
    log.info(f"  CV {metric} = {metrics['cv']:.5f} ± {metrics['cv_std']:.5f} (all out-of-fold: {metrics['oof']:.5f})")
    return {"oof": oof, "test_pred": test_pred, "metrics": metrics, "history": history}


def max_epoch(fold_history, cfg):
    """Give the epoch whose valid score was best (the checkpoint kept)."""
    best = [h for h in fold_history if h["best"]]
    return best[-1]["epoch"] if best else None


def tta_flips(cfg):
    return [name for name in ("hflip", "vflip") if cfg["tta"][name]]


# ---------------------------------------------------------------- one fold: the epoch loop

def train_fold(cfg, k, n_splits, net, train_set, valid_set, table, valid_idx, device, epochs, clock, run_dir, resume=None):
    """Train one fold; keep the checkpoint of the best valid score; give the model at its best, the history, valid predictions.

    With `resume`, the fold's state is saved after every epoch (and every train.checkpoint_minutes), and a
    state saved there by a stopped process of this run is gone on from.
    """
    spec, task, metric = cfg["train"], cfg["task"], cfg["metric"]
    torch.manual_seed(cfg["seed"] + k)
    net = net.to(device)
    loader = data_io.make_loader(cfg, train_set, shuffle=True, seed=cfg["seed"] + k)
    accumulate = spec["accumulate"]
    optimizer = model_io.make_optimizer(cfg, net)
    scheduler = model_io.make_scheduler(cfg, optimizer, math.ceil(len(loader) / accumulate), epochs)
    loss_fn = model_io.make_loss(task)
    amp = spec["amp"] and device.type == "cuda"  # mixed precision pays on a GPU only
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    higher, checkpoint = METRICS[metric].higher_is_better, run_dir / "models" / f"fold{k}.pt"
    parts = {"model": net, "optimizer": optimizer, "scheduler": scheduler, "scaler": scaler}
    loop = checkpoints.load_state(resume, k, parts, loader, checkpoint, n_splits) or {
        "epoch": 0, "step": 0, "loss_sum": 0.0, "seen": 0, "best": None, "best_epoch": 0, "best_pred": None, "history": []}
    every = spec["checkpoint_minutes"] * 60 if spec["checkpoint_minutes"] is not None and resume is not None else None
    clock["epochs_left"] -= loop["epoch"]
    # A state saved by the epoch that train.patience stopped the fold at trains no further.
    stopped = spec["patience"] and loop["epoch"] and loop["epoch"] - loop["best_epoch"] >= spec["patience"]
    for epoch in range(loop["epoch"] + 1, (loop["epoch"] if stopped else epochs) + 1):
        started = last_save = time.perf_counter()
        net.train()
        skip, seen_before = loop["step"], loop["seen"] if loop["step"] else 0  # resumed mid-epoch: batches done before
        loop_start = loader.generator.get_state()  # the epoch's order: a state saved mid-epoch draws it again
        if not skip:
            loop["loss_sum"], loop["seen"] = 0.0, 0
        for step, (images, y) in enumerate(checkpoints.batches(loader, skip, loop.get("rng")), start=skip):
            with torch.autocast(device.type, enabled=amp):
                loss = loss_fn(net(normalize(images.to(device, non_blocking=True), cfg)), y.to(device))
            scaler.scale(loss / accumulate).backward()
            loop["loss_sum"], loop["seen"] = loop["loss_sum"] + loss.item() * len(y), loop["seen"] + len(y)
            if (step + 1) % accumulate == 0 or step + 1 == len(loader):  # gradient accumulation
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
                if every is not None and step + 1 < len(loader) and time.perf_counter() - last_save >= every:
                    # mid-epoch, at an optimizer step (no gradient pending): the batches done and the epoch's order
                    checkpoints.save_state(resume, k, parts, dict(loop, step=step + 1, loader_start=loop_start), checkpoint, n_splits)
                    last_save = time.perf_counter()
        loop["step"] = 0
        loss_sum, seen = loop["loss_sum"], loop["seen"]
        train_seconds = time.perf_counter() - started
        valid_pred, valid_loss = infer(cfg, net, valid_set, device, table.target_stats, loss_fn=loss_fn)
        value = float(score(metric, table.y[valid_idx], valid_pred))
        improved = loop["best"] is None or (value > loop["best"] if higher else value < loop["best"])
        if improved:
            loop["best"], loop["best_epoch"], loop["best_pred"] = value, epoch, valid_pred
            save_checkpoint(net, cfg, epoch, value, checkpoint)
        seconds = time.perf_counter() - started
        history = loop["history"]
        history.append({"fold": k, "epoch": epoch, "train_loss": loss_sum / seen, "valid_loss": valid_loss, metric: value,
                        "lr": optimizer.param_groups[0]["lr"], "seconds": round(seconds, 3), "best": improved})
        track_epoch(history[-1])
        loop["epoch"] = epoch
        checkpoints.save_state(resume, k, parts, dict(loop, loader_start=loader.generator.get_state()), checkpoint, n_splits)
        clock["seconds"], clock["epochs"], clock["epochs_left"] = clock["seconds"] + seconds, clock["epochs"] + 1, clock["epochs_left"] - 1
        log.info(f"  fold {k + 1}/{n_splits} epoch {epoch}/{epochs} train_loss={loss_sum / seen:.4f} valid_loss={valid_loss:.4f} "
                 f"{metric}={value:.5f}{' *' if improved else ''} lr={history[-1]['lr']:.2e} "
                 f"({seconds:.1f}s, {(seen - seen_before) / train_seconds:,.0f} images/s; ~{clock['seconds'] / clock['epochs'] * clock['epochs_left']:.0f}s left)")
        if spec["patience"] and epoch - loop["best_epoch"] >= spec["patience"]:
            log.info(f"  fold {k + 1}/{n_splits}: no better {metric} for {spec['patience']} epochs (train.patience); stopped")
            clock["epochs_left"] -= epochs - epoch
            break
    net.load_state_dict(torch.load(checkpoint, map_location=device, weights_only=True)["model"])
    return net, loop["history"], loop["best_pred"]


def normalize(images, cfg):
    """Give uint8 images (N, 3, H, W) as floats scaled by image.mean and image.std (ImageNet's by default)."""
    mean = torch.tensor(cfg["image"]["mean"], device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(cfg["image"]["std"], device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def save_checkpoint(net, cfg, epoch, value, path):
    """Write the model's weights with what they were trained by, under a temporary name renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"model": net.state_dict(), "epoch": epoch, cfg["metric"]: value, "model_name": cfg["model"]["name"]}, tmp)
    tmp.replace(path)


@torch.no_grad()
def infer(cfg, net, dataset, device, target_stats, flips=(), loss_fn=None):
    """Give predictions for `dataset`, each the mean over the image and its flips (TTA), and the mean loss on the images."""
    net.eval()
    amp = cfg["train"]["amp"] and device.type == "cuda"
    preds, loss_sum = [], 0.0
    for images, y in data_io.make_loader(cfg, dataset, shuffle=False):
        x = normalize(images.to(device, non_blocking=True), cfg)
        views = [x] + [x.flip(3) if flip == "hflip" else x.flip(2) for flip in flips]
        with torch.autocast(device.type, enabled=amp):
            outs = [net(view).float() for view in views]
        if loss_fn is not None:
            loss_sum += loss_fn(outs[0], y.to(device)).item() * len(y)
        preds.append(torch.stack([model_io.to_prediction(cfg["task"], out, target_stats) for out in outs]).mean(0).cpu())
    return torch.cat(preds).double().numpy(), loss_sum / max(1, len(dataset))
