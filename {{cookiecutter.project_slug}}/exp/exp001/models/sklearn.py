"""scikit-learn models by name: random forests, extra trees, histogram boosting, linear models.

No early stopping and no rounds: each fold fits the estimator once. Linear models get missing
values imputed and features scaled in a pipeline; trees take the matrix as it is.
"""
import importlib
import inspect
import pickle

import numpy as np
import pandas as pd

from model import threads

SUFFIX = ".pkl"
GPU = False  # scikit-learn runs on the CPU only

# model.name -> (module, classifier, regressor); None where the model has no such variant.
SKLEARN_MODELS = {
    "random_forest": ("sklearn.ensemble", "RandomForestClassifier", "RandomForestRegressor"),
    "extra_trees": ("sklearn.ensemble", "ExtraTreesClassifier", "ExtraTreesRegressor"),
    "hist_gradient_boosting": ("sklearn.ensemble", "HistGradientBoostingClassifier", "HistGradientBoostingRegressor"),
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression", None),
    "ridge": ("sklearn.linear_model", None, "Ridge"),
}
LINEAR_MODELS = ("logistic_regression", "ridge")
PARALLEL_MODELS = ("random_forest", "extra_trees")  # the ones whose n_jobs sets their threads


def estimator_class(name, task):
    """Give the scikit-learn estimator class for model.name and the task."""
    module, classifier, regressor = SKLEARN_MODELS[name]
    class_name = regressor if task == "regression" else classifier
    if class_name is None:
        kind = "regression" if task == "regression" else "classification"
        raise ValueError(f"model.name {name} has no {kind} variant")
    return getattr(importlib.import_module(module), class_name)


def unknown_params(cfg):
    """Give (keys of model.params the estimator does not take, the parameters it takes)."""
    accepted = inspect.signature(estimator_class(cfg["model"]["name"], cfg["task"])).parameters
    return [key for key in cfg["model"]["params"] if key not in accepted], sorted(accepted)


def prepare(cfg, features, y):
    """Give the train matrix: each fold fits on its rows."""
    return {"X": features.X}


def fit(cfg, state, y, train_idx, valid_idx, seed):
    """Give the estimator fitted on train_idx (valid_idx is not used: no early stopping)."""
    cls = estimator_class(cfg["model"]["name"], cfg["task"])
    accepted = inspect.signature(cls).parameters
    params = dict(cfg["model"]["params"])
    if "random_state" in accepted:
        params["random_state"] = seed
    if cfg["model"]["name"] in PARALLEL_MODELS:
        params = threads(params, ("n_jobs",))
    estimator = cls(**params)
    if cfg["model"]["name"] in LINEAR_MODELS:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator = make_pipeline(SimpleImputer(), StandardScaler(), estimator)
    return estimator.fit(state["X"][train_idx], y[train_idx])


def predict(estimator, X, task):
    """Give P(positive), one column per class, or values."""
    if task == "regression":
        return estimator.predict(X)
    proba = estimator.predict_proba(X)
    return proba[:, 1] if task == "binary" else proba


def best_iteration(estimator):
    return None


def importance(estimator, features):
    """Give the estimator's own importance, or the mean absolute coefficient for linear models."""
    estimator = estimator[-1] if hasattr(estimator, "steps") else estimator  # a pipeline's estimator
    if hasattr(estimator, "feature_importances_"):
        values = estimator.feature_importances_
    elif hasattr(estimator, "coef_"):
        values = np.abs(np.atleast_2d(estimator.coef_)).mean(axis=0)
    else:
        values = np.full(len(features), np.nan)
    return pd.Series(values, index=features, dtype=float)


def save(estimator, path_stem):
    path = path_stem.with_suffix(SUFFIX)
    path.write_bytes(pickle.dumps(estimator))
    return path


def load(path):
    return pickle.loads(path.read_bytes())
