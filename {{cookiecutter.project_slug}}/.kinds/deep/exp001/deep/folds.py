"""Folds: each train row's fold number, from cv.scheme, cv.n_splits and cv.seed."""
import numpy as np

from runner.util import DataError


def make_folds(cfg, table):
    """Give each train row's fold (0 .. n_splits-1); the same for every run with the same cv settings and rows."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    spec, n = cfg["cv"], len(table.y)
    scheme, n_splits = spec["scheme"], spec["n_splits"]
    if n_splits > n:
        raise DataError(f"cv.n_splits is {n_splits} but train has only {n} rows. Fix: lower cv.n_splits.")
    # Multilabel targets stratify on their most frequent label's presence: simple, and keeps rare positives spread.
    strata = table.y[:, table.y.sum(axis=0).argmax()] if table.y.ndim == 2 else table.y
    if scheme in ("stratified", "stratified_group"):
        if cfg["task"] == "regression":
            raise DataError("cv.scheme stratified needs classes, but task is regression. Fix: set cv.scheme: kfold.")
        smallest = int(np.unique(strata, return_counts=True)[1].min())
        if smallest < n_splits:
            raise DataError(f"cv.scheme {scheme}: a class has only {smallest} rows, fewer than cv.n_splits "
                            f"({n_splits}). Fix: lower cv.n_splits, or set cv.scheme: kfold.")
    splitters = {
        "kfold": lambda: KFold(n_splits, shuffle=True, random_state=spec["seed"]).split(np.zeros(n)),
        "stratified": lambda: StratifiedKFold(n_splits, shuffle=True, random_state=spec["seed"]).split(
            np.zeros(n), strata),
        "group": lambda: GroupKFold(n_splits).split(np.zeros(n), groups=table.groups),
        "stratified_group": lambda: StratifiedGroupKFold(n_splits, shuffle=True, random_state=spec["seed"]).split(
            np.zeros(n), strata, groups=table.groups),
    }
    if scheme in ("group", "stratified_group") and len(np.unique(table.groups)) < n_splits:
        raise DataError(f"cv.group {spec['group']!r} has {len(np.unique(table.groups))} groups, fewer than "
                        "cv.n_splits. Fix: lower cv.n_splits.")
    folds = np.empty(n, dtype=np.int64)
    for k, (_, valid_idx) in enumerate(splitters[scheme]()):
        folds[valid_idx] = k
    return folds
