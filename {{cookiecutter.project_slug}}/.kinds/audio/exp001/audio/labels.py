"""BirdCLEF's labels: a recording's own label in one column, and the other species heard in it listed as text in
another (secondary_labels), made into one 0/1 row per recording for task: multilabel."""
import ast

import numpy as np
import pandas as pd

from deep.table import encode_target
from runner.util import DataError, rel


def labels_heard(train, primary, secondary, path):
    """Give a 0/1 matrix (recordings x classes) and the classes: each recording's label column, and the labels its
    `secondary` column lists as text ("['a', 'b']", as BirdCLEF's train.csv; or "a b"). The classes are the label
    column's; a secondary label outside them is left out (the submission has no column for it)."""
    encode_target(train, [primary], "multiclass", path)  # the same checks: no missing label, none spelled two ways
    classes = sorted(train[primary].unique().tolist())
    y = np.zeros((len(train), len(classes)), dtype=np.float32)
    index = {c: k for k, c in enumerate(classes)}
    y[np.arange(len(train)), train[primary].map(index).to_numpy()] = 1
    for row, text in enumerate(train[secondary] if secondary else []):
        text = "" if pd.isna(text) else str(text).strip()
        try:
            named = ast.literal_eval(text) if text.startswith("[") else text.replace(",", " ").split()
        except (ValueError, SyntaxError):
            raise DataError(f"{rel(path)}: row {row + 2}'s {secondary} ({text[:60]!r}) is no list of labels. Fix: "
                            "write it as ['a', 'b'] (or a b), or set data.secondary_labels: null.") from None
        for label in named:
            if label in index:
                y[row, index[label]] = 1
    return y, classes
