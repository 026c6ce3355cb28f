"""XGBoost (optional: pip install xgboost): histogram trees, native categoricals, early stopping.

Each fold builds a QuantileDMatrix of its train rows and one of its valid rows on the same
bins, as XGBoost's documentation advises for the hist method: the library cannot subset a
QuantileDMatrix, and a plain DMatrix of all rows kept across runs would cost more memory than
the per-fold sketch costs time.
"""
import pandas as pd
import xgboost as xgb

from model import stopping_score, threads
from models import progress

SUFFIX = ".ubj"
GPU = True

# Our metric -> the XGBoost metric that early stopping watches (label metrics watch logloss).
EARLY_STOPPING_METRICS = {
    "binary": {"auc": "auc", "gini": "auc"},
    "multiclass": {},
    "regression": {"mae": "mae", "mape": "mape", "smape": "mae"},
}
DEFAULT_METRICS = {"binary": "logloss", "multiclass": "mlogloss", "regression": "rmse"}
OBJECTIVES = {"binary": "binary:logistic", "multiclass": "multi:softprob", "regression": "reg:squarederror"}
THREAD_PARAMS = ("nthread", "n_jobs")


def params_for(cfg, n_classes, seed):
    """Give XGBoost's params: model.params plus the objective, metric, seed, device and threads."""
    task = cfg["task"]
    params = {"tree_method": "hist", "verbosity": 0, **cfg["model"]["params"], "seed": seed}
    params.setdefault("objective", OBJECTIVES[task])
    if task == "multiclass":
        params.setdefault("num_class", n_classes)
    metric = "rmse" if cfg["metric"] == "rmsle" and cfg["target_transform"] == "log1p" else cfg["metric"]
    params.setdefault("eval_metric", EARLY_STOPPING_METRICS[task].get(metric, DEFAULT_METRICS[task]))
    if cfg["model"]["device"] == "gpu":
        params.setdefault("device", "cuda")
    return threads(params, THREAD_PARAMS)


def prepare(cfg, features, y):
    """Give the matrices and the kind of each feature: 'c' (categorical, used natively) or 'q' (a number)."""
    categorical = set(features.categorical)
    kinds = ["c" if j in categorical else "q" for j in range(features.X.shape[1])]
    names = [str(c) for c in features.names]
    return {"X": features.X, "kinds": kinds, "names": names if len(set(names)) == len(names) else None,
            "n_classes": features.n_classes}


def fit(cfg, state, y, train_idx, valid_idx, seed):
    """Give a Booster fitted on train_idx, early-stopped on valid_idx when early_stopping_rounds is set."""
    model = cfg["model"]
    params = params_for(cfg, state["n_classes"], seed)
    # The matrices get the model's threads too: by default they would take every core.
    common = {"feature_types": state["kinds"], "feature_names": state["names"], "enable_categorical": True,
              "nthread": params.get("nthread", params.get("n_jobs"))}
    max_bin = params.get("max_bin", 256)
    dtrain = xgb.QuantileDMatrix(state["X"][train_idx], y[train_idx], max_bin=max_bin, **common)
    report = [progress.xgboost_callback(model["num_boost_round"])]  # a line every 30 s of a long fold
    if not model["early_stopping_rounds"]:  # nothing would read the valid rows' metric: neither build nor score them
        return xgb.train(params, dtrain, num_boost_round=model["num_boost_round"], verbose_eval=False, callbacks=report)
    dvalid = xgb.QuantileDMatrix(state["X"][valid_idx], y[valid_idx], ref=dtrain, max_bin=max_bin, **common)
    custom = {}
    if stopping_score(cfg):  # model.early_stopping_metric: the experiment's own metric instead of XGBoost's
        name, score, higher = stopping_score(cfg)
        params = {**{k: v for k, v in params.items() if k != "eval_metric"}, "disable_default_eval_metric": 1}
        custom = {"custom_metric": lambda pred, data: (name, score(data.get_label(), pred)), "maximize": higher}
    return xgb.train(params, dtrain, num_boost_round=model["num_boost_round"], evals=[(dvalid, "valid")],
                     early_stopping_rounds=model["early_stopping_rounds"], verbose_eval=False, callbacks=report,
                     **custom)


def predict(booster, X, task):
    """Give P(positive), one column per class, or values, with the trees up to the best iteration."""
    # In place: no DMatrix copy; the Booster knows which features are categorical.
    return booster.inplace_predict(X, iteration_range=(0, best_iteration(booster)))


def best_iteration(booster):
    """Give the number of rounds predictions use: the best one when early stopping ran."""
    best = booster.attributes().get("best_iteration")
    return int(best) + 1 if best is not None else booster.num_boosted_rounds()


def importance(booster, features):
    """Give the total gain of each feature's splits (0 for features never used)."""
    gain = booster.get_score(importance_type="total_gain")
    names = booster.feature_names or [f"f{j}" for j in range(len(features))]
    return pd.Series([gain.get(name, 0.0) for name in names], index=features, dtype=float)


def save(booster, path_stem):
    path = path_stem.with_suffix(SUFFIX)
    booster.save_model(str(path))  # keeps best_iteration, which predict reads back
    return path


def load(path):
    booster = xgb.Booster()
    booster.load_model(str(path))
    return booster
