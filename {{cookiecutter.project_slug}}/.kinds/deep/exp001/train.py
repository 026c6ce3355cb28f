"""One run: read the table and the inputs, split into folds, train a network per fold, predict with TTA, save.

The steps read top to bottom: run -> cross_validate -> train_fold (the epoch loop: train_one_epoch, validate)
-> infer. What the inputs are (images, spectrograms of audio, tokens of text) is data.py's: the table, reading
each input, datasets, the model's input and TTA views; augmentations are in augment.py and deep/mixing.py; the
network (a timm model, or a transformer) in network.py; its optimizer, schedule and loss in model.py; metrics in
metrics.py; the checks of config.yml and the record's files (oof.csv, submission.csv, history.csv, curves.png) in
deep/; the checks of the tables every kind shares in inputs.py; seeding and small helpers in util.py. This file is
the same in every deep-learning kind.
"""
import contextlib
import copy
import math
import time

import numpy as np
import torch

import augment
import data as data_io
import model as model_io
import network
from deep import checkpoints
from deep.checks import check_config, neutral_values  # noqa: F401  (the runner's contract)
from deep.curves import track_epoch
from deep.eta import Eta
from deep.fold_state import FoldState
from deep.folds import make_folds
from deep.loader import in_dataset_order, make_loader
from deep.mixing import mix_batch
from deep.outputs import check_layout, save_outputs
from metrics import METRICS, score
from runner.interrupts import stop_if_signalled
from runner.util import log, write_json
from util import seed_everything


# ---------------------------------------------------------------- one run

def run(cfg, run_dir, n_rows=None, resume=None, report=None):
    """Train and evaluate one run with cross-validation; write its outputs into run_dir; give its metrics.

    resume: the folder the runner keeps this run's state in over a stop (deep/checkpoints.py), or None.
    report(fold, score), when given (--tune), hears each fold's score and may stop the run there.
    """
    seed_everything(cfg["seed"])
    table = data_io.load_table(cfg, n_rows)
    inputs = data_io.load_inputs(cfg, table.paths, cfg["data"]["train"])
    test_inputs = data_io.load_inputs(cfg, table.test_paths, cfg["data"]["test"] or "the test files")
    device = model_io.pick_device(cfg["model"]["device"])
    # What predicting another test file needs besides config.yml and the fold models.
    write_json(run_dir / "labels.json", {"classes": table.classes, "target_stats": table.target_stats})
    network.keep_for_predict(cfg, run_dir)
    log.info(f"  data: {data_io.describe_inputs(cfg, table)}"
             + (f", {len(table.classes)} {'labels' if cfg['task'] == 'multilabel' else 'classes'}"
                if table.classes else "")
             + f"; model {cfg['model']['name']} on {device}")
    folds = make_folds(cfg, table)
    epochs = cfg["debug"]["epochs"] if n_rows else cfg["train"]["epochs"]
    result = cross_validate(cfg, table, inputs, test_inputs, folds, device, epochs, run_dir, resume, report)
    save_outputs(cfg, table, folds, result, run_dir)
    checkpoints.keep_checkpoints(cfg, run_dir / "models")
    return result["metrics"]


def check_before_training(cfg, n_rows=None):
    """Raise DataError for what would stop a run only after training: files, columns, target, each input, the sample."""
    table = data_io.load_table(cfg, n_rows)
    check_layout(cfg, table)
    make_folds(cfg, table)
    network.check_model(cfg, model_io.n_outputs(cfg["task"], table.classes))
    data_io.load_inputs(cfg, table.paths, cfg["data"]["train"])  # with dataset.cache, the run reuses them
    data_io.load_inputs(cfg, table.test_paths, cfg["data"]["test"] or "the test files")


def higher_is_better(metric):
    """True when a higher score of `metric` is better (the runner's contract; KeyError for an unknown metric)."""
    return METRICS[metric].higher_is_better


# ---------------------------------------------------------------- the folds

def cross_validate(cfg, table, inputs, test_inputs, folds, device, epochs, run_dir, resume=None, report=None):
    """Give out-of-fold and fold-averaged test predictions (with TTA), fold scores and each epoch's history.

    Each finished fold is saved in `resume` (when given), and a fold found there is not trained again.
    """
    task, metric = cfg["task"], cfg["metric"]
    n_splits = int(folds.max()) + 1
    base = network.create_model(cfg, model_io.n_outputs(task, table.classes))  # weights read once, copied per fold
    # Regression learns the standardized target; predictions come back on the target's scale.
    stats = table.target_stats
    targets = (table.y - np.asarray(stats[0])) / np.asarray(stats[1]) if task == "regression" else table.y

    test_set = data_io.make_dataset(cfg, table.test_paths, test_inputs)
    oof = np.zeros(table.y.shape if task != "multiclass" else (len(table.y), len(table.classes)))
    test_pred = np.zeros((len(test_set), *oof.shape[1:]))
    (run_dir / "models").mkdir(exist_ok=True)
    scores, history, eta = [], [], Eta(n_splits * epochs)
    checkpoints.check_rows(resume, checkpoints.rows_digest(table.y, folds))
    views, started = data_io.tta_views(cfg), time.perf_counter()
    for k in range(n_splits):
        train_idx, valid_idx = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fold = checkpoints.load_fold(resume, k, run_dir / "models")  # finished by an earlier process of this run
        saved = fold is not None
        if not saved:
            fold_start = time.perf_counter()
            train_set = data_io.make_dataset(cfg, table.paths, inputs, targets, train_idx, augment.make_augment(cfg),
                                             train=True)
            valid_set = data_io.make_dataset(cfg, table.paths, inputs, targets, valid_idx)
            net, fold_history, valid_pred = train_fold(cfg, k, n_splits, copy.deepcopy(base), train_set, valid_set,
                                                       table, valid_idx, device, epochs, eta, run_dir, resume)
            valid_pred = infer(cfg, net, valid_set, device, table.target_stats, views)[0] if views else valid_pred
            fold = {"oof": valid_pred, "test": infer(cfg, net, test_set, device, table.target_stats, views)[0],
                    "score": float(score(metric, table.y[valid_idx], valid_pred)), "history": fold_history,
                    "seconds": round(time.perf_counter() - fold_start, 3)}
            checkpoints.save_fold(resume, k, fold, run_dir / "models" / f"fold{k}.pt", n_splits)
            del net
        else:
            eta.skip(epochs)
        oof[valid_idx] = fold["oof"]
        test_pred += fold["test"] / n_splits
        scores.append(score(metric, table.y[valid_idx], oof[valid_idx]))
        history += fold["history"]
        log.info(f"  fold {k + 1}/{n_splits} {metric}={scores[-1]:.5f} (best epoch {max_epoch(fold['history'], cfg)}"
                 f"{', with TTA ' + '+'.join(views) if views else ''}{'; saved before the stop' if saved else ''})")
        if report:  # --tune: a trial whose folds are hopeless stops here (pruned), keeping the folds it saved
            report(k, scores[-1])

    higher = METRICS[metric].higher_is_better
    metrics = {
        "metric": metric, "higher_is_better": higher, "direction": "maximize" if higher else "minimize",
        "cv": float(np.mean(scores)), "cv_std": float(np.std(scores)), "oof": score(metric, table.y, oof),
        "folds": scores,
        "best_epochs": [max_epoch([h for h in history if h["fold"] == k], cfg) for k in range(n_splits)],
        "total_seconds": round(time.perf_counter() - started, 3), "model": cfg["model"]["name"],
        **data_io.input_record(cfg), "epochs": epochs, "n_train": int(len(table.y)),
    }
    log.info(f"  CV {metric} = {metrics['cv']:.5f} ± {metrics['cv_std']:.5f} (all out-of-fold: {metrics['oof']:.5f})")
    return {"oof": oof, "test_pred": test_pred, "metrics": metrics, "history": history}


def max_epoch(fold_history, cfg):
    """Give the epoch whose valid score was best (the checkpoint kept)."""
    best = [h for h in fold_history if h["best"]]
    return best[-1]["epoch"] if best else None


# ---------------------------------------------------------------- one fold: the epoch loop

def train_fold(cfg, k, n_splits, net, train_set, valid_set, table, valid_idx, device, epochs, eta, run_dir,
               resume=None):
    """Train one fold; keep the checkpoint of the best valid score; give the best model, the history, valid predictions.

    With `resume`, the fold's state is saved after every epoch (and every train.checkpoint_minutes), and a
    state saved there by a stopped process of this run is gone on from (deep/fold_state.py).
    """
    spec, metric = cfg["train"], cfg["metric"]
    torch.manual_seed(cfg["seed"] + k)
    net, n_out = model_io.prepare_model(cfg, net, device), model_io.n_outputs(cfg["task"], table.classes)
    forward = model_io.compiled(cfg, net)  # train.compile; net itself stays the plain module checkpoints save
    loader = make_loader(cfg, train_set, shuffle=True, seed=cfg["seed"] + k)
    optimizer = model_io.make_optimizer(cfg, net)
    scheduler = model_io.make_scheduler(cfg, optimizer, math.ceil(len(loader) / spec["accumulate"]), epochs)
    weights = (model_io.balanced_class_weights(cfg["task"], train_set.targets, len(table.classes))
               if spec["class_weights"] == "balanced" else None)
    loss_fn = model_io.make_loss(cfg, weights)
    precision = model_io.pick_precision(cfg, device)
    scaler = torch.amp.GradScaler("cuda", enabled=precision[1])
    ema = model_io.Ema(net, spec["ema"]) if spec["ema"] else None
    checkpoint, keep = run_dir / "models" / f"fold{k}.pt", network.kept_weights(cfg, net)  # LoRA: what trains
    parts = {"model": checkpoints.KeptWeights(net, keep), "optimizer": optimizer, "scheduler": scheduler,
             "scaler": scaler, **({"ema": ema} if ema else {})}
    state = FoldState(resume, k, n_splits, checkpoint, parts, spec["checkpoint_minutes"])
    state.load(loader)
    eta.skip(state.epoch)
    for epoch in state.epochs_to_train(epochs, spec["patience"]):
        stop_if_signalled()  # a Ctrl-C that a library swallowed still stops the run here
        started = time.perf_counter()
        batches = state.batches(loader)
        train_one_epoch(cfg, net, forward, batches, len(loader), optimizer, scheduler, scaler, loss_fn, ema, device,
                        precision[0], n_out, state.tally, state.saver(loader))
        train_seconds = time.perf_counter() - started
        # validation, the best checkpoint and predictions use the EMA weights (net's own come back after)
        with ema.applied(net) if ema else contextlib.nullcontext(net) as judged:
            valid_pred, valid_loss = validate(cfg, judged, valid_set, device, table.target_stats, loss_fn)
            value = float(score(metric, table.y[valid_idx], valid_pred))
            improved = state.best is None or (value > state.best
                                              if METRICS[metric].higher_is_better else value < state.best)
            if improved:
                state.best, state.best_epoch, state.best_pred = value, epoch, valid_pred
                checkpoints.save_checkpoint(judged, cfg, epoch, value, checkpoint, keep)
        seconds = time.perf_counter() - started
        row = {"fold": k, "epoch": epoch, "train_loss": state.tally["loss_sum"] / state.tally["seen"],
               "valid_loss": valid_loss, metric: value, "lr": optimizer.param_groups[0]["lr"],
               "seconds": round(seconds, 3), "best": improved}
        state.end_epoch(epoch, row, loader)
        track_epoch(row)
        eta.epoch_done(seconds)
        log.info(f"  fold {k + 1}/{n_splits} epoch {epoch}/{epochs} train_loss={row['train_loss']:.4f} "
                 f"valid_loss={valid_loss:.4f} {metric}={value:.5f}{' *' if improved else ''} "
                 f"lr={state.tally['lr']:.2e} ({seconds:.1f}s, "
                 f"{state.tally['images'] / train_seconds:,.0f} {data_io.UNIT}/s; {eta.text()})")
        if state.patience_ran_out(spec["patience"]):
            log.info(f"  fold {k + 1}/{n_splits}: "
                     f"no better {metric} for {spec['patience']} epochs (train.patience); stopped")
            eta.skip(epochs - epoch)
            break
    checkpoints.load_weights(net, torch.load(checkpoint, map_location=device, weights_only=True))
    return net, state.history, state.best_pred


def train_one_epoch(cfg, net, forward, batches, n_batches, optimizer, scheduler, scaler, loss_fn, ema, device, dtype,
                    n_out, tally, after_step):
    """Train one epoch over `batches` ((step, (inputs, targets)) pairs); add its loss and examples to `tally`.

    One optimizer step every train.accumulate batches, and one for the last, smaller group. after_step(step)
    is called after each optimizer step (the fold's state saves itself there when it is due).
    """
    net.train()
    accumulate, clip = cfg["train"]["accumulate"], cfg["train"]["grad_clip"]
    for step, (inputs, y) in batches:
        x, y = mix_batch(cfg, data_io.to_input(inputs, cfg, device), y.to(device), n_out)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = loss_fn(forward(x), y)
        scaler.scale(loss / accumulate).backward()
        tally["loss_sum"], tally["seen"] = tally["loss_sum"] + loss.item() * len(y), tally["seen"] + len(y)
        tally["images"] += len(y)
        if (step + 1) % accumulate == 0 or step + 1 == n_batches:  # the last group of the epoch may be smaller
            optimizer_step(net, optimizer, scaler, clip)
            tally["lr"] = optimizer.param_groups[0]["lr"]  # the rate this step used, for the log
            scheduler.step()
            if ema is not None:
                ema.update(net)
            after_step(step + 1)


def optimizer_step(net, optimizer, scaler, clip):
    """Step the optimizer on the summed gradients, their total norm cut to train.grad_clip first when it is set."""
    if clip is not None:
        scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)


def validate(cfg, net, dataset, device, target_stats, loss_fn):
    """Give the valid examples' predictions (no TTA) and their mean loss."""
    return infer(cfg, net, dataset, device, target_stats, loss_fn=loss_fn)


@torch.no_grad()
def infer(cfg, net, dataset, device, target_stats, tta=(), loss_fn=None):
    """Give predictions for `dataset`, each the mean over the input and its TTA views, and the mean loss on them."""
    net.eval()
    dtype = model_io.pick_precision(cfg, device)[0] if device.type == "cuda" else None
    preds, loss_sum, loader = [], 0.0, make_loader(cfg, dataset, shuffle=False)
    for inputs, y in loader:
        x = data_io.to_input(inputs, cfg, device)
        views = [x] + [data_io.tta_view(x, name) for name in tta]
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            outs = [net(view).float() for view in views]
        if loss_fn is not None:
            loss_sum += loss_fn(outs[0], y.to(device)).item() * len(y)
        per_view = [model_io.to_prediction(cfg["task"], out, target_stats) for out in outs]
        preds.append(torch.stack(per_view).mean(0).cpu())
    return in_dataset_order(loader, torch.cat(preds)).double().numpy(), loss_sum / max(1, len(dataset))
