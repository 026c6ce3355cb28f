"""Features and target encoded for the models: categories as train's levels, numbers as floats, classes as codes.

What is learned here comes from the train file alone (features.json in each record), so any other
test file, a hidden one too, is encoded exactly as the run's own test file was.
"""
import numpy as np
import pandas as pd

from inputs import check_finite_target
from runner.util import DataError, log, rel
from tabular.names import listed


def is_numeric(column):
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def learn_feature_spec(X, categorical, spec, task, classes, y):
    """Give the feature spec, learned from the train features alone so another test file is encoded the same way."""
    kinds, levels = {}, {}
    for c in X.columns:
        if c in categorical:
            # Levels from train only: a code then means the same value for any test file. Native
            # Python values (tolist), so the spec survives a trip through JSON unchanged.
            kinds[c] = "category"
            levels[c] = sorted(X[c].dropna().unique().tolist(), key=str)
        else:
            kinds[c] = "float32" if fits_float32(X[c]) else "float64"
    # The target's range: a regression scored by qwk submits whole numbers within it.
    target_range = [float(y.min()), float(y.max())] if task == "regression" else None
    return {"id": spec["id"], "target": spec["target"], "task": task, "classes": list(classes),
            "target_range": target_range, "features": kinds, "levels": levels}


def encode_features(X, fspec, path):
    """Give the features of one file encoded by the spec: categories as their train levels, numbers as floats.

    A level train never had becomes missing, counted in one log line per column.
    """
    X = X.copy(deep=False)  # converted columns are replaced, the rest are shared, not duplicated
    for c, kind in fspec["features"].items():
        column = X[c]
        if kind == "category":
            levels = fspec["levels"][c]
            codes = pd.Index(levels).get_indexer(column) if levels else np.full(len(column), -1)
            unseen = column[(codes < 0) & column.notna().to_numpy()]
            if len(unseen):
                examples = ", ".join(map(str, unseen.drop_duplicates().head(3)))
                log.info(f"{rel(path)}: {len(unseen):,} rows of {c} have values train does not have ({examples}"
                         f"{', ...' if unseen.nunique() > 3 else ''}); they count as missing")
            X[c] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(levels))
        else:
            if not is_numeric(column) and column.notna().any():  # an empty column may come as text: it is just missing
                bad = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()]
                example = str(bad.iloc[0]) if len(bad) else str(column.dropna().iloc[0])
                raise DataError(f"{rel(path)}: column {c!r} holds {example!r}, but it was a number in train. "
                                "Fix: give a file whose columns hold what train's hold.")
            X[c] = column.to_numpy(np.dtype(kind), na_value=np.nan)
    return X


def fits_float32(column):
    """True for floats (trees split between binned values, so float32 loses nothing they use) and integers below 2**24.
    """
    return pd.api.types.is_float_dtype(column) or not (column.abs() >= 2**24).any()


def encode_target(target, task, name, path):
    """Give (codes or floats, classes) for the target column."""
    where = f"{rel(path)}: target {name!r}"
    if target.isna().any():
        raise DataError(f"{where} has {int(target.isna().sum())} missing values. "
                        "Fix: drop those rows from the train file.")
    if task == "regression":
        if not is_numeric(target):
            raise DataError(f"{where} is not numeric (e.g. {str(target.iloc[0])!r}) but task is regression. "
                            "Fix: set task to binary or multiclass.")
        check_finite_target(target, name, path)
        return target.to_numpy(dtype=np.float64), []
    if pd.api.types.is_float_dtype(target) and (target % 1 != 0).any():
        raise DataError(f"{where} has fractional values (e.g. {target[target % 1 != 0].iloc[0]}) but task is {task}. "
                        "Fix: set task to regression.")
    classes, codes = np.unique(target.to_numpy(), return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"{where} has one value only ({classes[0]!r} on all {len(target):,} rows): there is nothing to "
                        "learn. Fix: check that data.target names the target and data.train the whole train file.")
    if task == "multiclass" and is_numeric(target) and len(classes) > max(50, len(target) // 20):
        raise DataError(f"{where} has {len(classes)} different numbers but task is multiclass: it looks like a "
                        "regression target. Fix: set task: regression (and a metric such as rmse) in config.yml.")
    if task == "binary" and len(classes) != 2:
        raise DataError(f"{where} has {len(classes)} values ({listed(classes[:10])}) but task is binary. "
                        "Fix: set task to multiclass or regression.")
    return codes.astype(np.int32), classes.tolist()


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
