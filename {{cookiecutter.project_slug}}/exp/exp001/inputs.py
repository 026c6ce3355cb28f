"""The checks every kind makes on the competition's tables before any training: header, rows, ids, labels, target.

Each raises DataError naming the file, what is wrong and how to fix it, so a bad file never costs a trained
run. The tabular and the image lab (and any later kind) call these same functions on their tables.
"""
import csv
import logging
from collections import Counter

import numpy as np
import pandas as pd

from runner.util import DataError, notice, rel


def examples(values, n=3):
    """Give up to n distinct values, quoted, for a message."""
    distinct = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(values)]  # 'inf', not np.float32(inf)
    return ", ".join(repr(v) for v in distinct[:n]) + (", ..." if len(distinct) > n else "")


def check_header(path):
    """Raise DataError when the CSV at `path` names a column twice (pandas would silently read the second as 'x.1')."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        header = next(csv.reader(f), [])
    repeated = [name for name, count in Counter(header).items() if count > 1 and name]
    if repeated:
        raise DataError(f"{rel(path)}: its header names column {', '.join(map(repr, repeated))} more than once, so "
                        "the columns after the first would be read under other names ('x.1'). "
                        "Fix: rename or remove the repeated columns in this file.")


# What pandas names a written-out index: to_csv's default ('Unnamed: 0'), reset_index's ('index', 'level_0').
INDEX_NAMES = ("Unnamed: 0", "index", "level_0")


def drop_index_column(frame, path, keep=()):
    """Give `frame` without a leading index column pandas wrote ('Unnamed: 0', 'index', 'level_0'), not data (warned
    once). Columns named in `keep` (the id) stay whatever their name."""
    first = frame.columns[0] if len(frame.columns) else None
    if not (isinstance(first, str) and first.startswith(INDEX_NAMES) and first not in keep):
        return frame
    notice(f"{rel(path)}: its first column ({first!r}) is a row index pandas wrote (to_csv, reset_index), not data; "
           "it is left out. Fix: save the file with to_csv(..., index=False), or give the column another name.",
           logging.WARNING)
    return frame.drop(columns=[first])


def warn_row_number(frame, path, not_features):
    """Warn when the first column, a feature, holds the row number (0, 1, 2, ... or 1, 2, 3, ...): an index written
    under a name, which as a feature learns only the file's order. Warned, not dropped: a time step can look alike."""
    first = frame.columns[0] if len(frame.columns) else None
    if first is None or first in not_features or len(frame) < 3 or not pd.api.types.is_integer_dtype(frame[first]):
        return
    values = frame[first].to_numpy()
    if (values == np.arange(values[0], values[0] + len(values))).all() and values[0] in (0, 1):
        notice(f"{rel(path)}: its first column {first!r} is the row number ({values[0]}, {values[0] + 1}, "
               f"{values[0] + 2}, ...), so as a feature it learns only the order of the file. Fix: add it to "
               "data.drop in config.yml, unless it is a real time step.", logging.WARNING)


def check_rows(frame, id_name, path, unique_ids=True):
    """Raise DataError for a file without rows, or (unique_ids) with an id on more than one row."""
    if len(frame) == 0:
        raise DataError(f"{rel(path)} has no rows, only the header. "
                        "Fix: download the competition files again (scripts/kaggle_cli.py download).")
    if not unique_ids or frame[id_name].is_unique:  # one pass over the ids; the details only when it fails
        return
    repeated = frame[id_name][frame[id_name].duplicated()]
    first = repeated.iloc[0]
    raise DataError(
        f"{rel(path)}: {repeated.nunique()} ids in column {id_name!r} are on more than one row (e.g. {first!r}, "
        f"{int((frame[id_name] == first).sum())} times), so predictions cannot be told apart by id. "
        "Fix: set data.id in config.yml to a column unique on every row, or remove the repeated rows.")


def check_labels(target, name, path, clean_here=""):
    """Raise DataError for class labels that differ only by spaces around them or by case ('cat', 'Cat ').

    clean_here: where else the kind lets a user clean the target, for the message (", or ... in add_features").
    """
    if pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target):
        return
    spellings = {}
    for label in pd.unique(target.dropna()):
        spellings.setdefault(str(label).strip().casefold(), []).append(label)
    clashes = [labels for labels in spellings.values() if len(labels) > 1]
    if clashes:
        shown = "; ".join(" and ".join(map(repr, labels)) for labels in clashes[:3])
        raise DataError(
            f"{rel(path)}: target {name!r} has labels that differ only by spaces or case ({shown}), so one class would "
            f"be learned as several. Fix: give each class one spelling in the train file{clean_here}.")


def check_finite_target(values, name, path):
    """Raise DataError for inf or -inf in a regression target: every loss and score of the run would be inf or NaN."""
    infinite = np.isinf(np.asarray(values, dtype=np.float64))
    if infinite.any():
        raise DataError(f"{rel(path)}: target {name!r} has {int(infinite.sum()):,} infinite values "
                        f"(e.g. on row {int(np.flatnonzero(infinite)[0]) + 2} of the file). "
                        "Fix: drop those rows from the train file, or clip the target in add_features (features.py).")


def check_sample_ids(sample, test_ids, id_name, sample_path, test_path):
    """Raise DataError when a sample id is not in the test file; warn of test ids the sample leaves out."""
    sample_ids, test_ids = sample[id_name].astype(str), pd.Series(test_ids).astype(str)  # CSV and Parquet ids match
    # An Index lookup: Series.isin over Arrow-backed text took seconds at a few hundred thousand ids.
    found = pd.Index(test_ids).unique().get_indexer(sample_ids) >= 0
    if not found.all():
        raise DataError(f"{rel(sample_path)}: {int((~found).sum()):,} of its {len(sample):,} ids are not in "
                        f"{rel(test_path)} (e.g. {sample[id_name][~found].iloc[0]!r}). "
                        "Fix: use the competition's own files, and check data.id.")
    left_out = int((pd.Index(sample_ids).unique().get_indexer(test_ids) < 0).sum())
    if left_out:
        notice(f"{rel(test_path)}: {left_out:,} ids are not in {rel(sample_path)}; "
               "they are predicted but not submitted.", logging.WARNING)
