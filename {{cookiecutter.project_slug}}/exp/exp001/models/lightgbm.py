"""LightGBM: bin the features once, train each fold on a subset of the bins, early-stop on the fold's rows.

Runs in one process that share the data and every binning parameter share one binned Dataset,
so a sweep over learning_rate or num_leaves bins the data once. A run that changes max_bin,
min_data_in_bin, the categorical features (...) bins its own.
"""
import json
import re
import time

import lightgbm as lgb
import numpy as np
import pandas as pd

from model import stopping_score, threads
from models import progress
from runner.util import log

SUFFIX = ".txt"
GPU = True  # model.device: gpu -> device_type gpu (OpenCL); model.params.device_type: cuda for a CUDA build

# Our metric -> the LightGBM metric that early stopping watches. Label metrics such as
# accuracy move in coarse steps and stop too early, so they watch logloss instead.
EARLY_STOPPING_METRICS = {
    "binary": {"auc": "auc", "gini": "auc"},
    "multiclass": {},
    "regression": {"mae": "l1", "mape": "mape", "smape": "l1"},
}
DEFAULT_METRICS = {"binary": "binary_logloss", "multiclass": "multi_logloss", "regression": "rmse"}

# Params that decide how the features are binned (with their aliases): a change in one bins the data again.
BINNING_PARAMS = {
    "max_bin": ("max_bin", "max_bins"), "max_bin_by_feature": ("max_bin_by_feature",),
    "min_data_in_bin": ("min_data_in_bin",),
    "bin_construct_sample_cnt": ("bin_construct_sample_cnt", "subsample_for_bin"),
    "data_random_seed": ("data_random_seed", "data_seed"), "use_missing": ("use_missing",),
    "zero_as_missing": ("zero_as_missing",), "feature_pre_filter": ("feature_pre_filter",),
    "enable_bundle": ("enable_bundle", "is_enable_bundle", "bundle"),
    "is_enable_sparse": ("is_enable_sparse", "is_sparse", "enable_sparse", "sparse"),
    "forcedbins_filename": ("forcedbins_filename",), "linear_tree": ("linear_tree", "linear_trees"),
}
# With feature_pre_filter on (not our default), the bins also depend on min_data_in_leaf.
PRE_FILTER_PARAMS = ("min_data_in_leaf", "min_data_per_leaf", "min_data", "min_child_samples", "min_samples_leaf")
THREAD_PARAMS = ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs")

_BINNED = {}  # (data, binning params) of the last run -> its constructed Dataset; one kept, to bound memory


def params_for(cfg, n_classes, seed):
    """Give LightGBM's params: model.params plus the objective, metric, seed, device and threads."""
    task = cfg["task"]
    params = {"verbosity": -1, **cfg["model"]["params"], "seed": seed}
    params.setdefault("objective", task)
    if task == "multiclass":
        params.setdefault("num_class", n_classes)
    metric = "rmse" if cfg["metric"] == "rmsle" and cfg["target_transform"] == "log1p" else cfg["metric"]
    params.setdefault("metric", EARLY_STOPPING_METRICS[task].get(metric, DEFAULT_METRICS[task]))
    if cfg["model"]["device"] == "gpu":
        params.setdefault("device_type", "gpu")
    return threads(params, THREAD_PARAMS)


def binning_params(cfg):
    """Give the params that decide the bins: the binning ones set in model.params, pre-filtering off."""
    given = cfg["model"]["params"]
    chosen = {name: given[alias] for name, aliases in BINNING_PARAMS.items() for alias in aliases if alias in given}
    # Off, so that a run may change min_data_in_leaf on the same bins.
    chosen.setdefault("feature_pre_filter", False)
    if chosen["feature_pre_filter"]:
        chosen.update({alias: given[alias] for alias in PRE_FILTER_PARAMS if alias in given})
    return chosen


def prepare(cfg, features, y):
    """Give the binned Dataset of all train rows (reused from an earlier run when nothing binning-related changed)."""
    params = binning_params(cfg)
    X, categorical = features.X, features.categorical
    key = (features.digest, json.dumps(params, sort_keys=True, default=str))
    if key not in _BINNED:
        _BINNED.clear()
        started = time.perf_counter()
        # Binning uses the run's threads too (not part of the key: they do not change the bins).
        threads = {k: v for k, v in params_for(cfg, features.n_classes, cfg["seed"]).items() if k in THREAD_PARAMS}
        # LightGBM refuses names with JSON characters such as [ ] : " , so those become _.
        names = [re.sub(r"[^\w.-]", "_", str(c)) for c in features.names]
        full = lgb.Dataset(X, label=np.zeros(len(X)), feature_name=names if len(set(names)) == len(names) else "auto",
                           categorical_feature=categorical, params={"verbosity": -1, **threads, **params},
                           free_raw_data=True)
        _BINNED[key] = full.construct()
        log.info(f"  lightgbm: binned {X.shape[0]:,} rows x {X.shape[1]} features in "
                 f"{time.perf_counter() - started:.1f}s")
    else:
        log.info("  lightgbm: reusing the binned features of an earlier run (same data and binning params)")
    full = _BINNED[key]
    full.set_label(y)  # this run's target (transformed, if target_transform says so) on the shared bins
    return {"dataset": full, "n_classes": features.n_classes}


def subset(full, idx):
    """Give the rows idx of the binned Dataset, without copying the raw features."""
    part = full.subset(idx)
    # LightGBM 4.0-4.5's train() resets the categorical features of its training set to 'auto', which
    # a subset refuses once the raw data is freed; 'auto' here keeps the bins the full Dataset made.
    part.categorical_feature = "auto"
    return part


def fit(cfg, state, y, train_idx, valid_idx, seed):
    """Give a Booster fitted on train_idx, early-stopped on valid_idx when early_stopping_rounds is set."""
    model = cfg["model"]
    full = state["dataset"]
    stopping = {"callbacks": [progress.lightgbm_callback(model["num_boost_round"])]}  # a line every 30 s of a long fold
    # Without early stopping nothing reads the valid rows' metric, which LightGBM would compute every
    # round (8% of a 1M-row fold's training here); train.py scores the fold from its predictions.
    params, custom = params_for(cfg, state["n_classes"], seed), stopping_score(cfg)
    if model["early_stopping_rounds"]:
        stopping = {"valid_sets": [subset(full, valid_idx)], "valid_names": ["valid"], "callbacks": [
            lgb.early_stopping(model["early_stopping_rounds"], first_metric_only=True, verbose=False),
            *stopping["callbacks"]]}
        if custom:  # model.early_stopping_metric: the experiment's own metric instead of LightGBM's
            name, score, higher = custom
            params["metric"] = "None"
            stopping["feval"] = lambda pred, data: (name, score(data.get_label(), pred), higher)
    # keep_training_booster: otherwise train() copies the model through its text form to drop the training
    # data (8 ms a fold on 120 rows, half the training); train.py frees each fold's Booster before the next.
    return lgb.train(params, subset(full, train_idx), num_boost_round=model["num_boost_round"],
                     keep_training_booster=True, **stopping)


def predict(booster, X, task):
    """Give P(positive), one column per class, or values, on the threads the model was trained with."""
    # Booster.predict ignores the training params' threads and takes every core; on a busy machine those
    # OpenMP threads wait on each other: 150 rows took 15 ms on 2 threads here, 0.4 ms on the 1 asked for.
    params = getattr(booster, "params", None) or {}
    threads = next((params[k] for k in THREAD_PARAMS if params.get(k)), None)
    return booster.predict(X, num_iteration=booster.best_iteration or None,
                           **({"num_threads": int(threads)} if threads else {}))


def best_iteration(booster):
    return int(booster.best_iteration or booster.current_iteration())


def importance(booster, features):
    """Give the total gain of each feature's splits."""
    return pd.Series(booster.feature_importance(importance_type="gain"), index=features, dtype=float)


def save(booster, path_stem):
    path = path_stem.with_suffix(SUFFIX)
    booster.save_model(str(path))
    return path


def load(path):
    # save_model kept the trees up to the best iteration, so the loaded Booster predicts with all of them.
    return lgb.Booster(model_file=str(path))
