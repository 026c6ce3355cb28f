"""Preflight: each run's model settings tried on a few dozen rows by the real library before any run trains.

A value the library refuses (learning_rate: 0 for LightGBM, max_bin: 1, a metric that contradicts the
objective) would otherwise fail the run after the runs before it trained, or fail every fold. Here it is
one message naming the run, the key and the library's own reason, before the first run starts.
check_params covers what the libraries accept silently but trains wrong (an objective of another task).
"""
import contextlib
import copy
import json
import logging
import re

import numpy as np

import model
from runner.util import ConfigError, log
from tabular.encoding import to_model_scale

SAMPLE_ROWS = 60  # a few dozen rows: enough for every class in both halves, fast for every family
# Sections the preflight never reads: runs that differ only there are tried once (see preflight).
NOT_TRIED = ("cv", "debug", "wandb", "tune")
_PASSED = set()  # the settings tried and accepted in this process, on which data

# The keys each family reads its objective from, and the task each known objective trains for.
OBJECTIVE_KEYS = {"lightgbm": ("objective", "objective_type", "app", "application", "loss"),
                  "xgboost": ("objective",), "catboost": ("loss_function", "objective")}
OBJECTIVE_TASKS = {
    "binary": {"binary", "cross_entropy", "xentropy", "cross_entropy_lambda", "xentlambda", "logloss", "crossentropy"},
    "multiclass": {"multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr", "multiclassonevsall"},
    "regression": {"regression", "regression_l2", "l2", "mean_squared_error", "mse", "l2_root",
                   "root_mean_squared_error",
                   "rmse", "regression_l1", "l1", "mean_absolute_error", "mae", "huber", "fair", "poisson", "quantile",
                   "mape", "mean_absolute_percentage_error", "gamma", "tweedie", "expectile", "logcosh", "lq",
                   "loglinquantile", "rmsewithuncertainty"},
}
XGBOOST_PREFIXES = {"binary": "binary", "multi": "multiclass", "reg": "regression", "count": "regression",
                    "survival": "regression"}
LEARNING_RATE_KEYS = ("learning_rate", "eta", "shrinkage_rate")
# XGBoost's eval_metric names that score one task only; it takes the others' without a word and early-stops on nonsense.
XGBOOST_METRIC_TASKS = {"mlogloss": "multiclass", "merror": "multiclass", "logloss": "binary", "error": "binary",
                        "aucpr": "binary", "rmse": "regression", "rmsle": "regression", "mae": "regression",
                        "mape": "regression", "mphe": "regression", "poisson-nloglik": "regression",
                        "gamma-nloglik": "regression", "tweedie-nloglik": "regression"}


def objective_task(model_name, objective):
    """Give the task an objective trains for, or None when we do not know it (the library then judges it)."""
    text = str(objective).strip().lower()
    if model_name == "xgboost":
        return XGBOOST_PREFIXES.get(text.split(":")[0]) if ":" in text else None
    text = text.split(":")[0]  # CatBoost's Quantile:alpha=0.9
    return next((task for task, names in OBJECTIVE_TASKS.items() if text in names), None)


def check_params(cfg, where):
    """Raise ConfigError for model.params a library takes without a word but that cannot train this task."""
    name, params, task = cfg["model"]["name"], cfg["model"]["params"], cfg["task"]
    for key in OBJECTIVE_KEYS.get(name, ()):
        if key in params and objective_task(name, params[key]) not in (None, task):
            raise ConfigError(
                f"{where}: model.params.{key} is {params[key]!r}, an objective for "
                f"{objective_task(name, params[key])}, but task is {task}. Fix: drop model.params.{key} (the task "
                f"chooses the objective), or give one for {task}, or change task in config.yml.")
    metrics = params.get("eval_metric") if name == "xgboost" else None
    for metric in (metrics if isinstance(metrics, list) else [metrics] if metrics else []):
        scores = XGBOOST_METRIC_TASKS.get(str(metric).split("@")[0].lower())
        if scores not in (None, task):
            raise ConfigError(f"{where}: model.params.eval_metric {metric!r} scores {scores}, but task is {task}: "
                              "early stopping would watch a score that means nothing here. Fix: drop eval_metric "
                              f"(the task chooses it), or give one for {task}.")
    for key in LEARNING_RATE_KEYS:  # XGBoost trains nothing with 0 and says nothing
        value = params.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            raise ConfigError(f"{where}: model.params.{key} is {value}, so the model would learn nothing. "
                              "Fix: give a learning rate above 0, like 0.05.")


def sample_rows(y, classes, n=SAMPLE_ROWS):
    """Give (row positions, True where a row trains): up to n rows, every class among the training ones."""
    # spread over the file: the first rows of a sorted file may share one target (CatBoost refuses that)
    if not classes:
        rows = np.unique(np.linspace(0, len(y) - 1, min(n, len(y))).astype(int))
        return rows, np.arange(len(rows)) % 2 == 0
    per_class = max(2, n // len(classes))
    picked = [np.flatnonzero(y == k)[:per_class] for k in range(len(classes))]
    # Alternating within each class: a class's first row always trains, so no model meets fewer classes than the task.
    return np.concatenate(picked), np.concatenate([np.arange(len(rows)) % 2 == 0 for rows in picked])


@contextlib.contextmanager
def quiet():
    """Hold back the lab's log lines (binning, reuse notes) while the preflight fits its tiny sample."""
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def preflight(cfg, data):
    """Raise ConfigError when the model library refuses this run's settings, tried on a sample of train rows.

    The runner puts the run's name in front of the message.

    One or two boosting rounds on a few dozen rows, early stopping and prediction included, so a
    refused parameter, metric or objective is named before any run trains.
    """
    # Once per distinct setting and data: runs that differ only in their folds or seeds of CV would try the same
    # thing again (about 6 ms each on iris, beside a run of 100 to 300 ms).
    key = (id(data), json.dumps({k: v for k, v in cfg.items() if k not in NOT_TRIED}, sort_keys=True, default=str))
    if key in _PASSED:
        return
    try_settings(cfg, data)
    _PASSED.add(key)


def try_settings(cfg, data):
    """Raise ConfigError when the model library refuses cfg's settings or predicts the wrong shape on a sample."""
    rows, trains = sample_rows(data.y, data.classes)
    trial = copy.deepcopy(cfg)
    trial["model"]["num_boost_round"] = min(cfg["model"]["num_boost_round"], 2)
    if cfg["model"]["early_stopping_rounds"]:
        trial["model"]["early_stopping_rounds"] = 1
    y = to_model_scale(cfg, data.y[rows])
    try:
        with quiet():
            X = data.X.iloc[rows]
            prepared = model.prepare(trial, X, X, y, len(data.classes))
            valid = np.flatnonzero(~trains) if (~trains).any() else np.flatnonzero(trains)  # a one-row file
            fitted = model.fit_fold(trial, prepared, y, np.flatnonzero(trains), valid)
            pred = np.asarray(model.predict_fold(trial, fitted, prepared["X"][:4]))
    except Exception as e:  # the library's own refusal, whatever its exception class
        raise ConfigError(refusal(cfg, e)) from None
    shown = min(4, len(rows))
    expected = (shown, len(data.classes)) if cfg["task"] == "multiclass" else (shown,)
    if pred.shape != expected:
        raise ConfigError(
            f"{cfg['model']['name']} trained with these model.params predicts {pred.shape[1:] or 'one value'} "
            f"per row, but task {cfg['task']} needs {expected[1:] or 'one value'}"
            f"{f' ({len(data.classes)} classes)' if data.classes else ''}, tried on a few dozen train rows before any "
            f"run trains. {culprit(cfg, 'num_class objective')}Fix: drop num_class and objective from model.params "
            "(the task sets them).")


def refusal(cfg, error):
    """Give the message for a library's refusal: the run, the key it seems to name, the library's reason."""
    reason = " ".join(re.split(r"\s*Stack trace:", str(error).replace("[LightGBM] [Fatal]", ""))[0].split())
    reason = re.sub(r"^\[[\d:]+\] \S+: ", "", reason)  # XGBoost's time and source file
    if cfg["model"]["device"] == "gpu" and re.search(r"GPU|CUDA|OpenCL|device", reason, re.I):
        return (f"model.device is gpu, but {cfg['model']['name']} cannot train on a GPU here ({reason[:300]}). "
                f"Fix: install {cfg['model']['name']}'s GPU build and check that the GPU is visible (nvidia-smi), "
                "or set model.device: cpu.")
    return (f"{cfg['model']['name']} refuses this run's settings ({reason[:300]}). {culprit(cfg, reason)}"
            "It was tried on a few dozen train rows before any run trains. Fix: change that value in the run's "
            "snippet or in config.yml (see the library's documentation of its parameters).")


def culprit(cfg, text):
    """Give 'The key is model.params.x = v. ' for the given key named in `text`, else ''."""
    named = [key for key in cfg["model"]["params"] if re.search(rf"\b{re.escape(str(key))}s?\b", text, re.I)]
    if not named and re.search(r"boosting rounds|iterations", text, re.I):
        return f"The key is model.num_boost_round = {cfg['model']['num_boost_round']}. "
    return "".join(f"The key is model.params.{key} = {cfg['model']['params'][key]!r}. " for key in named[:1])
