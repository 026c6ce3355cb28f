"""CatBoost (optional: pip install catboost): ordered boosting, native categoricals, early stopping.

The features are quantized once into a Pool of all train rows; each fold trains on a slice of
it. Runs in one process with the same data, target and quantization params share that Pool.
"""
import hashlib
import json
import time

import catboost
import numpy as np
import pandas as pd

from model import stopping_score, threads
from models import progress
from runner.util import log

SUFFIX = ".cbm"
GPU = True

# Our metric -> the CatBoost metric that early stopping watches (label metrics watch logloss).
EARLY_STOPPING_METRICS = {
    "binary": {"auc": "AUC", "gini": "AUC"},
    "multiclass": {},
    "regression": {"mae": "MAE", "mape": "MAPE", "smape": "MAE"},
}
DEFAULT_METRICS = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}
# Params that decide the quantization of the features: given to Pool.quantize, not to the model.
QUANTIZATION_PARAMS = ("border_count", "max_bin", "feature_border_type", "nan_mode", "per_float_feature_quantization")
THREAD_PARAMS = ("thread_count",)

_POOLS = {}  # (data, target, quantization params) of the last run -> its quantized Pool; one kept


def params_for(cfg, seed):
    """Give CatBoost's params: model.params without quantization ones, plus metric, seed, device and threads."""
    task = cfg["task"]
    params = {"verbose": 0, "allow_writing_files": False, **cfg["model"]["params"], "random_seed": seed}
    for key in QUANTIZATION_PARAMS:
        params.pop(key, None)
    metric = "rmse" if cfg["metric"] == "rmsle" and cfg["target_transform"] == "log1p" else cfg["metric"]
    params.setdefault("loss_function", DEFAULT_METRICS[task])
    params.setdefault("eval_metric", EARLY_STOPPING_METRICS[task].get(metric, DEFAULT_METRICS[task]))
    if cfg["model"]["device"] == "gpu":
        params.setdefault("task_type", "GPU")
    return threads(params, THREAD_PARAMS)


def to_frame(X, categorical):
    """Give the matrix as CatBoost reads it: as it is without categoricals, else a frame with category codes
    as whole numbers (-1 for missing)."""
    if not len(categorical):
        return X  # no copy
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])], copy=False)
    for j in categorical:
        frame[f"f{j}"] = np.nan_to_num(X[:, j], nan=-1).astype(np.int64)
    return frame


def prepare(cfg, features, y):
    """Give the quantized Pool of all train rows (reused from an earlier run when features, target and bins match)."""
    X, categorical = features.X, features.categorical
    quantization = {key: cfg["model"]["params"][key] for key in QUANTIZATION_PARAMS if key in cfg["model"]["params"]}
    target = hashlib.sha1(np.ascontiguousarray(y)).hexdigest()  # the Pool holds the labels too
    key = (features.digest, target, cfg["task"], json.dumps(quantization, sort_keys=True, default=str))
    if key not in _POOLS:
        _POOLS.clear()
        started = time.perf_counter()
        pool = catboost.Pool(to_frame(X, categorical), y, cat_features=categorical)
        pool.quantize(**quantization)
        _POOLS[key] = pool
        log.info(f"  catboost: quantized {X.shape[0]:,} rows x {X.shape[1]} features in "
                 f"{time.perf_counter() - started:.1f}s")
    else:
        log.info("  catboost: reusing the quantized Pool of an earlier run (same data, target and quantization params)")
    return {"pool": _POOLS[key]}


def fit(cfg, state, y, train_idx, valid_idx, seed):
    """Give a model fitted on the rows train_idx, early-stopped on valid_idx (best iteration kept)."""
    model, params = cfg["model"], params_for(cfg, seed)
    if stopping_score(cfg):  # model.early_stopping_metric: the experiment's own metric instead of CatBoost's
        params["eval_metric"] = StoppingMetric(cfg["task"], *stopping_score(cfg)[1:])
    estimator = (catboost.CatBoostRegressor if cfg["task"] == "regression" else catboost.CatBoostClassifier)(
        iterations=model["num_boost_round"], early_stopping_rounds=model["early_stopping_rounds"] or None, **params)
    pool = state["pool"]
    # CPU only
    report = [] if cfg["model"]["device"] == "gpu" else [progress.catboost_callback(model["num_boost_round"])]
    return estimator.fit(pool.slice(train_idx), eval_set=pool.slice(valid_idx), use_best_model=True,
                         callbacks=report or None)


class StoppingMetric:
    """A metrics.py metric as CatBoost's eval_metric: CatBoost hands it raw scores (logits), one array per class."""

    def __init__(self, task, score, higher):
        self.task, self.score, self.higher = task, score, higher

    def is_max_optimal(self):
        return self.higher

    def evaluate(self, approxes, target, weight):
        raw = np.array(approxes, dtype=float)
        if self.task == "binary":
            pred = 1 / (1 + np.exp(-raw[0]))
        elif self.task == "multiclass":
            exp = np.exp(raw - raw.max(axis=0))
            pred = (exp / exp.sum(axis=0)).T
        else:
            pred = raw[0]
        return self.score(np.asarray(target), pred), 1.0

    def get_final_error(self, error, weight):
        return error


def predict(estimator, X, task):
    """Give P(positive), one column per class, or values."""
    frame = to_frame(X, estimator.get_cat_feature_indices())
    if task == "regression":
        return estimator.predict(frame)
    proba = estimator.predict(frame, prediction_type="Probability")
    return proba[:, 1] if task == "binary" else proba


def best_iteration(estimator):
    best = estimator.get_best_iteration()
    return int(best) + 1 if best is not None else int(estimator.tree_count_)


def importance(estimator, features):
    """Give CatBoost's PredictionValuesChange importance."""
    return pd.Series(estimator.get_feature_importance(), index=features, dtype=float)


def save(estimator, path_stem):
    path = path_stem.with_suffix(SUFFIX)
    estimator.save_model(str(path))
    return path


def load(path):
    # CatBoostRegressor predicts values as the fitted model did, and class probabilities when asked.
    estimator = catboost.CatBoostRegressor()
    estimator.load_model(str(path))
    return estimator
