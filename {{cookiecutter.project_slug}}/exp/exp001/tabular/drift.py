"""Data as it really drifts: a column whose kind differs between train and test, labels spelled two ways, inf.

Each is named with its first offending values before any run trains; left alone, the first would turn a
numeric column into categories (or fail), the second would split one class in two, the third would
reach the models as a value no split can place.
"""
import numpy as np
import pandas as pd

from runner.util import DataError, rel
from tabular.encoding import is_numeric


def examples(values, n=3):
    """Give up to n distinct values, quoted, for a message."""
    distinct = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(values)]  # 'inf', not np.float32(inf)
    return ", ".join(repr(v) for v in distinct[:n]) + (", ..." if len(distinct) > n else "")


def check_kinds(train, test, features, spec, paths):
    """Raise DataError for a feature that is numeric in one of train and test and text in the other."""
    for c in features:
        if c in spec["categorical"] or is_numeric(train[c]) == is_numeric(test[c]):
            continue
        (num_frame, num_name), (text_frame, text_name) = sorted(
            [(train, "train"), (test, "test")], key=lambda side: not is_numeric(side[0][c]))
        if num_frame[c].isna().all():  # an empty column comes as numbers: it is just missing
            continue
        column = text_frame[c]
        bad = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()]
        if not len(bad):
            continue
        raise DataError(
            f"column {c!r} holds numbers in {rel(paths[num_name])} but text in {rel(paths[text_name])} "
            f"({examples(bad)} on {len(bad):,} rows), so the same column would mean different things to the model. "
            f"Fix: clean it in add_features (features.py), e.g. frame[{c!r}] = pd.to_numeric(frame[{c!r}], "
            f"errors='coerce'), or list {c} in data.categorical if its values are categories.")


def check_labels(target, name, path):
    """Raise DataError for class labels that differ only by spaces around them or by case ('cat', 'Cat ')."""
    if is_numeric(target):
        return
    spellings = {}
    for label in pd.unique(target.dropna()):
        spellings.setdefault(str(label).strip().casefold(), []).append(label)
    clashes = [labels for labels in spellings.values() if len(labels) > 1]
    if clashes:
        shown = "; ".join(" and ".join(map(repr, labels)) for labels in clashes[:3])
        raise DataError(
            f"{rel(path)}: target {name!r} has labels that differ only by spaces or case ({shown}), so one class would "
            "be learned as several. Fix: give each class one spelling in the train file, or clean the target in "
            "add_features (features.py), e.g. frame[target] = frame[target].str.strip().str.lower().")


def check_finite(X, path):
    """Raise DataError for inf or -inf in a numeric feature (missing values are fine: the models handle NaN)."""
    for c in X.columns:
        column = X[c]
        if isinstance(column.dtype, pd.CategoricalDtype) or not is_numeric(column):
            continue
        infinite = np.isinf(column.to_numpy(dtype=np.float64, na_value=np.nan))
        if infinite.any():
            raise DataError(
                f"{rel(path)}: column {c!r} has {int(infinite.sum()):,} infinite values "
                f"({examples(column[infinite])}), which the models cannot split on like numbers. Fix: turn them into "
                f"missing values in add_features (features.py), e.g. frame[{c!r}] = frame[{c!r}].replace([np.inf, "
                "-np.inf], np.nan), or fix the file.")
