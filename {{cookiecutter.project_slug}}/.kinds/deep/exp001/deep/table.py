"""The competition's tables as every deep-learning kind reads them: where the files are, ids as text, the columns
config.yml names, and the target encoded for the task (the checks themselves are inputs.py's, shared with tabular)."""
import os
from pathlib import Path

import numpy as np
import pandas as pd

from inputs import check_finite_target, check_header, check_labels, check_rows, check_sample_ids, drop_index_column
from runner.util import ROOT, DataError, rel

DATA_DIR_ENV = "KAGGLE_EXP_DATA_DIR"  # on Kaggle: where the competition's files are mounted


def data_dir(cfg):
    """Give the folder of the competition's files: $KAGGLE_EXP_DATA_DIR if set, else data.dir under the project root."""
    return Path(os.environ.get(DATA_DIR_ENV) or ROOT / cfg["data"]["dir"])


def read_csv(path, id_name):
    """Give the CSV at `path` with its id column (when named) as text (ids like 007 keep their zeros)."""
    if not Path(path).is_file():
        raise DataError(f"{rel(path)}: file not found. "
                        "Fix: put the competition's files there, or set data.dir in config.yml.")
    check_header(path)
    return drop_index_column(pd.read_csv(path, dtype={id_name: str} if id_name else None), path, keep=(id_name,))


def read_tables(cfg, n_rows, train_columns, test_columns):
    """Give (train, test, sample) of a competition whose test file is a table (image, text): read, with the columns
    each needs, one row per id, and every id of the sample in the test file. n_rows (--debug): that many train rows,
    the same each time."""
    spec, folder = cfg["data"], data_dir(cfg)
    train = read_csv(folder / spec["train"], spec["id"])
    if n_rows:
        train = train.sample(n=min(n_rows, len(train)), random_state=cfg["seed"]).sort_index()
    test = read_csv(folder / spec["test"], spec["id"])
    sample = read_csv(folder / spec["sample_submission"], spec["id"])
    targets = spec["target"] if isinstance(spec["target"], list) else [spec["target"]]
    group = [cfg["cv"]["group"]] if cfg["cv"]["group"] else []
    require_columns(train, [spec["id"], *train_columns, *targets, *group], folder / spec["train"])
    require_columns(test, [spec["id"], *test_columns], folder / spec["test"])
    require_columns(sample, [spec["id"]], folder / spec["sample_submission"])
    # The same checks as the tabular lab's (inputs.py): no empty file, one row per id, sample ids in the test file.
    for frame, name in ((train, "train"), (test, "test"), (sample, "sample_submission")):
        check_rows(frame, spec["id"], folder / spec[name], unique_ids=name != "sample_submission")
    check_sample_ids(sample, test[spec["id"]], spec["id"], folder / spec["sample_submission"], folder / spec["test"])
    return train, test, sample


def require_columns(frame, columns, path):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{rel(path)} has no column {', '.join(map(repr, missing))}; its columns: "
                        f"{', '.join(map(str, frame.columns))}. "
                        "Fix: set data.id, data.target (and cv.group) in config.yml.")


def encode_target(train, targets, task, path):
    """Give y and the classes: codes 0.. for binary and multiclass, a 0/1 matrix for multilabel, floats (regression;
    a matrix with the target names as its classes for several targets)."""
    values = train[targets]
    if values.isna().any().any():
        raise DataError(f"{rel(path)}: the target has {int(values.isna().sum().sum())} missing values. "
                        "Fix: drop those rows.")
    if task == "multilabel":
        if not values.isin([0, 1]).all().all():
            raise DataError(f"{rel(path)}: multilabel targets {', '.join(targets)} must be 0 or 1. "
                            "Fix: one 0/1 column per label.")
        return values.to_numpy(dtype=np.float32), targets
    column = values[targets[0]]
    if task == "regression":
        for name in targets:
            check_finite_target(values[name], name, path)
        if len(targets) > 1:  # several scores of one text or image (essay scoring): one output each, named by them
            return values.to_numpy(dtype=np.float64), targets
        return column.to_numpy(dtype=np.float64), []
    check_labels(column, targets[0], path)
    classes = sorted(column.unique().tolist())
    if task == "binary" and len(classes) != 2 or len(classes) < 2:
        raise DataError(f"{rel(path)}: target {targets[0]!r} has {len(classes)} classes "
                        f"({', '.join(map(str, classes[:10]))}), which task {task} cannot learn. Fix: set task to "
                        f"{'multiclass' if len(classes) > 2 else 'binary'}, or check data.target.")
    codes = {c: k for k, c in enumerate(classes)}
    return column.map(codes).to_numpy(dtype=np.int64), classes


def standardizing(y):
    """Give [mean, std] of a regression target (per column for several), what the network learns it scaled by."""
    mean, std = np.mean(y, axis=0), np.std(y, axis=0)
    std = np.where(std > 0, std, 1.0)  # a constant target: learned as it is
    return [mean.tolist(), std.tolist()] if np.ndim(y) == 2 else [float(mean), float(std)]
