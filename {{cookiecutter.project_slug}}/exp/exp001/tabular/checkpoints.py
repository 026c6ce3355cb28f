"""Each finished fold, saved so that a run stopped in fold 3 goes on at fold 3 in its next process.

The runner hands train.run the run's resume folder (see runner/resume.py): it holds the folds an
earlier process of the same run (same config and code) finished, and nothing on a fresh start.
A fold is written to a hidden name and renamed, so it is saved whole or not at all:

    fold<k>/fold.json   its best iteration, seconds, feature names and a digest of the rows it was fitted on
    fold<k>/*.npy       its out-of-fold rows, its test predictions (target's scale) and importance
    fold<k>/models/     its model files and fold features, copied into the run's models/ on resume
    progress.json       {"unit": "fold", "done": 2, "of": 5}: what the runner's log and --list say
"""
import hashlib
import json
import os
import shutil

import numpy as np
import pandas as pd

from runner.resume import still_ours
from runner.util import log, temporary_name, write_atomic, write_json


def rows_digest(y, folds):
    """Give a digest of the target and the fold assignment: saved folds are reused only on the same rows."""
    digest = hashlib.blake2b(digest_size=12)
    for array in (np.ascontiguousarray(y), np.ascontiguousarray(folds)):
        digest.update(str(array.dtype).encode() + array.tobytes())
    return digest.hexdigest()


def check_rows(resume, rows):
    """Drop the saved folds when the data changed since they were fitted (the config and code did not)."""
    if resume is None:
        return
    saved = [p for p in resume.glob("fold*/fold.json") if json.loads(p.read_text())["rows"] != rows]
    if saved:
        log.info("  the data changed since the run stopped: its saved folds are not reused")
        for path in resume.glob("fold*"):
            shutil.rmtree(path, ignore_errors=True)
        (resume / "progress.json").unlink(missing_ok=True)


def load_fold(resume, k, models_dir):
    """Give fold k as save_fold saved it, its model files copied into models_dir; None when it was not finished."""
    folder = resume / f"fold{k}" if resume is not None else None
    if folder is None or not (folder / "fold.json").is_file():
        return None
    info = json.loads((folder / "fold.json").read_text(encoding="utf-8"))
    for path in sorted((folder / "models").iterdir()):
        link_or_copy(path, models_dir / path.name)
    importance = pd.Series(np.load(folder / "importance.npy", allow_pickle=False), index=info["names"])
    return {"oof": np.load(folder / "oof.npy"), "test": np.load(folder / "test.npy"), "importance": importance,
            "iteration": info["iteration"], "seconds": info["seconds"]}


def save_fold(resume, k, fold, files, n_splits, rows):
    """Save finished fold k (its predictions, numbers and model `files`) whole, then count it in progress.json."""
    if resume is None:
        return
    # A name of this process's own: a process that lost the run to another (paused past its claim) may
    # still be saving the same fold, and neither may remove or half-fill the other's.
    still_ours(resume)  # never made again here: a process taken over finds it gone and writes nothing
    folder = resume / f"fold{k}"
    tmp = temporary_name(folder)
    tmp.mkdir()
    (tmp / "models").mkdir()
    for path in files:
        link_or_copy(path, tmp / "models" / path.name)
    np.save(tmp / "oof.npy", fold["oof"], allow_pickle=False)
    np.save(tmp / "test.npy", fold["test"], allow_pickle=False)
    np.save(tmp / "importance.npy", fold["importance"].to_numpy(), allow_pickle=False)
    write_json(tmp / "fold.json", {"iteration": fold["iteration"], "seconds": fold["seconds"], "rows": rows,
                                   "names": [str(name) for name in fold["importance"].index]})
    try:
        os.rename(tmp, folder)
    except OSError:  # saved already (by the other process, from the same config, code and data): keep that one
        shutil.rmtree(tmp, ignore_errors=True)
    write_atomic(resume / "progress.json", json.dumps({"unit": "fold", "done": k + 1, "of": n_splits}) + "\n")


def link_or_copy(source, target):
    """Hard-link a saved file (no second copy on disk), or copy it where links are not possible."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
