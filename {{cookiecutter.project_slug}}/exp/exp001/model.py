"""Models: build, fit and predict. LightGBM by default, scikit-learn models by name.

To try another model, add it here; train.py only calls prepare, fit, predict,
best_iteration, importance and save.
"""
import importlib
import inspect
import pickle
import re

import numpy as np
import pandas as pd

# model.name -> (module, classifier, regressor); None where the model has no such variant.
SKLEARN_MODELS = {
    "random_forest": ("sklearn.ensemble", "RandomForestClassifier", "RandomForestRegressor"),
    "extra_trees": ("sklearn.ensemble", "ExtraTreesClassifier", "ExtraTreesRegressor"),
    "hist_gradient_boosting": ("sklearn.ensemble", "HistGradientBoostingClassifier", "HistGradientBoostingRegressor"),
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression", None),
    "ridge": ("sklearn.linear_model", None, "Ridge"),
}
MODEL_NAMES = ["lightgbm", *SKLEARN_MODELS]
# Linear models need scaled features without missing values; trees take them as they are.
LINEAR_MODELS = ("logistic_regression", "ridge")

# Our metric -> the LightGBM metric that early stopping watches. Label metrics such as
# accuracy move in coarse steps and stop too early, so they watch logloss instead.
LIGHTGBM_METRICS = {
    "binary": {"auc": "auc"},
    "multiclass": {},
    "regression": {"mae": "l1"},
}
LIGHTGBM_DEFAULT_METRICS = {"binary": "binary_logloss", "multiclass": "multi_logloss", "regression": "rmse"}


def is_lightgbm(cfg):
    return cfg["model"]["name"] == "lightgbm"


def sklearn_class(name, task):
    """Give the scikit-learn estimator class for model.name and the task."""
    module, classifier, regressor = SKLEARN_MODELS[name]
    class_name = regressor if task == "regression" else classifier
    if class_name is None:
        kind = "regression" if task == "regression" else "classification"
        raise ValueError(f"model.name {name} has no {kind} variant")
    return getattr(importlib.import_module(module), class_name)


def lightgbm_params(cfg, n_classes):
    """Give LightGBM's params: model.params plus the objective and metric the task needs."""
    task = cfg["task"]
    params = {"seed": cfg["seed"], "verbosity": -1, **cfg["model"]["params"]}
    params.setdefault("objective", task)
    if task == "multiclass":
        params.setdefault("num_class", n_classes)
    params.setdefault("metric", LIGHTGBM_METRICS[task].get(cfg["metric"], LIGHTGBM_DEFAULT_METRICS[task]))
    return params


def prepare(cfg, data):
    """Give what fitting needs, built once per run and shared by all folds."""
    prepared = {"X": to_matrix(data.X), "X_test": to_matrix(data.X_test)}
    if is_lightgbm(cfg):
        import lightgbm as lgb

        params = lightgbm_params(cfg, len(data.classes))
        # LightGBM refuses names with JSON characters such as [ ] : " , so those become _.
        names = [re.sub(r"[^\w.-]", "_", str(c)) for c in data.X.columns]
        categorical = [j for j, c in enumerate(data.X.columns) if c in data.categorical]
        # Bin the features once; each fold trains on a subset of the bins instead of a copy of the rows.
        full = lgb.Dataset(prepared["X"], label=data.y, feature_name=names if len(set(names)) == len(names) else "auto",
                           categorical_feature=categorical, params=params)
        prepared.update(params=params, dataset=full.construct())
    return prepared


def to_matrix(X):
    """Give the features as one matrix: category codes, missing values as NaN; float32 unless a column needs more."""
    exact = all(dtype == np.float32 or isinstance(dtype, pd.CategoricalDtype) for dtype in X.dtypes)
    # Column-major, so each column is copied in one piece; LightGBM and scikit-learn read it as it is.
    matrix = np.empty(X.shape, dtype=np.float32 if exact else np.float64, order="F")
    for j, c in enumerate(X.columns):
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            codes = X[c].cat.codes.to_numpy()
            matrix[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            matrix[:, j] = X[c].to_numpy(matrix.dtype, na_value=np.nan)
    return matrix


def fit(cfg, prepared, y, train_idx, valid_idx):
    """Give a model fitted on train_idx (LightGBM early-stops on valid_idx)."""
    model = cfg["model"]
    if is_lightgbm(cfg):
        import lightgbm as lgb

        full = prepared["dataset"]
        callbacks = []
        if model["early_stopping_rounds"]:
            callbacks.append(lgb.early_stopping(model["early_stopping_rounds"], first_metric_only=True, verbose=False))
        return lgb.train(
            prepared["params"], full.subset(train_idx), num_boost_round=model["num_boost_round"],
            valid_sets=[full.subset(valid_idx)], valid_names=["valid"], callbacks=callbacks,
        )
    estimator_class = sklearn_class(model["name"], cfg["task"])
    params = dict(model["params"])
    if "random_state" in inspect.signature(estimator_class).parameters:
        params.setdefault("random_state", cfg["seed"])
    estimator = estimator_class(**params)
    if model["name"] in LINEAR_MODELS:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator = make_pipeline(SimpleImputer(), StandardScaler(), estimator)
    return estimator.fit(prepared["X"][train_idx], y[train_idx])


def unknown_params(cfg):
    """Give (keys of model.params the chosen scikit-learn model does not take, the parameters it takes)."""
    accepted = inspect.signature(sklearn_class(cfg["model"]["name"], cfg["task"])).parameters
    return [key for key in cfg["model"]["params"] if key not in accepted], sorted(accepted)


def predict(model, X, task):
    """Give predictions: P(positive) for binary, one column per class for multiclass, values for regression."""
    if hasattr(model, "best_iteration"):  # LightGBM Booster
        return model.predict(X, num_iteration=model.best_iteration or None)
    if task == "regression":
        return model.predict(X)
    proba = model.predict_proba(X)
    return proba[:, 1] if task == "binary" else proba


def best_iteration(model):
    """Give the boosting round used for prediction, or None for models without rounds."""
    if hasattr(model, "best_iteration"):
        return int(model.best_iteration or model.current_iteration())
    return None


def importance(model, features):
    """Give feature importance (LightGBM gain, or the estimator's own measure) by feature."""
    model = model[-1] if hasattr(model, "steps") else model  # a pipeline's estimator
    if hasattr(model, "feature_importance"):
        values = model.feature_importance(importance_type="gain")
    elif hasattr(model, "feature_importances_"):
        values = model.feature_importances_
    elif hasattr(model, "coef_"):
        values = np.abs(np.atleast_2d(model.coef_)).mean(axis=0)
    else:
        values = np.full(len(features), np.nan)
    return pd.Series(values, index=features, dtype=float)


def save(model, path_stem):
    """Write the model next to the run's other outputs; give the file's path."""
    if hasattr(model, "save_model"):
        path = path_stem.with_suffix(".txt")
        model.save_model(str(path))
    else:
        path = path_stem.with_suffix(".pkl")
        path.write_bytes(pickle.dumps(model))
    return path
