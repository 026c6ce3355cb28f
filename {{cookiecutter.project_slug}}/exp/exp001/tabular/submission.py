"""Predictions out: prediction frames, and the submission filled in from the sample and checked against it."""
import numpy as np
import pandas as pd

from inputs import check_sample_ids
from metrics import predicted_codes
from runner.util import DataError, log, rel
from tabular.names import listed


def prediction_frame(ids, pred, classes, id_name):
    """Give a frame of id and prediction columns: pred, or pred_<class> per class."""
    frame = pd.DataFrame({id_name: ids.array})  # the ids' own array: Arrow text stays Arrow text, uncopied
    if pred.ndim == 2:
        for k, label in enumerate(classes):
            frame[f"pred_{label}"] = pred[:, k]
    else:
        frame["pred"] = pred
    return frame


def check_sample(sample, test_ids, classes, id_name, target, sample_path, test_path):
    """Raise DataError unless every sample id is in the test file and the sample's columns can be filled."""
    check_sample_ids(sample, test_ids, id_name, sample_path, test_path)
    columns = [c for c in sample.columns if c != id_name]
    if len(columns) != 1 and not one_column_per_class(columns, classes, target):
        raise DataError(f"{rel(sample_path)}: cannot fill columns {listed(columns)}. "
                        "Fix: give a sample submission with the id and one prediction column, "
                        f"or the id and one column per class ({listed(classes) or 'no classes: task is regression'}).")


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
    check_layout(cfg, classes, columns, label_metric)
    class_of = {str(c): k for k, c in enumerate(classes)} | {f"{target}_{c}": k for k, c in enumerate(classes)}
    if one_column_per_class(columns, classes, target):
        probs = pred if pred.ndim == 2 else np.column_stack([1 - pred, pred])
        for c in columns:
            sub[c] = probs[:, class_of[str(c)]]
        log.info(f"submission: the probability of each class in {listed(columns)}")
    elif task == "regression":
        # rmsle cannot take values below -1, and CV scored them clipped at 0.
        sub[columns[0]] = np.clip(pred, 0, None) if cfg["metric"] == "rmsle" else pred
    elif label_metric:
        sub[columns[0]] = np.asarray(classes, dtype=object)[predicted_codes(pred)]
        log.info(f"submission: predicted labels of {target} in {columns[0]}")
    else:
        sub[columns[0]] = pred
        log.info(f"submission: the probability that {target} is {classes[1]!r} in {columns[0]}")
    return sub


def check_layout(cfg, classes, columns, label_metric):
    """Raise DataError when the sample's prediction columns cannot hold what this task and metric predict.

    Called before any training too, so a sample that does not fit never costs a trained run.
    """
    spec = cfg["data"]
    if one_column_per_class(columns, classes, spec["target"]):
        return
    if len(columns) != 1:
        raise DataError(f"{spec['sample_submission']}: cannot fill columns {listed(columns)}. "
                        "Fix: give a sample submission with one prediction column, "
                        f"or one column per class ({listed(classes)}).")
    if cfg["task"] == "multiclass" and not label_metric:
        raise DataError(f"{spec['sample_submission']} has one prediction column ({columns[0]}) but metric "
                        f"{cfg['metric']} needs one probability column per class ({listed(classes)}). "
                        "Fix: choose a label metric such as accuracy or f1.")


def check_submission(sub, sample, id_name):
    """Raise DataError unless `sub` has the sample's ids in order, its columns, and no missing values."""
    if list(sub.columns) != list(sample.columns):
        raise DataError(f"submission columns {list(sub.columns)} differ from sample_submission's "
                        f"{list(sample.columns)}. "
                        "Fix: make_submission in submission.py must keep the sample's columns.")
    ids = sample[id_name].reset_index(drop=True)
    if id_name not in sub.columns or not sub[id_name].reset_index(drop=True).equals(ids):
        raise DataError(f"submission ids in column {id_name!r} differ from sample_submission's. "
                        "Fix: make_submission in submission.py must keep the sample's ids in their order.")
    bad = [str(c) for c in sub.columns if sub[c].isna().any()]
    if bad:
        raise DataError(f"submission has missing values in {', '.join(bad)}. "
                        "Fix: check the predictions in test_pred.csv.")
