"""The CV loop of one run: change how folds train and what a run records here.

One run: load data, split into folds, train each fold, score, and save the record.

The steps below read top to bottom: this is the CV loop of one run. How a model is fit and predicts is in
model.py (one module per family in models/), metrics in metrics.py, your features in features.py, and
helpers (seeding, timing) in util.py.
"""
import time

import numpy as np
import pandas as pd

import data as data_io
import features
import model
from metrics import METRICS, score
from runner.interrupts import stop_if_signalled
from runner.util import DataError, log, write_json
from tabular import advice, checkpoints
from tabular.checks import check_config  # noqa: F401  (the runner's contract: train.check_config)
from tabular.encoding import to_model_scale, to_original_scale
from tabular.folds import make_folds
from tabular.outputs import save_predictions
from tabular.preflight import preflight
from tabular.submission import check_layout
from util import seed_everything, timer


# ---------------------------------------------------------------- one run

def run(cfg, run_dir, n_rows=None, resume=None, report=None):
    """Train and evaluate one run with cross-validation; write its outputs into run_dir; give metrics.

    resume: the folder the runner keeps this run's finished folds in, to go on from them (or None).
    report(fold, score), when given (--tune), hears each fold's score and may stop the run there.
    """
    seed_everything(cfg["seed"])
    data = data_io.load_data(cfg, n_rows)
    write_json(run_dir / "features.json", data.spec)  # what predicting another test file needs
    log.info(f"  data: train {len(data.y):,} rows x {data.X.shape[1]} features, test {len(data.X_test):,} rows"
             + (f", {len(data.classes)} classes" if data.classes else "")
             + (f"; categorical: {', '.join(map(str, data.categorical))}" if data.categorical else ""))
    check_target(cfg, data.y)
    folds = make_folds(data, cfg["cv"], cfg["seed"])
    result = cross_validate(cfg, data, folds, run_dir, resume, report)
    result["metrics"]["warnings"] = advice.run_warnings(cfg, data, result, run_dir, n_rows)  # also in the summary
    save_predictions(cfg, data, folds, result, run_dir)
    return result["metrics"]


def check_before_training(cfg, n_rows=None):
    """Raise DataError for what would stop a run only after its training: files, columns, target, the sample's layout.
    """
    dataset = data_io.load_data(cfg, n_rows)
    check_target(cfg, dataset.y)
    columns = [c for c in dataset.sample.columns if c != cfg["data"]["id"]]
    check_layout(cfg, dataset.classes, columns, METRICS[cfg["metric"]].needs_labels)
    preflight(cfg, dataset)  # the model library tries the run's settings on a few dozen rows


def check_target(cfg, y):
    """Raise DataError for a target the metric or target_transform cannot take."""
    name, transform = cfg["data"]["target"], cfg["target_transform"]
    if cfg["metric"] == "rmsle" and (y < 0).any():
        raise DataError(f"target {name!r} has negative values, which metric rmsle cannot score. "
                        "Fix: set metric to rmse or mae in config.yml.")
    if cfg["metric"] == "mape" and (y == 0).any():
        raise DataError(f"target {name!r} is 0 on {int((y == 0).sum()):,} rows, and metric mape divides by the target, "
                        "so those rows score without bound. Fix: set metric to smape or mae in config.yml.")
    if (transform == "log1p" and (y <= -1).any()) or (transform == "sqrt" and (y < 0).any()):
        raise DataError(f"target {name!r} has values as low as {y.min()}, which target_transform {transform} cannot "
                        "take. Fix: set target_transform: null in config.yml.")


def cross_validate(cfg, data, folds, run_dir, resume=None, report=None):
    """Give out-of-fold and fold-averaged test predictions (on the target's scale), fold scores and importance.

    Each finished fold is saved in `resume` (when given), and a fold found there is not trained again.
    report(fold, score) (--tune) may stop the run after a fold.
    """
    metric, task = cfg["metric"], cfg["task"]
    n_splits = int(folds.max()) + 1
    width = len(data.classes) if task == "multiclass" else 0
    oof = np.zeros((len(data.y), width) if width else len(data.y))
    test_pred = np.zeros((len(data.X_test), width) if width else len(data.X_test))
    y_model = to_model_scale(cfg, data.y)
    models_dir, shared = run_dir / "models", {}
    models_dir.mkdir(exist_ok=True)
    rows = checkpoints.rows_digest(data.y, folds)
    checkpoints.check_rows(resume, rows)
    scores, iterations, seconds, importances = [], [], [], []
    started = time.perf_counter()
    for k in range(n_splits):
        stop_if_signalled()  # a Ctrl-C that a library swallowed still stops the run here
        train_idx, valid_idx = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fold = checkpoints.load_fold(resume, k, models_dir)  # finished by an earlier process of this run
        saved = fold is not None
        if not saved:
            fold, files = train_fold(cfg, data, y_model, train_idx, valid_idx, k, models_dir, shared)
            checkpoints.save_fold(resume, k, fold, files, n_splits, rows)
        oof[valid_idx] = fold["oof"]
        # Each fold's test prediction goes back to the target's scale before the mean, as predicting from the record
        # does.
        test_pred += fold["test"] / n_splits
        scores.append(score(metric, data.y[valid_idx], oof[valid_idx]))
        iterations.append(fold["iteration"])
        importances.append(fold["importance"])
        seconds.append(fold["seconds"])
        elapsed = time.perf_counter() - started
        left = sum(seconds) / (k + 1) * (n_splits - k - 1)
        rounds = f" best_iter={iterations[-1]}" if iterations[-1] is not None else ""
        timing = "saved before the stop" if saved else f"elapsed {elapsed:.1f}s, ~{left:.0f}s left"
        log.info(f"  fold {k + 1}/{n_splits} {metric}={scores[-1]:.5f}{rounds} ({seconds[-1]:.1f}s; {timing})")
        if report:  # --tune: a trial whose folds are hopeless stops here (pruned), keeping the folds it saved
            report(k, scores[-1])

    higher = METRICS[metric].higher_is_better
    metrics = {
        "metric": metric,
        "higher_is_better": higher,
        "direction": "maximize" if higher else "minimize",
        "cv": float(np.mean(scores)),
        "cv_std": float(np.std(scores)),
        "oof": score(metric, data.y, oof),
        "folds": scores,
        "best_iterations": iterations,
        "fit_seconds": seconds,
        "total_seconds": round(time.perf_counter() - started, 3),
        "model": cfg["model"]["name"],
        "target_transform": cfg["target_transform"],
        "seeds": model.seeds(cfg),
        "n_train": int(len(data.y)),
        "n_features": int(len(importances[-1])),
    }
    log.info(f"  CV {metric} = {metrics['cv']:.5f} ± {metrics['cv_std']:.5f} (all out-of-fold: {metrics['oof']:.5f})")
    importance = pd.concat(importances, axis=1).mean(axis=1).sort_values(ascending=False)
    return {"oof": oof, "test_pred": test_pred, "metrics": metrics, "importance": importance}


def train_fold(cfg, data, y_model, train_idx, valid_idx, k, models_dir, shared):
    """Give fold k trained (its valid and test predictions on the target's scale, numbers) and the files it saved."""
    with timer() as took:
        # Features learned from this fold's train rows (features.fit_fold); without any, every fold shares one matrix.
        state = features.fit_fold(data.X.iloc[train_idx], data.y[train_idx], cfg.get("features") or {})
        files = []
        if state is None:
            if "prepared" not in shared:
                shared["prepared"] = model.prepare(cfg, data.X, data.X_test, y_model, len(data.classes))
            prepared = shared["prepared"]
        else:
            options = cfg.get("features") or {}
            files.append(models_dir / f"fold{k}_features.json")
            write_json(files[-1], state)  # predict.py applies it again
            prepared = model.prepare(cfg, features.apply_fold(data.X, state, options),
                                     features.apply_fold(data.X_test, state, options), y_model, len(data.classes))
        fitted = model.fit_fold(cfg, prepared, y_model, train_idx, valid_idx)
        fold = {"oof": to_original_scale(cfg, model.predict_fold(cfg, fitted, prepared["X"][valid_idx])),
                "test": to_original_scale(cfg, model.predict_fold(cfg, fitted, prepared["X_test"])),
                "iteration": model.best_iteration(cfg, fitted),
                "importance": model.importance(cfg, fitted, prepared["names"])}
        files += model.save_fold(cfg, fitted, models_dir, k)
        # fitted is freed on return, before the next fold trains: a LightGBM Booster still holds its training rows.
    return dict(fold, seconds=took["seconds"]), files


def neutral_values():
    """Give {dotted key: the value that keeps today's behaviour} of the knobs added to config.yml since runs began
    (the runner's staleness rule: a key added with this value leaves finished runs done)."""
    return {"model.early_stopping_metric": "auto"}


def higher_is_better(metric):
    """True when a higher score of `metric` is better (the runner's contract; KeyError for an unknown metric)."""
    return METRICS[metric].higher_is_better
