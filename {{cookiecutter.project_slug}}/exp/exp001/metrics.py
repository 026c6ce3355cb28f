"""Metrics: add your own competition metric at the bottom (score(y, prediction) -> float).

A prediction is P(positive) for binary, one column per class for multiclass, one column per label for
multilabel (y then holds one 0/1 column per label), values for regression; y holds class codes (0, 1, ...)
or the regression target. Every kind of experiment has this same file, so runs of all kinds compare and blend.
scikit-learn is imported inside each function, so `exp.py --list` stays quick.
"""
from typing import Callable, NamedTuple

import numpy as np

from runner.util import DataError


def predicted_codes(pred):
    """Give the class code each prediction picks: the likeliest class, or P(positive) >= 0.5."""
    return pred.argmax(axis=1) if pred.ndim == 2 else (pred >= 0.5).astype(int)


def _accuracy(y, p):
    return float(np.mean(predicted_codes(p) == y))


def _f1(y, p):
    from sklearn.metrics import f1_score
    return float(f1_score(y, predicted_codes(p), average="binary" if p.ndim == 1 else "macro"))


def _auc(y, p):
    if y.ndim == 2:  # multilabel: the mean of each label's AUC (macro), over the labels that have positives and
        scored = [j for j in range(y.shape[1]) if 0 < y[:, j].sum() < len(y)]  # negatives here (BirdCLEF's rule)
        return float(np.mean([_binary_auc(y[:, j], p[:, j]) for j in scored])) if scored else float("nan")
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
    if y.ndim == 2:  # multilabel: the mean of each label's binary log loss
        q = np.clip(p, 1e-15, 1 - 1e-15)
        return float(np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q))))
    from sklearn.metrics import log_loss
    return float(log_loss(y, p, labels=range(p.shape[1]) if p.ndim == 2 else [0, 1]))


def _rmse(y, p):
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _mcrmse(y, p):
    """Mean column-wise RMSE: each target's RMSE, averaged (essay scoring's several scores); one target: its RMSE."""
    return float(np.mean(np.sqrt(np.mean((y - p) ** 2, axis=0))))


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
    "auc": Metric((*CLASSIFICATION, "multilabel"), True, False, _auc),  # multilabel: macro AUC
    "gini": Metric(("binary",), True, False, lambda y, p: 2 * _auc(y, p) - 1),  # normalized Gini
    "logloss": Metric((*CLASSIFICATION, "multilabel"), False, False, _logloss),  # multilabel: mean over labels
    "mcc": Metric(CLASSIFICATION, True, True, _mcc),
    "balanced_accuracy": Metric(CLASSIFICATION, True, True, _balanced_accuracy),
    "qwk": Metric(("multiclass", "regression"), True, True, _qwk),
    "rmse": Metric(REGRESSION, False, False, _rmse),
    "mcrmse": Metric(REGRESSION, False, False, _mcrmse),
    "mae": Metric(REGRESSION, False, False, lambda y, p: float(np.mean(np.abs(y - p)))),
    "rmsle": Metric(REGRESSION, False, False, lambda y, p: _rmse(np.log1p(y), np.log1p(np.clip(p, 0, None)))),
    "mape": Metric(REGRESSION, False, False, _mape),
    "smape": Metric(REGRESSION, False, False, _smape),
    "r2": Metric(REGRESSION, True, False, _r2),
}


# ---------------------------------------------------------------- your own metric
# Write score(y, prediction) -> float and add it below with the tasks it fits and its direction.
# Its name then works as `metric:` in config.yml, in blends and on the leaderboard. In an image run, each
# epoch's valid score, the best checkpoint and train.patience use it; a tabular run's early stopping
# watches the model's default metric for the task (logloss, rmse). Example:
#
#   def _median_ae(y, p):
#       return float(np.median(np.abs(y - p)))
#
#   "median_ae": Metric(REGRESSION, higher_is_better=False, needs_labels=False, score=_median_ae),
METRICS.update({
})


def score(metric, y, pred):
    return METRICS[metric].score(y, pred)
