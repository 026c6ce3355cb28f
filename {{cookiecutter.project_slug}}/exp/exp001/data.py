"""Data in and out: read the competition files, build features and folds, write predictions.

Everything read here is kept for the whole process, so the runs of one experiment
that share a `data` section parse the files once.
"""
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from util import OUTPUT_DIR, ROOT, DataError, log, rel


@dataclass
class Dataset:
    X: pd.DataFrame          # train features
    y: np.ndarray            # encoded target: class codes, or floats for regression
    X_test: pd.DataFrame
    ids: pd.Series           # train ids
    test_ids: pd.Series
    sample: pd.DataFrame     # sample_submission.csv as read
    classes: list            # original labels by code; [] for regression
    categorical: list
    extra: pd.DataFrame      # train columns that are not features (id, target, dropped), for cv.group


_CACHE = {}


def load_data(cfg, n_rows=None):
    """Give the Dataset for cfg['data'] (a sample of n_rows train rows in debug mode)."""
    key = json.dumps([cfg["data"], cfg["task"], n_rows], sort_keys=True, default=str)
    if key not in _CACHE:
        _CACHE[key] = read_dataset(cfg["data"], cfg["task"], n_rows, cfg.get("seed", 0))
    return _CACHE[key]


def read_dataset(spec, task, n_rows, seed):
    folder = ROOT / spec["dir"]
    train = read_table(folder / spec["train"])
    test = read_table(folder / spec["test"])
    sample = read_table(folder / spec["sample_submission"])
    require_columns(train, [spec["id"], spec["target"]], spec["train"])
    require_columns(test, [spec["id"]], spec["test"])
    require_columns(sample, [spec["id"]], spec["sample_submission"])
    if n_rows and len(train) > n_rows:
        train = train.sample(n=n_rows, random_state=seed).reset_index(drop=True)

    features = choose_features(train, test, spec)
    categorical = [c for c in features if c in spec["categorical"] or not is_numeric(train[c])]
    auto = sorted(set(categorical) - set(spec["categorical"]))
    if auto:
        log.info(f"text columns used as categorical features: {', '.join(auto)} (list them in data.categorical to silence this)")
    X, X_test = prepare_features(train[features], test[features], categorical)
    y, classes = encode_target(train[spec["target"]], task, spec["target"])
    log.info(f"data: train {X.shape[0]:,} rows x {X.shape[1]} features, test {X_test.shape[0]:,} rows"
             + (f", {len(classes)} classes" if classes else ""))
    extra = train.drop(columns=features)
    return Dataset(X, y, X_test, train[spec["id"]], test[spec["id"]], sample, classes, categorical, extra)


def read_table(path):
    """Give the CSV or Parquet file at `path` as a DataFrame."""
    if not path.is_file():
        folder = path.parent
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise DataError(
            f"data file not found: {rel(path)}. "
            + (f"Files in {rel(folder)}: {', '.join(found)}. " if found else f"{rel(folder)} is empty or missing. ")
            + "Fix: put the competition files there (scripts/kaggle_cli.py download) or edit data.dir / data.train / data.test in config.yml."
        )
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def require_columns(frame, columns, name):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{name}: no column {', '.join(map(repr, missing))}. Columns are: {', '.join(map(str, frame.columns))}. "
            "Fix: set data.id / data.target in config.yml to one of these."
        )


def choose_features(train, test, spec):
    """Give the feature columns: data.features, or all columns but id, target and drop."""
    if spec["features"]:
        features = list(spec["features"])
        require_columns(train, features, f"{spec['train']} (data.features)")
    else:
        unwanted = {spec["id"], spec["target"], *spec["drop"]}
        features = [c for c in train.columns if c not in unwanted]
    require_columns(test, features, spec["test"])
    for c in spec["categorical"]:
        if c not in features:
            raise DataError(f"data.categorical names {c!r}, which is not a feature. Features are: {', '.join(features)}.")
    return features


def is_numeric(column):
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def prepare_features(X, X_test, categorical):
    """Give train and test features with shared category codes and float32 numbers."""
    # Shallow copies: converted columns are replaced, the rest are shared, not duplicated.
    X, X_test = X.copy(deep=False), X_test.copy(deep=False)
    for c in X.columns:
        if c in categorical:
            # One category list for train and test, so a code means the same value in both;
            # a value seen only in test simply has no rows in train.
            values = pd.concat([X[c], X_test[c]], ignore_index=True).dropna().unique()
            dtype = pd.CategoricalDtype(sorted(values, key=str))
            X[c], X_test[c] = X[c].astype(dtype), X_test[c].astype(dtype)
        elif X[c].dtype == np.float64:
            # Trees bin features anyway; float32 halves memory without changing splits in practice.
            X[c], X_test[c] = X[c].astype(np.float32), X_test[c].astype(np.float32)
    return X, X_test


def encode_target(target, task, name):
    """Give (codes or floats, classes) for the target column."""
    if target.isna().any():
        raise DataError(f"target column {name!r} has {int(target.isna().sum())} missing values. Fix: drop those rows first.")
    if task == "regression":
        if not is_numeric(target):
            raise DataError(f"task is regression but target {name!r} is not numeric (e.g. {target.iloc[0]!r}). Fix: set task to binary or multiclass.")
        return target.to_numpy(dtype=np.float64), []
    classes, codes = np.unique(target.to_numpy(), return_inverse=True)
    if task == "binary" and len(classes) != 2:
        raise DataError(f"task is binary but target {name!r} has {len(classes)} values: {list(classes)[:10]}. Fix: set task to multiclass or regression.")
    return codes.astype(np.int32), classes.tolist()


# ---------------------------------------------------------------- folds

_FOLDS = {}


def make_folds(data, cv, seed_default):
    """Give the fold number of every train row, saved once under data/output/folds/ and reused.

    Every run and every experiment with the same CV settings and train rows gets the
    same assignment, so out-of-fold predictions line up for ensembling.
    """
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    scheme, n_splits, seed = cv["scheme"], cv["n_splits"], cv.get("seed", seed_default)
    groups = None
    if scheme in ("group", "stratified_group"):
        columns = [*data.extra.columns, *data.X.columns]
        if cv.get("group") not in columns:
            raise DataError(f"cv.scheme {scheme} needs cv.group, a column of train. Columns are: {', '.join(map(str, columns))}.")
        source = data.extra if cv["group"] in data.extra.columns else data.X
        groups = source[cv["group"]].to_numpy()
    digest = hashlib.sha1(pd.util.hash_pandas_object(data.ids, index=False).to_numpy().tobytes()
                          + data.y.tobytes() + (pd.util.hash_array(groups).tobytes() if groups is not None else b"")).hexdigest()[:10]
    name = f"{scheme}_k{n_splits}_seed{seed}" + (f"_{cv['group']}" if groups is not None else "") + f"_{digest}.csv"
    path = OUTPUT_DIR / "folds" / name
    if path in _FOLDS:
        return _FOLDS[path]
    if path.is_file():
        folds = pd.read_csv(path)["fold"].to_numpy()
    else:
        splitter = {
            "kfold": lambda: KFold(n_splits, shuffle=True, random_state=seed),
            "stratified": lambda: StratifiedKFold(n_splits, shuffle=True, random_state=seed),
            "group": lambda: GroupKFold(n_splits),
            "stratified_group": lambda: StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed),
        }[scheme]()
        folds = np.full(len(data.y), -1, dtype=np.int8)
        for k, (_, valid_idx) in enumerate(splitter.split(np.zeros(len(data.y)), data.y, groups)):
            folds[valid_idx] = k
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pd.DataFrame({"id": data.ids, "fold": folds}).to_csv(tmp, index=False)
        tmp.replace(path)
        log.info(f"folds saved to {rel(path)}")
    _FOLDS[path] = folds
    return folds


# ---------------------------------------------------------------- predictions and submission

def prediction_frame(ids, pred, classes, id_name):
    """Give a frame of id and prediction columns: pred, or pred_<class> per class."""
    frame = pd.DataFrame({id_name: ids.to_numpy()})
    if pred.ndim == 2:
        for k, label in enumerate(classes):
            frame[f"pred_{label}"] = pred[:, k]
    else:
        frame["pred"] = pred
    return frame


def make_submission(data, test_pred, cfg, label_metric):
    """Give the submission: the sample submission with its prediction columns filled in."""
    spec, task = cfg["data"], cfg["task"]
    sample = data.sample
    columns = [c for c in sample.columns if c != spec["id"]]
    order = pd.Index(data.test_ids).get_indexer(sample[spec["id"]])
    if (order < 0).any():
        raise DataError(f"{spec['sample_submission']}: {int((order < 0).sum())} ids are not in {spec['test']}. Fix: use the competition's own files.")
    pred = test_pred[order]
    sub = sample.copy()
    class_names = [str(c) for c in data.classes]
    if task != "regression" and sorted(map(str, columns)) == sorted(class_names) and len(columns) > 1:
        probs = pred if pred.ndim == 2 else np.column_stack([1 - pred, pred])
        for k, label in enumerate(class_names):
            sub[columns[[str(c) for c in columns].index(label)]] = probs[:, k]
    elif len(columns) == 1:
        if task == "regression":
            sub[columns[0]] = pred
        elif label_metric:
            codes = pred.argmax(axis=1) if pred.ndim == 2 else (pred >= 0.5).astype(int)
            sub[columns[0]] = np.asarray(data.classes, dtype=object)[codes]
        elif pred.ndim == 1:
            sub[columns[0]] = pred
        else:
            raise DataError(f"{spec['sample_submission']} has one prediction column ({columns[0]}) but metric {cfg['metric']} "
                            f"needs one probability column per class ({', '.join(class_names)}). Fix: choose a label metric such as accuracy or f1.")
    else:
        raise DataError(f"{spec['sample_submission']}: cannot fill columns {columns}. Expected one column, or one column per class ({', '.join(class_names)}).")
    return sub


def check_submission(sub, sample, id_name):
    """Raise DataError unless `sub` has the sample's ids in order, its columns, and no missing values."""
    if list(sub.columns) != list(sample.columns):
        raise DataError(f"submission columns {list(sub.columns)} differ from sample_submission's {list(sample.columns)}.")
    if id_name not in sub.columns or not sub[id_name].reset_index(drop=True).equals(sample[id_name].reset_index(drop=True)):
        raise DataError(f"submission ids differ from sample_submission's (same ids, same order expected) in column {id_name!r}.")
    if sub.isna().any().any():
        bad = [c for c in sub.columns if sub[c].isna().any()]
        raise DataError(f"submission has missing values in {', '.join(bad)}.")
