"""Data as it really drifts: a column whose kind differs between train and test, inf in a feature.

Each is named with its first offending values before any run trains; left alone, the first would turn a
numeric column into categories (or fail), the second would reach the models as a value no split can place.
Labels spelled two ways, and what every kind checks, are in inputs.py.
"""
import numpy as np
import pandas as pd

from inputs import examples
from runner.util import DataError, rel
from tabular.encoding import is_numeric


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
