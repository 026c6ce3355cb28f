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
from folds import GROUP_SCHEMES, make_folds
from submission import check_layout, check_submission, make_submission, predicted_codes, prediction_frame
from util import ConfigError, DataError, log, write_csv, write_json

TASKS = ("binary", "multiclass", "regression")
CV_SCHEMES = ("kfold", "stratified", "group", "stratified_group")


# ---------------------------------------------------------------- metrics
# A prediction is P(positive) for binary, one column per class for multiclass, values for regression.
# scikit-learn is imported inside, so `exp.py --list` stays quick.

def _accuracy(y, p):
    return float(np.mean(predicted_codes(p) == y))


def _f1(y, p):
    from sklearn.metrics import f1_score
    return float(f1_score(y, predicted_codes(p), average="binary" if p.ndim == 1 else "macro"))


def _auc(y, p):
    if p.ndim == 1:
        return _binary_auc(y, p)
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y, p, multi_class="ovr", labels=range(p.shape[1])))


def _binary_auc(y, p):
    """ROC AUC from ranks (Mann-Whitney U; tied predictions share their mean rank): scikit-learn's value,
    5 to 7 times faster, which counts when every fold and the out-of-fold rows of a 1M-row run are scored."""
    if np.isnan(p).any():  # scikit-learn refuses them too; unranked, they would skew the score
        raise ValueError(f"auc: {int(np.isnan(p).sum())} predictions are NaN")
    order = np.argsort(p)
    sorted_p, positive = p[order], y[order] == 1
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])  # first position of each run of ties
    ends = np.r_[starts[1:], len(p)]
    ranks = np.repeat((starts + ends + 1) / 2, ends - starts)  # 1-based mean rank of each run
    n_pos = int(positive.sum())
    n_neg = len(p) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DataError("auc: the scored rows hold one class only, so AUC is undefined. "
                        "Fix: use stratified folds (cv.scheme: stratified) or fewer cv.n_splits.")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _logloss(y, p):
    from sklearn.metrics import log_loss
    return float(log_loss(y, p, labels=range(p.shape[1]) if p.ndim == 2 else [0, 1]))


def _rmse(y, p):
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _r2(y, p):
    from sklearn.metrics import r2_score
    return float(r2_score(y, p))


def _qwk(y, p):
    """Quadratic weighted kappa: classes by argmax, or regression values rounded to the nearest whole number
    within the target's range (no tuned thresholds)."""
    from sklearn.metrics import cohen_kappa_score
    if p.ndim == 2:
        return float(cohen_kappa_score(y, p.argmax(axis=1), weights="quadratic"))
    rounded = np.clip(np.rint(p), np.min(y), np.max(y))
    return float(cohen_kappa_score(np.rint(y).astype(int), rounded.astype(int), weights="quadratic"))


def _mcc(y, p):
    from sklearn.metrics import matthews_corrcoef
    return float(matthews_corrcoef(y, predicted_codes(p)))


def _balanced_accuracy(y, p):
    from sklearn.metrics import balanced_accuracy_score
    return float(balanced_accuracy_score(y, predicted_codes(p)))


def _mape(y, p):
    """Mean absolute percentage error as a fraction (0.1 = 10%), like scikit-learn's."""
    return float(np.mean(np.abs(y - p) / np.maximum(np.abs(y), np.finfo(np.float64).eps)))


def _smape(y, p):
    """Symmetric MAPE in percent (0 to 200), as Kaggle scores it: a row where both are 0 counts 0."""
    denominator = np.abs(y) + np.abs(p)
    ratio = np.divide(2 * np.abs(p - y), denominator, out=np.zeros(len(y)), where=denominator != 0)
    return float(100 * np.mean(ratio))


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
    "gini": Metric(("binary",), True, False, lambda y, p: 2 * _auc(y, p) - 1),  # normalized Gini
    "logloss": Metric(CLASSIFICATION, False, False, _logloss),
    "mcc": Metric(CLASSIFICATION, True, True, _mcc),
    "balanced_accuracy": Metric(CLASSIFICATION, True, True, _balanced_accuracy),
    "qwk": Metric(("multiclass", "regression"), True, True, _qwk),
    "rmse": Metric(REGRESSION, False, False, _rmse),
    "mae": Metric(REGRESSION, False, False, lambda y, p: float(np.mean(np.abs(y - p)))),
    "rmsle": Metric(REGRESSION, False, False, lambda y, p: _rmse(np.log1p(y), np.log1p(np.clip(p, 0, None)))),
    "mape": Metric(REGRESSION, False, False, _mape),
    "smape": Metric(REGRESSION, False, False, _smape),
    "r2": Metric(REGRESSION, True, False, _r2),
}


# ---------------------------------------------------------------- your own metric
# Write score(y, prediction) -> float and add it below with the tasks it fits and its direction.
# Its name then works as `metric:` in config.yml, in blends and on the leaderboard. Early stopping
# watches the model's default metric for the task (logloss, rmse). Example:
#
#   def _median_ae(y, p):
#       return float(np.median(np.abs(y - p)))
#
#   "median_ae": Metric(REGRESSION, higher_is_better=False, needs_labels=False, score=_median_ae),
METRICS.update({
})


# ---------------------------------------------------------------- target transforms
# target_transform in config.yml: the models learn transform(y); every prediction is turned back.
TARGET_TRANSFORMS = {
    "log1p": (np.log1p, np.expm1, -1),        # (transform, inverse, the target must be above this)
    "sqrt": (np.sqrt, np.square, None),
}
TARGET_TRANSFORM_NAMES = [None, *TARGET_TRANSFORMS]


def to_model_scale(cfg, y):
    """Give the target the models learn: y transformed by target_transform."""
    name = cfg["target_transform"]
    return y if name is None else TARGET_TRANSFORMS[name][0](y)


def to_original_scale(cfg, pred):
    """Give model-scale predictions back on the target's own scale (the inverse of target_transform)."""
    name = cfg["target_transform"]
    return pred if name is None else TARGET_TRANSFORMS[name][1](pred)


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
    if cv["scheme"] in GROUP_SCHEMES and not cv["group"]:
        fail("cv.group", cv["group"], [f"the name of the train column whose rows must share a fold (cv.scheme is {cv['scheme']})"])
    if not isinstance(cv["n_splits"], int) or cv["n_splits"] < 2:
        fail("cv.n_splits", cv["n_splits"], ["a whole number of at least 2"])
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)
    if not whole(cfg["seed"]):
        fail("seed", cfg["seed"], ["a whole number, like 42"])
    if cfg["target_transform"] not in TARGET_TRANSFORM_NAMES:
        fail("target_transform", cfg["target_transform"], ["null", *TARGET_TRANSFORMS])
    if cfg["target_transform"] is not None and cfg["task"] != "regression":
        fail("target_transform", cfg["target_transform"], [f"null (task is {cfg['task']}; transforms are for regression)"])
    check_model_config(cfg, where, fail, whole)


def check_model_config(cfg, where, fail, whole):
    """Raise ConfigError for a model section no run could train with, or a family that is not installed."""
    model = cfg["model"]
    name = model["name"]
    if name not in models.MODEL_NAMES:
        fail("model.name", name, models.MODEL_NAMES)
    if model["device"] not in models.DEVICES:
        fail("model.device", model["device"], models.DEVICES)
    if model["seeds"] is not None and not (isinstance(model["seeds"], list) and model["seeds"] and all(map(whole, model["seeds"]))):
        fail("model.seeds", model["seeds"], ["null (the run's seed)", "a list of whole numbers, like [0, 1, 2]"])
    seed_keys = [key for key in model["params"] if key in ("seed", "random_seed", "random_state")]
    if seed_keys:
        raise ConfigError(f"{where}: model.params.{seed_keys[0]} would be replaced by the run's seed. "
                          "Fix: set `seed:` for one seed, or model.seeds: [0, 1, 2] to average several, and drop it from model.params.")
    missing = models.missing_package(name)
    if missing:
        raise ConfigError(f"{where}: model.name is {name}, but the {missing[0]} package cannot be imported ({missing[1]}). "
                          f"Fix: pip install {missing[0]} (see requirements.txt), or choose another model.name.")
    if model["device"] == "gpu" and not getattr(models.family(cfg), "GPU", False):
        raise ConfigError(f"{where}: model.device is gpu, but {name} (scikit-learn) runs on the CPU only. "
                          "Fix: set model.device: cpu, or use lightgbm, xgboost or catboost on a GPU.")
    try:
        checked = models.unknown_params(cfg)
    except ValueError as e:
        raise ConfigError(f"{where}: {e} (task is {cfg['task']}). Fix: choose another model.name.") from None
    if checked and checked[0]:
        unknown, accepted = checked
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
    log.info(f"  data: train {len(data.y):,} rows x {data.X.shape[1]} features, test {len(data.X_test):,} rows"
             + (f", {len(data.classes)} classes" if data.classes else "")
             + (f"; categorical: {', '.join(map(str, data.categorical))}" if data.categorical else ""))
    check_target(cfg, data.y)
    if cfg["metric"] == "rmsle" and cfg["target_transform"] is None:
        log.info("  hint: metric rmsle is rmse on log(1 + y); set target_transform: log1p so the model learns that scale")
    folds = make_folds(data, cfg["cv"], cfg["seed"])
    result = cross_validate(cfg, data, folds, run_dir)
    save_predictions(cfg, data, folds, result, run_dir)
    return result["metrics"]


def check_before_training(cfg, data):
    """Raise DataError for what would stop a run only after its training: the target, the sample's layout."""
    check_target(cfg, data.y)
    columns = [c for c in data.sample.columns if c != cfg["data"]["id"]]
    check_layout(cfg, data.classes, columns, METRICS[cfg["metric"]].needs_labels)


def check_target(cfg, y):
    """Raise DataError for a target the metric or target_transform cannot take."""
    name, transform = cfg["data"]["target"], cfg["target_transform"]
    if cfg["metric"] == "rmsle" and (y < 0).any():
        raise DataError(f"target {name!r} has negative values, which metric rmsle cannot score. "
                        "Fix: set metric to rmse or mae in config.yml.")
    if (transform == "log1p" and (y <= -1).any()) or (transform == "sqrt" and (y < 0).any()):
        raise DataError(f"target {name!r} has values as low as {y.min()}, which target_transform {transform} cannot take. "
                        "Fix: set target_transform: null in config.yml.")


def cross_validate(cfg, data, folds, run_dir):
    """Give out-of-fold and fold-averaged test predictions (on the target's scale), fold scores and importance."""
    metric, task = cfg["metric"], cfg["task"]
    n_splits = int(folds.max()) + 1
    width = len(data.classes) if task == "multiclass" else 0
    oof = np.zeros((len(data.y), width) if width else len(data.y))
    test_pred = np.zeros((len(data.X_test), width) if width else len(data.X_test))
    y_model = to_model_scale(cfg, data.y)
    prepared = models.prepare(cfg, data, y_model)
    (run_dir / "models").mkdir(exist_ok=True)
    scores, iterations, seconds, importances = [], [], [], []
    started = time.perf_counter()
    for k in range(n_splits):
        fold_start = time.perf_counter()
        train_idx, valid_idx = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        fitted = models.fit_fold(cfg, prepared, y_model, train_idx, valid_idx)
        oof[valid_idx] = to_original_scale(cfg, models.predict_fold(cfg, fitted, prepared["X"][valid_idx]))
        # Each fold's test prediction goes back to the target's scale before the mean, as predicting from the record does.
        test_pred += to_original_scale(cfg, models.predict_fold(cfg, fitted, prepared["X_test"])) / n_splits
        models.save_fold(cfg, fitted, run_dir / "models", k)
        scores.append(score(metric, data.y[valid_idx], oof[valid_idx]))
        iterations.append(models.best_iteration(cfg, fitted))
        importances.append(models.importance(cfg, fitted, list(data.X.columns)))
        seconds.append(round(time.perf_counter() - fold_start, 3))
        del fitted  # freed before the next fold trains: a LightGBM Booster still holds its training rows
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
        "target_transform": cfg["target_transform"],
        "seeds": models.seeds(cfg),
        "n_train": int(len(data.y)),
        "n_features": int(data.X.shape[1]),
    }
    log.info(f"  CV {metric} = {metrics['cv']:.5f} ± {metrics['cv_std']:.5f} (all out-of-fold: {metrics['oof']:.5f})")
    importance = pd.concat(importances, axis=1).mean(axis=1).sort_values(ascending=False)
    return {"oof": oof, "test_pred": test_pred, "metrics": metrics, "importance": importance}


def save_predictions(cfg, data, folds, result, run_dir):
    """Write out-of-fold and test predictions, the checked submission, importance and metrics."""
    spec = cfg["data"]
    oof = prediction_frame(data.ids, result["oof"], data.classes, spec["id"])
    target = pd.array(data.classes)[data.y] if data.classes else data.y  # typed labels: written faster than objects
    oof.insert(1, "fold", folds)
    oof.insert(2, spec["target"], target)
    write_csv(oof, run_dir / "oof.csv")
    test_pred = prediction_frame(data.test_ids, result["test_pred"], data.classes, spec["id"])
    write_csv(test_pred, run_dir / "test_pred.csv")

    submitted = to_submitted(cfg, result["test_pred"], data.spec["target_range"])
    submission = make_submission(data, submitted, cfg, METRICS[cfg["metric"]].needs_labels)
    check_submission(submission, data.sample, spec["id"])
    write_csv(submission, run_dir / "submission.csv")

    result["importance"].rename("importance").rename_axis("feature").to_csv(run_dir / "importance.csv")
    plot_importance(result["importance"], run_dir / "importance.png", cfg["model"]["name"])
    write_json(run_dir / "metrics.json", result["metrics"])


def to_submitted(cfg, test_pred, target_range):
    """Give the test predictions as the submission takes them; predict.py calls this too, so both agree."""
    if cfg["metric"] == "qwk" and cfg["task"] == "regression":  # scored on whole numbers, so submit those
        return np.clip(np.rint(test_pred), *target_range)
    return test_pred


def plot_importance(importance, path, title):
    """Draw the top 30 features as a horizontal bar chart, each bar with its value.

    Drawn with Pillow (installed with matplotlib), not matplotlib: importing matplotlib takes 0.3 to
    0.5 s in every process and its chart 30 to 100 ms, which on small data is as much as the training.
    """
    from PIL import Image, ImageDraw, ImageFont

    top = importance.head(30)
    values = np.nan_to_num(top.to_numpy(dtype=float))
    font = ImageFont.load_default()  # a TrueType font on Pillow 10.1+, else a bitmap one that knows Latin-1 only
    fit = (lambda text: text) if isinstance(font, ImageFont.FreeTypeFont) else (
        lambda text: text.encode("latin-1", "replace").decode("latin-1"))
    labels = [fit(str(name)[:40]) for name in top.index]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    row, pad, width = 16, 8, 640  # pixels
    label_width = int(max(measure.textlength(label, font=font) for label in labels)) + 2 * pad
    bar_width = width - label_width - 60  # room for the value after the longest bar
    peak = values.max() if values.max() > 0 else 1.0
    image = Image.new("RGB", (width, row * (len(top) + 2)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((pad, 4), fit(f"feature importance ({title}, mean over folds)"), fill="black", font=font)
    for k, (label, value) in enumerate(zip(labels, values)):
        y = row * (k + 1) + 8
        length = max(1, round(bar_width * max(value, 0) / peak))
        draw.text((label_width - pad - measure.textlength(label, font=font), y + 1), label, fill="black", font=font)
        draw.rectangle((label_width, y + 2, label_width + length, y + row - 3), fill=(31, 119, 180))
        draw.text((label_width + length + 4, y + 1), f"{value:.4g}", fill="black", font=font)
    image.save(path, compress_level=1)
