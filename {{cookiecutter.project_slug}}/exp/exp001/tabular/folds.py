"""Folds: which fold each train row validates in, made once and shared by every run with the same CV settings."""
import hashlib
import json
import weakref

import numpy as np
import pandas as pd

from runner.util import OUTPUT_DIR, DataError, closest, log, rel, temporary_name
from util import write_csv

GROUP_SCHEMES = ("group", "stratified_group")


def group_values(data, group):
    """Give the cv.group column of train, whether it is a feature or not."""
    for frame in (data.extra, data.X):
        if group in frame.columns:
            return frame[group].to_numpy()
    columns = [*data.extra.columns, *data.X.columns]
    raise DataError(f"cv.group is {group!r}, which is not a column of the train file{closest(group, columns)}. Columns "
                    f"are: {', '.join(map(str, columns))}. Fix: set cv.group in config.yml to one of these.")


def data_section(cfg):
    """Give cfg's data section as data.py reads it: the cv.group column is no feature unless data.features lists it."""
    data, group = cfg["data"], cfg["cv"].get("group")
    if (cfg["cv"].get("scheme") not in GROUP_SCHEMES or not group
            or group in (data["features"] or []) or group in data["drop"]):
        return data
    return {**data, "categorical": [c for c in data["categorical"] if c != group], "cv_group": group}


_FOLDS = {}
_DIGESTS = {}  # (id of a loaded Dataset, cv.group) -> digest; an entry leaves with its Dataset


def rows_digest(data, group, groups):
    """Give the short digest of train's ids, target and groups that names the fold file, hashed once per Dataset.

    The ids are hashed as one text (0.1 s for a million; pandas' row hashes took 0.4 s); runs on the
    same loaded data share the Dataset, so later runs pay nothing.
    """
    key = (id(data), group)
    if key not in _DIGESTS:
        digest = hashlib.sha1("\n".join(data.ids.astype(str).tolist()).encode() + data.y.tobytes())
        if groups is not None:
            # Which rows share a group, not how the column is stored: as a feature it is encoded (float32,
            # categories), dropped it is read as it is, and both make the same folds, so the same file.
            digest.update(pd.factorize(groups, sort=True)[0].astype(np.int64).tobytes())
        _DIGESTS[key] = digest.hexdigest()[:10]
        weakref.finalize(data, _DIGESTS.pop, key, None)  # a new Dataset may reuse the id of a freed one
    return _DIGESTS[key]


def make_folds(data, cv, seed_default):
    """Give the fold number of every train row, saved once under data/output/folds/ and reused.

    Every run and every experiment with the same CV settings and train rows gets the
    same assignment, so out-of-fold predictions line up for ensembling.
    """
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    scheme, n_splits = cv["scheme"], cv["n_splits"]
    seed = seed_default if cv.get("seed") is None else cv["seed"]
    groups = group_values(data, cv["group"]) if scheme in GROUP_SCHEMES else None
    strata = data.y
    if not data.classes and scheme in ("stratified", "stratified_group"):
        # Regression: stratify on ten quantile bins, so every fold sees the whole range of the target.
        strata = pd.qcut(data.y, 10, labels=False, duplicates="drop")
    digest = rows_digest(data, cv["group"] if groups is not None else None, groups)
    # Named by a hash of the settings, never by their text: a cv.group like '../x' cannot reach the path.
    settings = json.dumps([seed, cv["group"] if groups is not None else None, digest]).encode()
    name = f"{scheme}_k{int(n_splits)}_{hashlib.blake2b(settings, digest_size=6).hexdigest()}.csv"
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
        tmp = temporary_name(path)
        try:
            write_csv(pd.DataFrame({data.ids.name: data.ids.array, "fold": folds}), tmp)
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
