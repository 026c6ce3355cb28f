"""Warnings that save a day: what a finished run's numbers say about its config, one line each.

They go to the run's log as the run ends, into metrics.json ("warnings"), and into the closing
summary of exp.py, so a problem seen once on the console is not lost in a long sweep.
"""
import numpy as np

import features
import model
from runner.util import log, read_json
from tabular.folds import GROUP_SCHEMES

SEED_CHECK_ROWS = 1000  # rows the seeds' predictions are compared on: enough to see any difference


def run_warnings(cfg, data, result, run_dir, n_rows=None):
    """Give the run's warnings (also logged): seeds that changed nothing, folds out of rounds, cv.group, rmsle."""
    found = [*seeds_changed_nothing(cfg, data, run_dir), *rounds_ran_out(cfg, result["metrics"], n_rows),
             *group_as_feature(cfg, data), *rmsle_scale(cfg)]
    for warning in found:
        log.warning(f"  warning: {warning}")
    return found


def seeds_changed_nothing(cfg, data, run_dir):
    """Warn when model.seeds gave every seed the same predictions (fold 1's models on the first train rows)."""
    seeds = model.seeds(cfg)
    if len(seeds) < 2:
        return []
    fold = model.load_fold(cfg, run_dir / "models", 0)
    X = data.X.head(SEED_CHECK_ROWS)
    state_file = run_dir / "models" / "fold0_features.json"
    if state_file.is_file():
        X = features.apply_fold(X, read_json(state_file), cfg.get("features") or {})
    matrix = model.to_matrix(X)
    module = model.family(cfg)
    first, *others = [module.predict(m, matrix, cfg["task"]) for m in fold]
    if any(not np.array_equal(first, other) for other in others):
        return []
    return [f"model.seeds {seeds}: every seed gave the same predictions, so averaging them changed nothing and cost "
            f"{len(seeds)}x the time. Fix: make the model random (lightgbm: +bagging_fraction: 0.8 with +bagging_freq: "
            "1, or +feature_fraction: 0.8), or set model.seeds: null."]


def rounds_ran_out(cfg, metrics, n_rows):
    """Warn when folds used every boosting round although early stopping was on: they were still improving."""
    spec = cfg["model"]
    rounds = metrics.get("best_iterations") or []
    if n_rows or not spec.get("early_stopping_rounds") or not rounds or rounds[0] is None:
        return []  # --debug cuts the rounds on purpose
    limit, patience = spec["num_boost_round"], spec["early_stopping_rounds"]
    # Early stopping ends a fold `patience` rounds after its best one; a best round later than that hit the limit.
    full = [k + 1 for k, r in enumerate(rounds) if r is not None and r + patience > limit]
    if not full:
        return []
    which = f"fold {full[0]}" if len(full) == 1 else f"folds {', '.join(map(str, full))}"
    return [f"{which} of {len(rounds)} stopped at model.num_boost_round {limit}, not by early stopping: the model "
            "may still have been improving. Fix: raise model.num_boost_round, or the learning_rate."]


def group_as_feature(cfg, data):
    """Warn about the cv.group column: left out of the features, or a feature because data.features lists it."""
    group = cfg["cv"].get("group")
    if cfg["cv"]["scheme"] not in GROUP_SCHEMES or not group:
        return []
    if group in data.X.columns:
        return [f"cv.group {group!r} is also a feature (data.features lists it): the valid rows' groups are never in "
                "their training rows, so what the model learns of each group does not carry over. "
                "Fix: remove it from data.features, unless the test rows share the train's groups."]
    if group in (cfg["data"]["features"] or []) or group in cfg["data"]["drop"] or group not in data.extra.columns:
        return []
    return [f"cv.group {group!r} is left out of the features (a model would learn groups that no valid fold holds). "
            "To use it as a feature anyway, list it in data.features."]


def rmsle_scale(cfg):
    """Warn when metric rmsle trains on the raw target: the model then fits squared errors of the wrong scale."""
    if cfg["metric"] != "rmsle" or cfg["target_transform"] == "log1p":
        return []
    return ["metric rmsle is rmse on log(1 + y), but target_transform is "
            f"{cfg['target_transform'] or 'null'}: the model learns another scale. Fix: set target_transform: log1p."]
