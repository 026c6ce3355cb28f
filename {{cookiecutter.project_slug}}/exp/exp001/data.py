"""Data in: read the competition files, check them, and build the features and the target.

Everything read here is kept for the whole process, so the runs of one experiment
that share a `data` section parse the files once. Folds are in folds.py; predictions
and the submission in submission.py.
"""
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from folds import GROUP_SCHEMES, group_values
from submission import check_sample
from util import ROOT, DataError, closest, log, notice, rel

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
    key = json.dumps([cfg["data"], cfg["task"], options, n_rows, os.environ.get(DATA_DIR_ENV)], sort_keys=True, default=str)
    if key not in _CACHE:
        _CACHE[key] = read_dataset(cfg["data"], cfg["task"], n_rows, options)
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
    if n_rows and len(train) > n_rows:  # the same sample for every run, so debug runs share one read
        train = train.sample(n=n_rows, random_state=0).reset_index(drop=True)

    train, test = add_features(train, options), add_features(test, options)
    features = choose_features(train, test, spec, paths)
    # A column that is not a number in train or test cannot be cast to float: treat it as categories.
    categorical = [c for c in features if c in spec["categorical"] or not (is_numeric(train[c]) and is_numeric(test[c]))]
    auto = [c for c in categorical if c not in spec["categorical"]]
    if auto:
        notice(f"non-numeric columns used as categorical features: {', '.join(map(str, auto))} "
               "(list them in data.categorical to silence this)")
    # A text column with a different value on (nearly) every row is a name or an id: as categories it only overfits.
    unique = [c for c in auto if train[c].nunique() > 0.9 * len(train)]
    if unique:
        notice(f"{', '.join(map(str, unique))}: a different value on nearly every row, like an id or free text. "
               "Add it to data.drop in config.yml, or make features from it in add_features.", logging.WARNING)
    y, classes = encode_target(train[spec["target"]], task, spec["target"], paths["train"])
    fspec = learn_feature_spec(train[features], categorical, spec, task, classes, y)
    X = encode_features(train[features], fspec, paths["train"])
    X_test = encode_features(test[features], fspec, paths["test"])
    check_sample(sample, test[spec["id"]], classes, spec["id"], spec["target"], paths["sample_submission"], paths["test"])
    extra = train.drop(columns=features).copy()  # a copy holds only these columns, so the train frame can be freed
    return Dataset(X, y, X_test, extra[spec["id"]], test[spec["id"]].copy(), sample, classes, categorical, extra, fspec)


def input_path(spec, name):
    """Give the path of data file `name` (train, test or sample_submission of the data section `spec`).

    It is in $KAGGLE_EXP_DATA_DIR when that is set (a relative one from the project root), else in data.dir.
    """
    folder = os.environ.get(DATA_DIR_ENV)
    return (ROOT / Path(folder) if folder else ROOT / spec["dir"]) / spec[name]


def add_features(frame, options):
    """Give `frame` with your own feature columns added; the place for feature engineering.

    It is called on each file alone: train, test, and, when a finished run predicts a new (hidden)
    test file, that file. So build a row's features from that row (and constants) only, never from
    other rows or from the train file: then a row gets the same features whichever file it comes in.
    New columns become features by themselves (unless listed in data.drop). `options` is the
    config's `features:` section: put your switches there (a run adds one with +name) and read them here.
    """
    return frame


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
        # CSV ids are read as text, so ids like 0001 reach the submission unchanged.
        return pd.read_parquet(path) if parquet else pd.read_csv(path, dtype={id_name: str})
    except (ValueError, OSError) as e:
        raise DataError(f"{rel(path)}: cannot read it as {'Parquet' if parquet else 'CSV'} ({e}). "
                        "Fix: check the file (unzip it if it came zipped), or name it .csv or .parquet.") from None


def require_columns(frame, columns, path, fix):
    """Raise DataError naming the file, the missing columns (with the closest match) and the columns it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{rel(path)}: no column {', '.join(map(repr, missing))}{closest(missing[0], frame.columns)}. "
                        f"Columns are: {', '.join(map(str, frame.columns))}. Fix: {fix}.")


def check_rows(frame, id_name, path, unique_ids=True):
    """Raise DataError for a file without rows, or (unique_ids) with an id on more than one row."""
    if len(frame) == 0:
        raise DataError(f"{rel(path)} has no rows, only the header. "
                        "Fix: download the competition files again (scripts/kaggle_cli.py download).")
    if not unique_ids or frame[id_name].is_unique:  # one pass over the ids; the details only when it fails
        return
    repeated = frame[id_name][frame[id_name].duplicated()]
    if len(repeated):
        first = repeated.iloc[0]
        raise DataError(
            f"{rel(path)}: {repeated.nunique()} ids in column {id_name!r} are on more than one row (e.g. {first!r}, "
            f"{int((frame[id_name] == first).sum())} times), so predictions cannot be told apart by id. "
            "Fix: set data.id in config.yml to a column unique on every row, or remove the repeated rows.")


def check_names(key, names, columns, what, fix):
    """Raise DataError when the config list `key` names something not in `columns` (a typo would be ignored)."""
    missing = [c for c in names if c not in columns]
    if missing:
        raise DataError(f"{key} names {', '.join(map(repr, missing))}, which {'is' if len(missing) == 1 else 'are'} "
                        f"not {what}{closest(missing[0], columns)}. Columns are: {', '.join(map(str, columns))}. "
                        f"Fix: {fix}.")


def choose_features(train, test, spec, paths):
    """Give the feature columns: data.features, or all columns but id, target and data.drop."""
    train_name = rel(paths["train"])
    check_names("data.drop", spec["drop"], list(train.columns), f"a column of {train_name}",
                "correct the name in data.drop (config.yml or the run's snippet), or remove it")
    if spec["features"]:
        features = list(spec["features"])
        require_columns(train, features, paths["train"], "in config.yml, list only these in data.features")
    else:
        unwanted = {spec["id"], spec["target"], *spec["drop"]}
        features = [c for c in train.columns if c not in unwanted]
    require_columns(test, features, paths["test"],
                    "in config.yml, add the columns only train has to data.drop (or list the features in data.features)")
    check_names("data.categorical", spec["categorical"], features, "a feature",
                "correct the name, or remove it from data.categorical (or from data.drop)")
    return features


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


def feature_spec(dataset):
    """Give what predicting another test file needs (JSON-able): id and target, features and their kinds,
    category levels in code order, class order, task and the target's range; saved as features.json in each run."""
    return dataset.spec


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
    """True for floats (trees split between binned values, so float32 loses nothing they use) and integers below 2**24."""
    return pd.api.types.is_float_dtype(column) or not (column.abs() >= 2**24).any()


def encode_target(target, task, name, path):
    """Give (codes or floats, classes) for the target column."""
    where = f"{rel(path)}: target {name!r}"
    if target.isna().any():
        raise DataError(f"{where} has {int(target.isna().sum())} missing values. Fix: drop those rows from the train file.")
    if task == "regression":
        if not is_numeric(target):
            raise DataError(f"{where} is not numeric (e.g. {str(target.iloc[0])!r}) but task is regression. "
                            "Fix: set task to binary or multiclass.")
        return target.to_numpy(dtype=np.float64), []
    if pd.api.types.is_float_dtype(target) and (target % 1 != 0).any():
        raise DataError(f"{where} has fractional values (e.g. {target[target % 1 != 0].iloc[0]}) but task is {task}. "
                        "Fix: set task to regression.")
    classes, codes = np.unique(target.to_numpy(), return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"{where} has one value only ({classes[0]!r} on all {len(target):,} rows): there is nothing to "
                        "learn. Fix: check that data.target names the target and data.train the whole train file.")
    if task == "multiclass" and is_numeric(target) and len(classes) > max(50, len(target) // 20):
        raise DataError(f"{where} has {len(classes)} different numbers but task is multiclass: it looks like a regression "
                        "target. Fix: set task: regression (and a metric such as rmse) in config.yml.")
    if task == "binary" and len(classes) != 2:
        raise DataError(f"{where} has {len(classes)} values ({', '.join(map(str, classes[:10]))}) but task is binary. "
                        "Fix: set task to multiclass or regression.")
    return codes.astype(np.int32), classes.tolist()


def load_test_for_prediction(cfg, spec, test_path):
    """Give (X_test, test ids) for any test file (CSV or Parquet), encoded exactly like the run's training.

    `spec` is the run's feature_spec (its features.json); a relative `test_path` is read from the project root.
    add_features runs on the file alone, as it did on the train and test files.
    """
    path = ROOT / test_path
    frame = read_table(path, spec["id"])
    require_columns(frame, [spec["id"]], path, f"give a test file with the id column {spec['id']!r}")
    check_rows(frame, spec["id"], path)
    frame = add_features(frame, cfg.get("features") or {})
    features = list(spec["features"])
    require_columns(frame, features, path, "give a test file with the columns of the competition's test file")
    return encode_features(frame[features], spec, path), frame[spec["id"]].copy()
