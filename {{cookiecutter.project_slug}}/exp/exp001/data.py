"""Data in and out: read the competition files, build features and folds, write predictions.

Everything read here is kept for the whole process, so the runs of one experiment
that share a `data` section parse the files once.
"""
import difflib
import hashlib
import json
import logging
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from util import OUTPUT_DIR, ROOT, DataError, log, rel

GROUP_SCHEMES = ("group", "stratified_group")


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
    key = json.dumps([cfg["data"], cfg["task"], options, n_rows], sort_keys=True, default=str)
    if key not in _CACHE:
        _CACHE[key] = read_dataset(cfg["data"], cfg["task"], n_rows, options)
    if cfg["cv"]["scheme"] in GROUP_SCHEMES:
        group_values(_CACHE[key], cfg["cv"]["group"])  # a missing column is reported before any training
    return _CACHE[key]


def read_dataset(spec, task, n_rows, options):
    """Give the Dataset: read the files, check the columns, choose and encode features and target."""
    paths = {name: ROOT / spec["dir"] / spec[name] for name in ("train", "test", "sample_submission")}
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
    fspec = learn_feature_spec(train[features], categorical, spec, task, classes)
    X = encode_features(train[features], fspec, paths["train"])
    X_test = encode_features(test[features], fspec, paths["test"])
    check_sample(sample, test[spec["id"]], classes, spec["id"], spec["target"], paths["sample_submission"], paths["test"])
    extra = train.drop(columns=features).copy()  # a copy holds only these columns, so the train frame can be freed
    return Dataset(X, y, X_test, extra[spec["id"]], test[spec["id"]].copy(), sample, classes, categorical, extra, fspec)


def add_features(frame, options):
    """Give `frame` with your own feature columns added; the place for feature engineering.

    It is called on each file alone: train, test, and, when a finished run predicts a new (hidden)
    test file, that file. So build a row's features from that row (and constants) only, never from
    other rows or from the train file: then a row gets the same features whichever file it comes in.
    New columns become features by themselves (unless listed in data.drop). `options` is the
    config's `features:` section: put your switches there (a run adds one with +name) and read them here.
    """
    return frame


_SAID = set()


def notice(message, level=logging.INFO):
    """Log `message` once per process: runs sharing data need not repeat it."""
    if message not in _SAID:
        _SAID.add(message)
        log.log(level, message)


def read_table(path, id_name):
    """Give the CSV or Parquet file at `path` as a DataFrame."""
    if not path.is_file():
        folder = path.parent
        found = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []
        raise DataError(
            f"data file not found: {rel(path)}. "
            + (f"Files in {rel(folder)}: {', '.join(found)}. " if found else f"{rel(folder)} is empty or missing. ")
            + "Fix: put the competition files there (scripts/kaggle_cli.py download) or edit data.dir / data.train / "
              "data.test / data.sample_submission in config.yml."
        )
    parquet = path.suffix in (".parquet", ".pq")
    try:
        # CSV ids are read as text, so ids like 0001 reach the submission unchanged.
        return pd.read_parquet(path) if parquet else pd.read_csv(path, dtype={id_name: str})
    except (ValueError, OSError) as e:
        raise DataError(f"{rel(path)}: cannot read it as {'Parquet' if parquet else 'CSV'} ({e}). "
                        "Fix: check the file (unzip it if it came zipped), or name it .csv or .parquet.") from None


def closest(name, names):
    """Give ' (did you mean X?)' for the name in `names` closest to `name`, ignoring case; '' when none is close."""
    by_lower = {str(c).lower(): str(c) for c in names}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.7)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


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
    repeated = frame[id_name][frame[id_name].duplicated()]
    if unique_ids and len(repeated):
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


def learn_feature_spec(X, categorical, spec, task, classes):
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
    return {"id": spec["id"], "target": spec["target"], "task": task, "classes": list(classes),
            "features": kinds, "levels": levels}


def feature_spec(dataset):
    """Give what predicting another test file needs (JSON-able): id and target, features and their kinds,
    category levels in code order, class order and task; saved as features.json in each run."""
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


# ---------------------------------------------------------------- folds

def group_values(data, group):
    """Give the cv.group column of train, whether it is a feature or not."""
    for frame in (data.extra, data.X):
        if group in frame.columns:
            return frame[group].to_numpy()
    columns = [*data.extra.columns, *data.X.columns]
    raise DataError(f"cv.group is {group!r}, which is not a column of the train file{closest(group, columns)}. Columns are: "
                    f"{', '.join(map(str, columns))}. Fix: set cv.group in config.yml to one of these.")


_FOLDS = {}
_DIGESTS = {}  # (id of a loaded Dataset, cv.group) -> digest; an entry leaves with its Dataset


def rows_digest(data, group, groups):
    """Give the short digest of train's ids, target and groups that names the fold file, hashed once per Dataset.

    Hashing a million ids takes about 0.3 s; runs on the same loaded data share the Dataset, so later runs pay nothing.
    """
    key = (id(data), group)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha1(
            pd.util.hash_pandas_object(data.ids, index=False).to_numpy().tobytes() + data.y.tobytes()
            + (pd.util.hash_array(groups).tobytes() if groups is not None else b"")).hexdigest()[:10]
        weakref.finalize(data, _DIGESTS.pop, key, None)  # a new Dataset may reuse the id of a freed one
    return _DIGESTS[key]


def make_folds(data, cv, seed_default):
    """Give the fold number of every train row, saved once under data/output/folds/ and reused.

    Every run and every experiment with the same CV settings and train rows gets the
    same assignment, so out-of-fold predictions line up for ensembling.
    """
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    scheme, n_splits, seed = cv["scheme"], cv["n_splits"], cv.get("seed", seed_default)
    groups = group_values(data, cv["group"]) if scheme in GROUP_SCHEMES else None
    strata = data.y
    if not data.classes and scheme in ("stratified", "stratified_group"):
        # Regression: stratify on ten quantile bins, so every fold sees the whole range of the target.
        strata = pd.qcut(data.y, 10, labels=False, duplicates="drop")
    digest = rows_digest(data, cv["group"] if groups is not None else None, groups)
    name = f"{scheme}_k{n_splits}_seed{seed}" + (f"_{cv['group']}" if groups is not None else "") + f"_{digest}.csv"
    path = OUTPUT_DIR / "folds" / name
    if path in _FOLDS:
        return _FOLDS[path]
    if path.is_file():
        folds = read_folds(path, data, n_splits)
    else:
        splitter = {
            "kfold": lambda: KFold(n_splits, shuffle=True, random_state=seed),
            "stratified": lambda: StratifiedKFold(n_splits, shuffle=True, random_state=seed),
            "group": lambda: GroupKFold(n_splits),
            "stratified_group": lambda: StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed),
        }[scheme]()
        folds = np.full(len(data.y), -1, dtype=np.int16)
        try:
            for k, (_, valid_idx) in enumerate(splitter.split(np.zeros(len(data.y)), strata, groups)):
                folds[valid_idx] = k
        except ValueError as e:
            raise DataError(f"cv: cannot split {len(data.y)} train rows into {n_splits} {scheme} folds ({e}). "
                            "Fix: lower cv.n_splits or choose another cv.scheme in config.yml.") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of our own, then a rename: processes that make the same folds at once each
        # write their own file, and the file in place is always one whole, identical copy.
        from util import temporary_name
        tmp = temporary_name(path)
        try:
            pd.DataFrame({data.ids.name: data.ids, "fold": folds}).to_csv(tmp, index=False)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        log.info(f"folds saved to {rel(path)}")
    _FOLDS[path] = folds
    return folds


def read_folds(path, data, n_splits):
    """Give the fold numbers saved in `path`, or raise DataError when the file does not fit this train file."""
    def refuse(problem):
        raise DataError(f"{rel(path)}: {problem}, so it does not fit this train file and its cv settings. "
                        f"Fix: delete {rel(path)}; the next run writes it again.")

    try:
        saved = pd.read_csv(path, dtype={data.ids.name: str})
    except (ValueError, OSError) as e:  # empty or cut short
        refuse(f"cannot be read ({e})")
    if "fold" not in saved.columns or data.ids.name not in saved.columns:
        refuse(f"has columns {', '.join(map(str, saved.columns))}, not {data.ids.name} and fold")
    if len(saved) != len(data.ids):
        refuse(f"has {len(saved)} rows but train has {len(data.ids)}")
    if not saved[data.ids.name].astype(str).reset_index(drop=True).equals(data.ids.astype(str).reset_index(drop=True)):
        refuse(f"lists other {data.ids.name} values, or in another order, than train")
    folds = pd.to_numeric(saved["fold"], errors="coerce")
    if folds.isna().any() or set(folds.astype(int)) != set(range(n_splits)):
        refuse(f"holds fold numbers other than 0 to {n_splits - 1}")
    return folds.to_numpy(dtype=np.int16)


# ---------------------------------------------------------------- predictions and submission

def predicted_codes(pred):
    """Give the class code each prediction picks: the likeliest class, or P(positive) >= 0.5."""
    return pred.argmax(axis=1) if pred.ndim == 2 else (pred >= 0.5).astype(int)


def prediction_frame(ids, pred, classes, id_name):
    """Give a frame of id and prediction columns: pred, or pred_<class> per class."""
    frame = pd.DataFrame({id_name: ids.to_numpy()})
    if pred.ndim == 2:
        for k, label in enumerate(classes):
            frame[f"pred_{label}"] = pred[:, k]
    else:
        frame["pred"] = pred
    return frame


def check_sample(sample, test_ids, classes, id_name, target, sample_path, test_path):
    """Raise DataError unless every sample id is in the test file and the sample's columns can be filled."""
    sample_ids, test_ids = sample[id_name].astype(str), test_ids.astype(str)  # as text, so CSV and Parquet ids match
    found = sample_ids.isin(set(test_ids))
    if not found.all():
        raise DataError(f"{rel(sample_path)}: {int((~found).sum()):,} of its {len(sample):,} ids are not in {rel(test_path)} "
                        f"(e.g. {sample[id_name][~found].iloc[0]!r}). Fix: use the competition's own files, and check data.id.")
    left_out = int((~test_ids.isin(set(sample_ids))).sum())
    if left_out:
        notice(f"{rel(test_path)}: {left_out:,} ids are not in {rel(sample_path)}; they are predicted but not submitted.",
               logging.WARNING)
    columns = [c for c in sample.columns if c != id_name]
    if len(columns) != 1 and not one_column_per_class(columns, classes, target):
        raise DataError(f"{rel(sample_path)}: cannot fill columns {', '.join(map(str, columns))}. "
                        "Fix: give a sample submission with the id and one prediction column, "
                        f"or the id and one column per class ({', '.join(map(str, classes)) or 'no classes: task is regression'}).")


def one_column_per_class(columns, classes, target):
    """True when the sample's prediction columns are classes (named like the class, or <target>_<class>)."""
    names = {str(c) for c in classes} | {f"{target}_{c}" for c in classes}
    return bool(classes) and len(columns) > 1 and all(str(c) in names for c in columns)


def make_submission(data, test_pred, cfg, label_metric, sample=None, test_ids=None):
    """Give the submission: the sample submission with its prediction columns filled in.

    One column per class (named like the class, or <target>_<class>) gets probabilities in the
    sample's column order; a single column gets labels for label metrics, else probabilities or values.
    `sample` and `test_ids` default to the run's own; give others to fill any sample file.
    """
    spec, task, classes = cfg["data"], cfg["task"], data.classes
    sample = data.sample if sample is None else sample
    test_ids = data.test_ids if test_ids is None else test_ids
    id_name, target = spec["id"], spec["target"]
    columns = [c for c in sample.columns if c != id_name]
    # Ids compare as text, so a CSV sample matches a Parquet test file.
    order = pd.Index(test_ids.astype(str)).get_indexer(sample[id_name].astype(str))
    if (order < 0).any():
        raise DataError(f"{spec['sample_submission']}: {int((order < 0).sum())} ids are not in {spec['test']}. "
                        "Fix: use the competition's own files, and check data.id.")
    pred = test_pred[order]
    sub = sample.copy()
    class_of = {str(c): k for k, c in enumerate(classes)} | {f"{target}_{c}": k for k, c in enumerate(classes)}
    if one_column_per_class(columns, classes, target):
        probs = pred if pred.ndim == 2 else np.column_stack([1 - pred, pred])
        for c in columns:
            sub[c] = probs[:, class_of[str(c)]]
        log.info(f"submission: the probability of each class in {', '.join(map(str, columns))}")
    elif len(columns) != 1:
        raise DataError(f"{spec['sample_submission']}: cannot fill columns {', '.join(map(str, columns))}. "
                        "Fix: give a sample submission with one prediction column, "
                        f"or one column per class ({', '.join(map(str, classes))}).")
    elif task == "regression":
        # rmsle cannot take values below -1, and CV scored them clipped at 0.
        sub[columns[0]] = np.clip(pred, 0, None) if cfg["metric"] == "rmsle" else pred
    elif label_metric:
        sub[columns[0]] = np.asarray(classes, dtype=object)[predicted_codes(pred)]
        log.info(f"submission: predicted labels of {target} in {columns[0]}")
    elif pred.ndim == 1:
        sub[columns[0]] = pred
        log.info(f"submission: the probability that {target} is {classes[1]!r} in {columns[0]}")
    else:
        raise DataError(f"{spec['sample_submission']} has one prediction column ({columns[0]}) but metric {cfg['metric']} "
                        f"needs one probability column per class ({', '.join(map(str, classes))}). "
                        "Fix: choose a label metric such as accuracy or f1.")
    return sub


def check_submission(sub, sample, id_name):
    """Raise DataError unless `sub` has the sample's ids in order, its columns, and no missing values."""
    if list(sub.columns) != list(sample.columns):
        raise DataError(f"submission columns {list(sub.columns)} differ from sample_submission's {list(sample.columns)}. "
                        "Fix: make_submission in data.py must keep the sample's columns.")
    if id_name not in sub.columns or not sub[id_name].reset_index(drop=True).equals(sample[id_name].reset_index(drop=True)):
        raise DataError(f"submission ids in column {id_name!r} differ from sample_submission's. "
                        "Fix: make_submission in data.py must keep the sample's ids in their order.")
    bad = [str(c) for c in sub.columns if sub[c].isna().any()]
    if bad:
        raise DataError(f"submission has missing values in {', '.join(bad)}. Fix: check the predictions in test_pred.csv.")
