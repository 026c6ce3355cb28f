"""Predict from a finished run's fold models: for predict.py (a whole test file) and for an inference server (a
batch of rows at a time, as a code competition's evaluation gateway sends them).

`load_predictor(run_dir)` loads every fold model once and gives `predict_rows(frame)`, which turns a frame of test
rows into their submission rows, in the frame's row order: the notebook `kaggle_cli.py notebook --server` builds
serves it. Both paths share load_folds() and predict_folds(), so a row gets the same numbers either way.
"""
import types
from pathlib import Path

import numpy as np
import pandas as pd

import model
import train
from runner import util
from runner.config import parse_yaml
from tabular.outputs import to_submitted
from tabular.submission import check_submission, make_submission


def load_folds(cfg, run_dir):
    """Give, for each fold, (its models, one per seed; the features it learned, or None) from the run's models/."""
    folds = []
    for k in range(cfg["cv"]["n_splits"]):
        state_file = run_dir / "models" / f"fold{k}_features.json"  # features this fold learned (features.fit_fold)
        folds.append((model.load_fold(cfg, run_dir / "models", k),
                      util.read_json(state_file) if state_file.is_file() else None))
    return folds


def predict_folds(cfg, folds, X_test):
    """Give the mean of the folds' predictions in the order and arithmetic of training (so the run's own test file
    gives back its test_pred.csv): one value per row, or a row of class probabilities for multiclass."""
    import features

    X, options = model.to_matrix(X_test), cfg.get("features") or {}
    test_pred = None
    for fold_models, state in folds:
        fold_X = X if state is None else model.to_matrix(features.apply_fold(X_test, state, options))
        pred = train.to_original_scale(cfg, model.predict_fold(cfg, fold_models, fold_X))
        if test_pred is None:  # float64 sums, as training's, whatever a library predicts in (XGBoost: float32)
            test_pred = np.zeros(np.shape(pred))
        test_pred += pred / len(folds)
    return test_pred


def load_predictor(run_dir, columns=None, files=None):
    """Give predict_rows(frame): the submission rows for a frame of test rows, ids in the frame's order, in
    `columns` (the competition's sample submission's; None: those of the run's own submission.csv). `files`: where
    the rows' files are, for the kinds whose rows name files; a tabular row holds its features.

    Every fold model is loaded here, once; each call only encodes and predicts its rows.
    """
    import data as data_io

    run_dir = Path(run_dir)
    cfg = parse_yaml((run_dir / "config.yml").read_text(encoding="utf-8"), str(run_dir / "config.yml"))
    spec = util.read_json(run_dir / "features.json")
    id_name = spec["id"]
    if columns is None:
        if not (run_dir / "submission.csv").is_file():  # a packaged record leaves it out
            raise util.DataError(f"{run_dir.name} has no submission.csv to take the submission's columns from. "
                                 "Fix: give load_predictor the sample submission's columns.")
        columns = list(pd.read_csv(run_dir / "submission.csv", nrows=0).columns)
    folds = load_folds(cfg, run_dir)
    needs_labels = train.METRICS[cfg["metric"]].needs_labels

    def predict_rows(frame):
        """Give the submission rows of `frame` (a pandas DataFrame of test rows), in its row order."""
        X_test, ids = data_io.encode_test_rows(cfg, spec, frame.reset_index(drop=True), Path("the batch"))
        test_pred = predict_folds(cfg, folds, X_test)
        rows = pd.DataFrame({c: ids.array if c == id_name else np.nan for c in columns})
        run_data = types.SimpleNamespace(classes=spec["classes"], sample=rows, test_ids=ids)  # what it reads
        submission = make_submission(run_data, to_submitted(cfg, test_pred, spec.get("target_range")), cfg,
                                     needs_labels)
        check_submission(submission, rows, id_name)
        return submission

    return predict_rows

