"""Models: build, fit and predict. LightGBM by default, scikit-learn models by name.

To try another model, add it here; train.py only calls prepare, fit, predict,
importance and save.
"""
import importlib
import inspect
import pickle

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

# Our metric -> the LightGBM metric that early stopping watches. Label metrics such as
# accuracy move in coarse steps and stop too early, so they watch logloss instead.
LIGHTGBM_METRICS = {
    "binary": {"auc": "auc"},
    "multiclass": {},
    "regression": {"mae": "l1"},
}
LIGHTGBM_OBJECTIVES = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}


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
    params.setdefault("objective", LIGHTGBM_OBJECTIVES[task])
    if task == "multiclass":
        params.setdefault("num_class", n_classes)
    default_metric = {"binary": "binary_logloss", "multiclass": "multi_logloss", "regression": "rmse"}[task]
    params.setdefault("metric", LIGHTGBM_METRICS[task].get(cfg["metric"], default_metric))
    return params


def prepare(cfg, data):
    """Give what fitting needs, built once per run and shared by all folds."""
    if is_lightgbm(cfg):
        import lightgbm as lgb

        params = lightgbm_params(cfg, len(data.classes))
        # Bin the features once; each fold takes a subset instead of copying the frame.
        full = lgb.Dataset(data.X, label=data.y, categorical_feature=data.categorical or "auto", params=params)
        return {"params": params, "dataset": full.construct(), "X": data.X, "X_test": data.X_test}
    return {"X": codes_matrix(data.X), "X_test": codes_matrix(data.X_test)}


def codes_matrix(X):
    """Give a float32 matrix for scikit-learn: categories as codes, missing as NaN."""
    columns = [X[c].cat.codes.replace(-1, np.nan) if isinstance(X[c].dtype, pd.CategoricalDtype) else X[c] for c in X.columns]
    return np.column_stack([np.asarray(c, dtype=np.float32) for c in columns])


def rows(X, idx):
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else X[idx]


def fit(cfg, prepared, y, train_idx, valid_idx):
    """Give a model fitted on train_idx (LightGBM early-stops on valid_idx)."""
    if is_lightgbm(cfg):
        import lightgbm as lgb

        full = prepared["dataset"]
        callbacks = []
        if cfg["model"]["early_stopping_rounds"]:
            callbacks.append(lgb.early_stopping(cfg["model"]["early_stopping_rounds"], first_metric_only=True, verbose=False))
        return lgb.train(
            prepared["params"], full.subset(train_idx), num_boost_round=cfg["model"]["num_boost_round"],
            valid_sets=[full.subset(valid_idx)], valid_names=["valid"], callbacks=callbacks,
        )
    estimator_class = sklearn_class(cfg["model"]["name"], cfg["task"])
    params = dict(cfg["model"]["params"])
    if "random_state" in inspect.signature(estimator_class).parameters:
        params.setdefault("random_state", cfg["seed"])
    return estimator_class(**params).fit(prepared["X"][train_idx], y[train_idx])


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
