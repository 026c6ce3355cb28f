"""How a blend combines its runs' predictions and fills the submission: blend.py and predict_blend.py share it.

predict_blend.py must fill a new test file's submission exactly as blend.py filled the blend's own, so
both use these functions. The experiment's submission.py fills a run's submission by the same rules;
scripts never import experiment code, so this is the scripts' one copy of them.
"""
import numpy as np


def predictions(frame, columns):
    """Give P(positive) or values from one column, an array with one column per class otherwise."""
    values = frame[columns].to_numpy(dtype=float)
    return values[:, 0] if len(columns) == 1 else values


def blend(preds, weights):
    """Give the weighted sum of the runs' predictions (the weights sum to 1)."""
    return sum(w * p for w, p in zip(weights, preds))


def fill_submission(sub, pred, cfg, classes, needs_labels):
    """Give `sub` (the sample's layout, rows in the order of `pred`) with its prediction columns filled in."""
    sub = sub.copy()
    columns = list(sub.columns.drop(cfg["data"]["id"]))
    if len(columns) > 1:  # one probability column per class, named like the class or <target>_<class>
        probs = pred if pred.ndim == 2 else np.column_stack([1 - pred, pred])
        class_of = {name: k for k, c in enumerate(classes) for name in (str(c), f"{cfg['data']['target']}_{c}")}
        for c in columns:
            sub[c] = probs[:, class_of[str(c)]]
    elif needs_labels:
        codes = pred.argmax(axis=1) if pred.ndim == 2 else (pred >= 0.5).astype(int)
        sub[columns[0]] = np.asarray(classes, dtype=object)[codes]
    else:  # rmsle scored values clipped at 0, and the runs submitted them so
        sub[columns[0]] = np.clip(pred, 0, None) if cfg["metric"] == "rmsle" else pred
    return sub
