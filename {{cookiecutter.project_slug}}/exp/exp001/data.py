"""Reading the competition files: change read_table for another format, choose_features for the columns used.

The files are checked here, and X and y built.

Everything read here is kept for the whole process, so the runs of one experiment that share a
`data` section parse the files once. Your own features are in features.py; folds, encoding and
the submission in tabular/.
"""
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features import add_features
from inputs import check_header, check_labels, check_rows, drop_index_column, warn_row_number
from runner.util import ROOT, DataError, closest, notice, rel
from tabular.drift import check_finite, check_kinds
from tabular.encoding import encode_features, encode_target, is_numeric, learn_feature_spec
from tabular.folds import GROUP_SCHEMES, data_section, group_values
from tabular.submission import check_sample

# Where the competition's files are when they are not in data.dir: a Kaggle notebook sets it to
# /kaggle/input/<competition>, so the same experiment runs there and here without an edit.
DATA_DIR_ENV = "KAGGLE_EXP_DATA_DIR"


@dataclass
class Dataset:
    X: pd.DataFrame          # train features: categoricals share their categories with X_test
    y: np.ndarray            # encoded target: class codes, or floats for regression
    X_test: pd.DataFrame
    ids: pd.Series           # train ids
    test_ids: pd.Series
    sample: pd.DataFrame     # the sample submission as read
    classes: list            # original labels by code; [] for regression
    categorical: list        # names of the categorical features
    extra: pd.DataFrame      # the train columns that are not features (id, target, data.drop), for cv.group
    spec: dict = None        # feature_spec: what encoding another test file the same way needs


_CACHE = {}


def load_data(cfg, n_rows=None):
    """Give the Dataset for cfg (a sample of n_rows train rows in debug mode), read once per process.

    Every check of the files runs here, so the runner's read before training reports them all.
    """
    options = cfg.get("features") or {}
    spec = data_section(cfg)  # cv.group left out of the features unless data.features lists it
    key = json.dumps([spec, cfg["task"], options, n_rows, os.environ.get(DATA_DIR_ENV)], sort_keys=True, default=str)
    if key not in _CACHE:
        _CACHE[key] = read_dataset(spec, cfg["task"], n_rows, options)
    if cfg["cv"]["scheme"] in GROUP_SCHEMES:
        group_values(_CACHE[key], cfg["cv"]["group"])  # a missing column is reported before any training
    return _CACHE[key]


def read_dataset(spec, task, n_rows, options):
    """Give the Dataset: read the files, check the columns, choose and encode features and target."""
    paths = {name: input_path(spec, name) for name in ("train", "test", "sample_submission")}
    train, test, sample = (read_table(paths[name], spec["id"]) for name in paths)
    require_columns(train, [spec["id"], spec["target"]], paths["train"],
                    "in config.yml, set data.id and data.target to columns of this file")
    require_columns(test, [spec["id"]], paths["test"], "in config.yml, set data.id to the id column of the test file")
    require_columns(sample, [spec["id"]], paths["sample_submission"],
                    "in config.yml, set data.id to the sample submission's id column")
    check_rows(train, spec["id"], paths["train"])
    check_rows(test, spec["id"], paths["test"])
    check_rows(sample, spec["id"], paths["sample_submission"], unique_ids=False)
    not_features = set(train.columns) - set(spec["features"]) if spec["features"] else {spec["id"], spec["target"],
                                                                                         *spec["drop"]}
    warn_row_number(train, paths["train"], not_features)  # before a debug sample shuffles the rows
    if n_rows and len(train) > n_rows:  # the same sample for every run, so debug runs share one read
        train = train.sample(n=n_rows, random_state=0).reset_index(drop=True)

    train, test = add_features(train, options), add_features(test, options)
    features = choose_features(train, test, spec, paths)
    check_kinds(train, test, features, spec, paths)  # numbers in one file, text in the other
    # A column that is not a number in train or test cannot be cast to float: treat it as categories.
    categorical = [c for c in features if c in spec["categorical"]
                   or not (is_numeric(train[c]) and is_numeric(test[c]))]
    auto = [c for c in categorical if c not in spec["categorical"]]
    if auto:
        notice(f"non-numeric columns used as categorical features: {', '.join(map(str, auto))} "
               "(list them in data.categorical to silence this)")
    # A text column with a different value on (nearly) every row is a name or an id: as categories it only overfits.
    unique = [c for c in auto if train[c].nunique() > 0.9 * len(train)]
    if unique:
        notice(f"{', '.join(map(str, unique))}: a different value on nearly every row, like an id or free text. "
               "Add it to data.drop in config.yml, or make features from it in add_features.", logging.WARNING)
    if task != "regression":
        check_labels(train[spec["target"]], spec["target"], paths["train"], ", or clean the target in add_features "
                     "(features.py), e.g. frame[target] = frame[target].str.strip().str.lower()")
    y, classes = encode_target(train[spec["target"]], task, spec["target"], paths["train"])
    fspec = learn_feature_spec(train[features], categorical, spec, task, classes, y)
    X = encode_features(train[features], fspec, paths["train"])
    X_test = encode_features(test[features], fspec, paths["test"])
    check_finite(X, paths["train"]), check_finite(X_test, paths["test"])
    check_sample(sample, test[spec["id"]], classes, spec["id"], spec["target"], paths["sample_submission"],
                 paths["test"])
    extra = train.drop(columns=features).copy()  # a copy holds only these columns, so the train frame can be freed
    return Dataset(X, y, X_test, extra[spec["id"]], test[spec["id"]].copy(), sample, classes, categorical, extra, fspec)


def input_path(spec, name):
    """Give the path of data file `name` (train, test or sample_submission of the data section `spec`).

    It is in $KAGGLE_EXP_DATA_DIR when that is set (a relative one from the project root), else in data.dir.
    """
    folder = os.environ.get(DATA_DIR_ENV)
    return (ROOT / Path(folder) if folder else ROOT / spec["dir"]) / spec[name]


def read_table(path, id_name):
    """Give the CSV or Parquet file at `path` as a DataFrame."""
    if not path.is_file():
        folder = path.parent
        found = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []
        where = (f"unset {DATA_DIR_ENV} (it is {os.environ[DATA_DIR_ENV]!r}) to read data.dir, or "
                 if os.environ.get(DATA_DIR_ENV) else "")
        raise DataError(
            f"data file not found: {rel(path)}. "
            + (f"Files in {rel(folder)}: {', '.join(found)}. " if found else f"{rel(folder)} is empty or missing. ")
            + f"Fix: put the competition files there (scripts/kaggle_cli.py download), or {where}edit data.dir / "
              "data.train / data.test / data.sample_submission in config.yml."
        )
    parquet = path.suffix in (".parquet", ".pq")
    try:
        if not parquet:
            check_header(path)
        # CSV ids are read as text, so ids like 0001 reach the submission unchanged.
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path, dtype={id_name: str})
    except (ValueError, OSError) as e:
        raise DataError(f"{rel(path)}: cannot read it as {'Parquet' if parquet else 'CSV'} ({e}). "
                        "Fix: check the file (unzip it if it came zipped), or name it .csv or .parquet.") from None
    return drop_index_column(frame, path, keep=(id_name,))


def require_columns(frame, columns, path, fix):
    """Raise DataError naming the file, the missing columns (with the closest match) and the columns it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{rel(path)}: no column {', '.join(map(repr, missing))}{closest(missing[0], frame.columns)}. "
                        f"Columns are: {', '.join(map(str, frame.columns))}. Fix: {fix}.")


def check_names(key, names, columns, what, fix):
    """Raise DataError when the config list `key` names something not in `columns` (a typo would be ignored)."""
    missing = [c for c in names if c not in columns]
    if missing:
        raise DataError(f"{key} names {', '.join(map(repr, missing))}, which {'is' if len(missing) == 1 else 'are'} "
                        f"not {what}{closest(missing[0], columns)}. "
                        f"Columns are: {', '.join(map(str, columns))}. Fix: {fix}.")


def choose_features(train, test, spec, paths):
    """Give the feature columns: data.features, or all columns but id, target and data.drop."""
    train_name = rel(paths["train"])
    check_names("data.drop", spec["drop"], list(train.columns), f"a column of {train_name}",
                "correct the name in data.drop (config.yml or the run's snippet), or remove it")
    if spec["features"]:
        features = list(spec["features"])
        require_columns(train, features, paths["train"], "in config.yml, list only these in data.features")
    else:
        unwanted = {spec["id"], spec["target"], *spec["drop"], spec.get("cv_group")}
        features = [c for c in train.columns if c not in unwanted]
    require_columns(test, features, paths["test"],
                    "in config.yml, add the columns only train has to data.drop "
                    "(or list the features in data.features)")
    check_names("data.categorical", spec["categorical"], features, "a feature",
                "correct the name, or remove it from data.categorical (or from data.drop)")
    return features


def load_test_for_prediction(cfg, spec, test_path):
    """Give (X_test, test ids) for any test file (CSV or Parquet), encoded exactly like the run's training.

    `spec` is the run's feature_spec (its features.json); a relative `test_path` is read from the project root.
    add_features runs on the file alone, as it did on the train and test files.
    """
    path = ROOT / test_path
    return encode_test_rows(cfg, spec, read_table(path, spec["id"]), path)


def encode_test_rows(cfg, spec, frame, path):
    """Give (X_test, test ids) for a frame of test rows, as load_test_for_prediction does for a file; `path` names
    where the rows came from in messages (an inference server's batch too)."""
    require_columns(frame, [spec["id"]], path, f"give a test file with the id column {spec['id']!r}")
    check_rows(frame, spec["id"], path)
    frame = add_features(frame, cfg.get("features") or {})
    features = list(spec["features"])
    require_columns(frame, features, path, "give a test file with the columns of the competition's test file")
    return encode_features(frame[features], spec, path), frame[spec["id"]].copy()
