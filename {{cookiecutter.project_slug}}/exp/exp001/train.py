"""One run: load data, split into folds, train each fold, score, and save the record.

The steps below read top to bottom; change the CV loop here, models in model.py.
"""
import difflib
import time
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

import data as data_io
import model as models
from util import ConfigError, DataError, log, write_json

TASKS = ("binary", "multiclass", "regression")
CV_SCHEMES = ("kfold", "stratified", "group", "stratified_group")


# ---------------------------------------------------------------- metrics
# A prediction is P(positive) for binary, one column per class for multiclass, values for regression.
# scikit-learn is imported inside, so `exp.py --list` stays quick.

def _accuracy(y, p):
    return float(np.mean(data_io.predicted_codes(p) == y))


def _f1(y, p):
    from sklearn.metrics import f1_score
    return float(f1_score(y, data_io.predicted_codes(p), average="binary" if p.ndim == 1 else "macro"))


def _auc(y, p):
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y, p) if p.ndim == 1 else roc_auc_score(y, p, multi_class="ovr", labels=range(p.shape[1])))


def _logloss(y, p):
    from sklearn.metrics import log_loss
    return float(log_loss(y, p, labels=range(p.shape[1]) if p.ndim == 2 else [0, 1]))


def _rmse(y, p):
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _r2(y, p):
    from sklearn.metrics import r2_score
    return float(r2_score(y, p))


class Metric(NamedTuple):
    tasks: tuple
    higher_is_better: bool
    needs_labels: bool    # scored on predicted labels, so the submission holds labels, not probabilities
    score: Callable       # score(y, prediction)


CLASSIFICATION, REGRESSION = ("binary", "multiclass"), ("regression",)
METRICS = {
    "accuracy": Metric(CLASSIFICATION, True, True, _accuracy),
    "f1": Metric(CLASSIFICATION, True, True, _f1),
    "auc": Metric(CLASSIFICATION, True, False, _auc),
    "logloss": Metric(CLASSIFICATION, False, False, _logloss),
    "rmse": Metric(REGRESSION, False, False, _rmse),
    "mae": Metric(REGRESSION, False, False, lambda y, p: float(np.mean(np.abs(y - p)))),
    "rmsle": Metric(REGRESSION, False, False, lambda y, p: _rmse(np.log1p(y), np.log1p(np.clip(p, 0, None)))),
    "r2": Metric(REGRESSION, True, False, _r2),
}


def score(metric, y, pred):
    return METRICS[metric].score(y, pred)


def check_config(cfg, where):
    """Raise ConfigError for values no run could train with; called before any run starts."""
    def fail(key, value, allowed):
        shown = "null" if value is None else repr(value)
        close = difflib.get_close_matches(str(value).lower(), [str(a) for a in allowed], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{where}: {key} is {shown}{hint}; allowed: {', '.join(map(str, allowed))}. "
                          "Fix it in config.yml or in the run's snippet.")

    if cfg["task"] not in TASKS:
        fail("task", cfg["task"], TASKS)
    fitting = [name for name, metric in METRICS.items() if cfg["task"] in metric.tasks]
    if cfg["metric"] not in fitting:
        fail("metric", cfg["metric"], fitting)
    for key in ("drop", "categorical"):
        if not isinstance(cfg["data"][key], list):
            fail(f"data.{key}", cfg["data"][key], ["a list of column names, like [a, b] or []"])
    if cfg["data"]["features"] is not None and not isinstance(cfg["data"]["features"], list):
        fail("data.features", cfg["data"]["features"], ["null (all columns)", "a list of column names"])
    cv = cfg["cv"]
    if cv["scheme"] not in CV_SCHEMES:
        fail("cv.scheme", cv["scheme"], CV_SCHEMES)
    if cv["scheme"] in data_io.GROUP_SCHEMES and not cv["group"]:
        fail("cv.group", cv["group"], [f"the name of the train column whose rows must share a fold (cv.scheme is {cv['scheme']})"])
    if not isinstance(cv["n_splits"], int) or cv["n_splits"] < 2:
        fail("cv.n_splits", cv["n_splits"], ["a whole number of at least 2"])
    name = cfg["model"]["name"]
    if name not in models.MODEL_NAMES:
        fail("model.name", name, models.MODEL_NAMES)
    if name != "lightgbm":
        try:
            unknown, accepted = models.unknown_params(cfg)
        except ValueError as e:
            raise ConfigError(f"{where}: {e} (task is {cfg['task']}). Fix: choose another model.name.") from None
        if unknown:
            raise ConfigError(
                f"{where}: model.params {', '.join(unknown)} are not parameters of {name} (model.name). "
                f"It takes: {', '.join(accepted)}. Fix: give model.params for {name} in config.yml, and drop "
                "the LightGBM ones from the snippets in RUNS (or start a new experiment for this model)."
            )


# ---------------------------------------------------------------- one run

def run(cfg, run_dir, n_rows=None):
    """Train and evaluate one run with cross-validation; write its outputs into run_dir; give metrics."""
    data = data_io.load_data(cfg, n_rows)
    write_json(run_dir / "features.json", data_io.feature_spec(data))  # what predicting another test file needs
    if cfg["metric"] == "rmsle" and (data.y < 0).any():
        raise DataError(f"target {cfg['data']['target']!r} has negative values, which metric rmsle cannot score. "
                        "Fix: set metric to rmse or mae in config.yml.")
    log.info(f"  data: train {len(data.y):,} rows x {data.X.shape[1]} features, test {len(data.X_test):,} rows"
             + (f", {len(data.classes)} classes" if data.classes else "")
             + (f"; categorical: {', '.join(map(str, data.categorical))}" if data.categorical else ""))
    folds = data_io.make_folds(data, cfg["cv"], cfg["seed"])
    result = cross_validate(cfg, data, folds, run_dir)
    save_predictions(cfg, data, folds, result, run_dir)
    return result["metrics"]


def cross_validate(cfg, data, folds, run_dir):
    """Give out-of-fold and fold-averaged test predictions, fold scores and importance."""
    metric, task = cfg["metric"], cfg["task"]
    n_splits = int(folds.max()) + 1
    width = len(data.classes) if task == "multiclass" else 0
    oof = np.zeros((len(data.y), width) if width else len(data.y))
    test_pred = np.zeros((len(data.X_test), width) if width else len(data.X_test))
    prepared = models.prepare(cfg, data)
    (run_dir / "models").mkdir(exist_ok=True)
    scores, iterations, seconds, importances = [], [], [], []
    started = time.perf_counter()
    for k in range(n_splits):
        fold_start = time.perf_counter()
        train_idx, valid_idx = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fitted = models.fit(cfg, prepared, data.y, train_idx, valid_idx)
        oof[valid_idx] = models.predict(fitted, prepared["X"][valid_idx], task)
        test_pred += models.predict(fitted, prepared["X_test"], task) / n_splits
        models.save(fitted, run_dir / "models" / f"fold{k}")
        scores.append(score(metric, data.y[valid_idx], oof[valid_idx]))
        iterations.append(models.best_iteration(fitted))
        importances.append(models.importance(fitted, list(data.X.columns)))
        seconds.append(round(time.perf_counter() - fold_start, 3))
        elapsed = time.perf_counter() - started
        left = elapsed / (k + 1) * (n_splits - k - 1)
        rounds = f" best_iter={iterations[-1]}" if iterations[-1] is not None else ""
        log.info(f"  fold {k + 1}/{n_splits} {metric}={scores[-1]:.5f}{rounds} ({seconds[-1]:.1f}s; elapsed {elapsed:.1f}s, ~{left:.0f}s left)")

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
        "n_train": int(len(data.y)),
        "n_features": int(data.X.shape[1]),
    }
    log.info(f"  CV {metric} = {metrics['cv']:.5f} ± {metrics['cv_std']:.5f} (all out-of-fold: {metrics['oof']:.5f})")
    importance = pd.concat(importances, axis=1).mean(axis=1).sort_values(ascending=False)
    return {"oof": oof, "test_pred": test_pred, "metrics": metrics, "importance": importance}


def save_predictions(cfg, data, folds, result, run_dir):
    """Write out-of-fold and test predictions, the checked submission, importance and metrics."""
    spec = cfg["data"]
    oof = data_io.prediction_frame(data.ids, result["oof"], data.classes, spec["id"])
    target = np.asarray(data.classes, dtype=object)[data.y] if data.classes else data.y
    oof.insert(1, "fold", folds)
    oof.insert(2, spec["target"], target)
    oof.to_csv(run_dir / "oof.csv", index=False)
    test_pred = data_io.prediction_frame(data.test_ids, result["test_pred"], data.classes, spec["id"])
    test_pred.to_csv(run_dir / "test_pred.csv", index=False)

    submission = data_io.make_submission(data, result["test_pred"], cfg, METRICS[cfg["metric"]].needs_labels)
    data_io.check_submission(submission, data.sample, spec["id"])
    submission.to_csv(run_dir / "submission.csv", index=False)

    result["importance"].rename("importance").rename_axis("feature").to_csv(run_dir / "importance.csv")
    plot_importance(result["importance"], run_dir / "importance.png", cfg["model"]["name"])
    write_json(run_dir / "metrics.json", result["metrics"])


def plot_importance(importance, path, title):
    """Draw the top 30 features as a horizontal bar chart."""
    import matplotlib
    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt

    top = importance.head(30)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1.2))
    ax.barh([str(i) for i in top.index], top.to_numpy())
    ax.set_title(f"feature importance ({title}, mean over folds)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
