"""How a model is built, fit and asked for predictions: the calls train.py makes on any model family.

One small module per family in models/; add one there and give it a line in FAMILIES below.

Families (model.name): lightgbm (lightgbm.py), xgboost (xgboost.py), catboost (catboost.py), and
scikit-learn models by name (sklearn.py). Each family module offers the same operations, so this
file never asks which family it holds:

    prepare(cfg, features) -> state    once per fold's features, shared by folds and runs whose
                                       features are the same (e.g. LightGBM's bins); `features` is
                                       a Features: the matrices, names, categorical positions, digest
    fit(cfg, state, y, train_idx, valid_idx, seed) -> model   one fold, early stopping where the library has it
    predict(model, X, task) -> predictions    P(positive) | one column per class | values (model scale)
    best_iteration(model), importance(model, features)
    save(model, path_stem) -> path,  load(path) -> model

The calls below work without training, for predicting from a finished run's record:

    X = to_matrix(features)                       the feature matrix every family reads
    fold = load_fold(cfg, run_dir / "models", k)  the fold's model(s), one per seed
    pred = predict_fold(cfg, fold, X)             on the model's scale (mean over seeds)
    train.to_original_scale(cfg, pred)            undoes target_transform; a run's test_pred.csv is the mean
                                                  of this over its folds

To add a family: write models/<name>.py with the operations above, and add one line to FAMILIES.
Beside the families in models/: thread_count.py (the run's thread count, chosen and logged) and progress.py
(the boosting libraries' callbacks that report a long fold's progress).
"""
import hashlib
import importlib
import os
from typing import NamedTuple

import numpy as np
import pandas as pd

from models import thread_count

# model.name -> (module in this folder, pip package it needs or None when requirements.txt has it).
FAMILIES = {
    "lightgbm": ("models.lightgbm", None),
    "xgboost": ("models.xgboost", "xgboost"),
    "catboost": ("models.catboost", "catboost"),
    **{name: ("models.sklearn", None) for name in (
        "random_forest", "extra_trees", "hist_gradient_boosting", "logistic_regression", "ridge")},
}
MODEL_NAMES = list(FAMILIES)
DEVICES = ("cpu", "gpu")
THREADS_ENV = "KAGGLE_EXP_THREADS"  # set by exp.py --jobs: threads for each worker


class Features(NamedTuple):
    """What a family's prepare reads: the matrices, and what describes them."""
    X: np.ndarray            # train rows
    X_test: np.ndarray
    names: list              # column names
    categorical: list        # positions of the categorical columns
    n_classes: int           # 0 for regression
    digest: str              # of X's content, names and categorical positions: what caches are keyed by


def family(cfg):
    """Give the module of cfg's model family."""
    return importlib.import_module(FAMILIES[cfg["model"]["name"]][0])


def missing_package(name):
    """Give the pip package model.name needs and cannot import (with the reason), or None when it imports."""
    package = FAMILIES[name][1]
    if package is None:
        return None
    try:
        importlib.import_module(package)
    except ImportError as e:
        return package, str(e)
    return None


def threads(params, names):
    """Give params with the run's thread count (thread_count.py), unless params set one under any of `names`.

    The one place where --jobs and the chosen count reach the models: names[0] is the family's own key for threads.
    """
    value = thread_count.chosen() or os.environ.get(THREADS_ENV)  # the env alone when no run chose (predict.py)
    if not value or any(name in params for name in names):
        return params
    return {**params, names[0]: int(value)}


def stopping_score(cfg):
    """Give (name, score(y, pred), higher_is_better) of model.early_stopping_metric on the model's scale, or None.

    auto (None): each family stops on the library's own metric for the task (the experiment's metric where the
    library has it). A metrics.py name: early stopping watches that metric, scored as the run is (on the
    target's own scale when target_transform is set), through the family's custom-metric hook.
    """
    name = cfg["model"].get("early_stopping_metric", "auto")
    if name == "auto":
        return None
    from metrics import METRICS
    from tabular.encoding import to_original_scale

    def score(y, pred):
        y, pred = np.asarray(y), np.asarray(pred)
        if cfg["task"] == "regression":
            return float(METRICS[name].score(to_original_scale(cfg, y), to_original_scale(cfg, pred)))
        return float(METRICS[name].score(y.astype(int), pred))

    return name, score, METRICS[name].higher_is_better


def seeds(cfg):
    """Give the seeds each fold trains with: model.seeds, or the run's seed."""
    return list(cfg["model"]["seeds"] or [cfg["seed"]])


# ---------------------------------------------------------------- the calls train.py makes

def prepare(cfg, X, X_test, y, n_classes):
    """Give what fitting needs, for one set of features (frames); y is the target the models learn.

    Caches (LightGBM's bins, CatBoost's Pool) are keyed by the features' content, so runs and folds
    on the same features share them, and features that changed are never served stale ones.
    """
    features = to_features(X, X_test, n_classes)
    module = family(cfg)
    names = getattr(module, "THREAD_PARAMS",
                    ("n_jobs",) if cfg["model"]["name"] in getattr(module, "PARALLEL_MODELS", ()) else None)
    if names:
        thread_count.decide(cfg, *features.X.shape, names)  # logged once per run
    else:
        thread_count.forget()
    return {"X": features.X, "X_test": features.X_test, "names": features.names,
            "family": module.prepare(cfg, features, y)}


def to_features(X, X_test, n_classes):
    """Give the Features of train and test frames: matrices, names, categorical positions, and their digest."""
    matrix, test_matrix = to_matrix(X), to_matrix(X_test)
    categorical = [j for j, dtype in enumerate(X.dtypes) if isinstance(dtype, pd.CategoricalDtype)]
    digest = hashlib.sha1()  # content, not identity; sha1 is the fastest here (0.36 s for 200 MB, blake2b 0.95 s)
    digest.update(repr((list(map(str, X.columns)), categorical, matrix.shape, str(matrix.dtype))).encode())
    digest.update(matrix.T if matrix.flags.f_contiguous else np.ascontiguousarray(matrix))  # the bytes, uncopied
    return Features(matrix, test_matrix, list(X.columns), categorical, n_classes, digest.hexdigest())


def fit_fold(cfg, prepared, y, train_idx, valid_idx):
    """Give the fold's models, one per seed, fitted on train_idx (early stopping on valid_idx)."""
    module = family(cfg)
    return [module.fit(cfg, prepared["family"], y, train_idx, valid_idx, seed) for seed in seeds(cfg)]


def predict_fold(cfg, fold_models, X):
    """Give the mean prediction of the fold's models (one per seed), on the model's scale."""
    module = family(cfg)
    return sum(module.predict(m, X, cfg["task"]) for m in fold_models) / len(fold_models)


def best_iteration(cfg, fold_models):
    """Give the boosting round used for prediction (mean over seeds), or None for models without rounds."""
    rounds = [family(cfg).best_iteration(m) for m in fold_models]
    return None if rounds[0] is None else int(round(np.mean(rounds)))


def importance(cfg, fold_models, features):
    """Give feature importance by feature, the mean over seeds."""
    module = family(cfg)
    return pd.concat([module.importance(m, features) for m in fold_models], axis=1).mean(axis=1)


def save_fold(cfg, fold_models, models_dir, k):
    """Write models/fold<k>.<ext> (fold<k>_seed<s>.<ext> with several seeds); give the paths."""
    module, fold_seeds = family(cfg), seeds(cfg)
    stems = [f"fold{k}"] if len(fold_seeds) == 1 else [f"fold{k}_seed{s}" for s in fold_seeds]
    try:
        paths = [module.save(m, models_dir / stem) for m, stem in zip(fold_models, stems)]
    except OSError:
        raise
    except Exception:  # a library's own error for a file it could not write: say so when the folder refuses writes
        raise_write_error(models_dir / stems[0])
        raise
    raise_write_error(models_dir / stems[0])  # XGBoost and CatBoost write nothing to a full disk without a word
    return paths


def raise_write_error(path):
    """Raise the OSError (a full disk, a read-only folder) that a small write beside `path` meets; else return None."""
    probe = path.with_name(f".{path.name}.write-probe")
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * 4096)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    finally:
        probe.unlink(missing_ok=True)


def load_fold(cfg, models_dir, k):
    """Give the models save_fold wrote for fold k, one per seed, ready for predict_fold."""
    module, fold_seeds = family(cfg), seeds(cfg)
    stems = [f"fold{k}"] if len(fold_seeds) == 1 else [f"fold{k}_seed{s}" for s in fold_seeds]
    return [module.load(models_dir / f"{stem}{module.SUFFIX}") for stem in stems]


def to_matrix(X):
    """Give the features as one matrix: category codes, missing values as NaN; float32 unless a column needs more."""
    exact = all(dtype == np.float32 or isinstance(dtype, pd.CategoricalDtype) for dtype in X.dtypes)
    # Column-major, so each column is copied in one piece; the libraries read it as it is.
    matrix = np.empty(X.shape, dtype=np.float32 if exact else np.float64, order="F")
    for j, c in enumerate(X.columns):
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            codes = X[c].cat.codes.to_numpy()
            matrix[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            matrix[:, j] = X[c].to_numpy(matrix.dtype, na_value=np.nan)
    return matrix


def unknown_params(cfg):
    """Give (keys of model.params the chosen model does not take, the keys it takes), or None when it cannot tell.

    Only scikit-learn models can tell without importing a library, which would slow down `exp.py --list`.
    """
    if FAMILIES[cfg["model"]["name"]][0] != "models.sklearn":
        return None
    return family(cfg).unknown_params(cfg)
