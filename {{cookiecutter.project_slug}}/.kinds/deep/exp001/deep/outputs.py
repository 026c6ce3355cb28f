"""A run's files beside its metrics: oof.csv, test_pred.csv, the checked submission.csv, history.csv, curves.png,
per_class.csv and confusion_matrix.png (classification), oof_vs_target.png (regression), and a second metric
beside the run's own in metrics.json (diagnostics.py draws the same pictures for every kind)."""
import numpy as np
import pandas as pd

from diagnostics import plot_diagnostics
from deep.curves import plot_curves
from metrics import METRICS, predicted_codes
from runner.util import DataError, log, write_json


def save_outputs(cfg, table, folds, result, run_dir):
    """Write out-of-fold and test predictions, the checked submission, each epoch's history, the curves and metrics."""
    spec = cfg["data"]
    oof = prediction_frame(table.ids, result["oof"], cfg["task"], table.classes, spec["id"])
    oof.insert(1, "fold", folds)
    if table.y.ndim == 2:  # multilabel's labels, or several regression targets
        for j, label in enumerate(table.classes):
            oof.insert(2 + j, label, table.y[:, j].astype(int) if cfg["task"] == "multilabel" else table.y[:, j])
    else:
        oof.insert(2, spec["target"], np.asarray(table.classes, dtype=object)[table.y] if table.classes else table.y)
    oof.to_csv(run_dir / "oof.csv", index=False)
    prediction_frame(table.test_ids, result["test_pred"], cfg["task"], table.classes, spec["id"]).to_csv(
        run_dir / "test_pred.csv", index=False)
    submission = make_submission(cfg, table.classes, result["test_pred"], table.test_ids, table.sample)
    submission.to_csv(run_dir / "submission.csv", index=False)
    history = pd.DataFrame(result["history"])
    history.to_csv(run_dir / "history.csv", index=False)
    plot_curves(history, cfg["metric"], run_dir / "curves.png")
    if table.y.ndim == 1:  # a confusion matrix (and calibration), or oof against the target
        plot_diagnostics(cfg["task"], table.y, result["oof"], table.classes, run_dir)
    if cfg["task"] != "regression":
        per_class = per_class_report(table.y, result["oof"], table.classes, cfg["task"])
        per_class.to_csv(run_dir / "per_class.csv", index=False)
    result["metrics"].update(second_metric(cfg, table.y, result["oof"]))
    write_json(run_dir / "metrics.json", result["metrics"])


# What the log and metrics.json show beside the run's metric: another side of the same out-of-fold predictions.
SECOND = {"multiclass": ("f1", "accuracy"), "binary": ("f1", "accuracy"), "multilabel": ("auc", "logloss"),
          "regression": ("mae", "rmse")}


def second_metric(cfg, y, oof):
    """Give {"also": {name: out-of-fold score}}: macro F1 beside accuracy, mae beside rmse, and so on."""
    name = next(m for m in SECOND[cfg["task"]] if m != cfg["metric"])
    value = float(METRICS[name].score(y, oof))
    log.info(f"  also out-of-fold {name} = {value:.5f}")
    return {"also": {name: value}}


def per_class_report(y, oof, classes, task):
    """Give one row per class (or label) of the out-of-fold predictions: precision, recall, f1 and support."""
    from sklearn.metrics import precision_recall_fscore_support

    if task == "multilabel":
        truth, picked, names = y.astype(int), (oof >= 0.5).astype(int), classes
    else:
        truth, picked, names = y, predicted_codes(oof), classes
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, picked, labels=None if task == "multilabel" else list(range(len(names))), zero_division=0)
    return pd.DataFrame({"class": [str(c) for c in names], "precision": precision, "recall": recall, "f1": f1,
                         "support": support})


def prediction_frame(ids, pred, task, classes, id_name):
    """Give a frame of id and prediction columns: pred, or pred_<class> per class or label."""
    frame = pd.DataFrame({id_name: np.asarray(ids)})
    if pred.ndim == 2:
        for k, label in enumerate(classes):
            frame[f"pred_{label}"] = pred[:, k]
    else:
        frame["pred"] = pred
    return frame


def columns_are_classes(columns, classes, target):
    """True when the sample's prediction columns are the classes or labels (named like them, or <target>_<class>)."""
    names = {str(c) for c in classes} | {f"{target}_{c}" for c in classes}
    return bool(classes) and len(columns) > 1 and all(str(c) in names for c in columns)


def check_layout(cfg, table):
    """Raise DataError when the sample's prediction columns cannot hold what this task and metric predict.

    Called before any training too, so a sample that does not fit never costs a trained run.
    """
    spec, task = cfg["data"], cfg["task"]
    columns = [c for c in table.sample.columns if c != spec["id"]]
    target = spec["target"] if isinstance(spec["target"], str) else ""
    if columns_are_classes(columns, table.classes, target):
        return
    if task == "multilabel" or len(columns) != 1:
        raise DataError(f"{spec['sample_submission']}: cannot fill columns {', '.join(map(str, columns))}. Fix: give a "
                        "sample submission with the id and one column per "
                        f"{'label' if task == 'multilabel' else 'class'} ({', '.join(map(str, table.classes))})"
                        f"{'' if task == 'multilabel' else ', or one prediction column'}.")
    if task == "multiclass" and not METRICS[cfg["metric"]].needs_labels:
        raise DataError(f"{spec['sample_submission']} has one prediction column ({columns[0]}) but metric "
                        f"{cfg['metric']} needs one probability column per class "
                        f"({', '.join(map(str, table.classes))}). Fix: choose a label metric such as accuracy or f1.")


def make_submission(cfg, classes, test_pred, test_ids, sample):
    """Give the submission: the sample with its prediction columns filled in, in the sample's order, checked.

    One column per class or label gets probabilities; a single column gets labels for label metrics,
    else P(positive) or values.
    """
    spec, task = cfg["data"], cfg["task"]
    id_name, target = spec["id"], spec["target"] if isinstance(spec["target"], str) else ""
    columns = [c for c in sample.columns if c != id_name]
    order = pd.Index(pd.Series(test_ids).astype(str)).get_indexer(sample[id_name].astype(str))
    if (order < 0).any():
        raise DataError(f"{spec['sample_submission']}: {int((order < 0).sum())} ids are not in the test file. "
                        "Fix: use the competition's own files, and check data.id.")
    pred, sub = test_pred[order], sample.copy()
    if columns_are_classes(columns, classes, target):
        probs = pred if pred.ndim == 2 else np.column_stack([1 - pred, pred])
        index = {str(c): k for k, c in enumerate(classes)} | {f"{target}_{c}": k for k, c in enumerate(classes)}
        for c in columns:
            sub[c] = probs[:, index[str(c)]]
    elif task == "regression":
        sub[columns[0]] = np.clip(pred, 0, None) if cfg["metric"] == "rmsle" else pred
    elif METRICS[cfg["metric"]].needs_labels:
        sub[columns[0]] = np.asarray(classes, dtype=object)[predicted_codes(pred)]
        log.info(f"submission: predicted labels of {target} in {columns[0]}")
    else:
        sub[columns[0]] = pred
    check_submission(sub, sample, id_name)
    return sub


def check_submission(sub, sample, id_name):
    """Raise DataError unless `sub` has the sample's ids in order, its columns, and no missing values."""
    if list(sub.columns) != list(sample.columns) or not sub[id_name].equals(sample[id_name]):
        raise DataError("the submission's columns or ids differ from sample_submission's. "
                        "Fix: make_submission in deep/outputs.py must keep the sample's columns and ids in order.")
    bad = [str(c) for c in sub.columns if sub[c].isna().any()]
    if bad:
        raise DataError(f"submission has missing values in {', '.join(bad)}. "
                        "Fix: check the predictions in test_pred.csv.")
