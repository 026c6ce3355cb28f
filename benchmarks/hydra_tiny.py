"""A Hydra app whose task trains exp001's LightGBM model with 5-fold CV and writes the same files by hand.

    BENCH_DATA_DIR=<folder with train.csv, test.csv, sample_submission.csv> \
    python benchmarks/hydra_tiny.py -cp <config folder> -cn config -m model.params.num_leaves=range(2,53)

The anchor for bench_tiny.py. The config is exp001's config.yml (as config.yaml). Each job does what
a Kaggler's hand-written task does: StratifiedKFold(n_splits, shuffle, seed) on the class codes, one
lgb.Dataset per fold, lgb.train with the valid set, out-of-fold and fold-averaged test predictions,
then writes metrics.json, oof.csv, test_pred.csv and submission.csv (Hydra itself writes the config,
.hydra/config.yaml). The files are read once per process, not per job, and predictions use the
model's threads: both make this anchor cheaper, so it is the strict one.
With BENCH_TIME_JSON=<path> set, the seconds spent after the imports are written there.
"""
import json
import os
import time
from pathlib import Path

import hydra
import lightgbm as lgb
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf
from sklearn.model_selection import StratifiedKFold

_DATA = {}


def read_data(spec):
    """Give (train ids, X, y codes, classes, test ids, X_test, sample), read once per process."""
    if not _DATA:
        folder = Path(os.environ["BENCH_DATA_DIR"])
        train, test = pd.read_csv(folder / spec.train), pd.read_csv(folder / spec.test)
        sample = pd.read_csv(folder / spec.sample_submission)
        features = [c for c in train.columns if c not in (spec.id, spec.target)]
        classes, y = np.unique(train[spec.target].to_numpy(), return_inverse=True)
        _DATA.update(ids=train[spec.id], X=train[features].to_numpy(np.float32), y=y, classes=classes,
                     test_ids=test[spec.id], X_test=test[features].to_numpy(np.float32), sample=sample)
    return _DATA


@hydra.main(version_base=None, config_path=None, config_name=None)
def main(cfg):
    out = Path(HydraConfig.get().runtime.output_dir)
    d = read_data(cfg.data)
    classes = d["classes"]
    params = {**OmegaConf.to_container(cfg.model.params), "objective": "multiclass", "num_class": len(classes),
              "metric": "multi_logloss", "seed": cfg.seed}
    threads = params.get("num_threads", 0)
    oof = np.zeros((len(d["y"]), len(classes)))
    test_pred = np.zeros((len(d["X_test"]), len(classes)))
    folds = np.zeros(len(d["y"]), dtype=int)
    scores = []
    splitter = StratifiedKFold(cfg.cv.n_splits, shuffle=True, random_state=cfg.cv.seed)
    for k, (train_idx, valid_idx) in enumerate(splitter.split(d["X"], d["y"])):
        dtrain = lgb.Dataset(d["X"][train_idx], d["y"][train_idx])
        dvalid = lgb.Dataset(d["X"][valid_idx], d["y"][valid_idx], reference=dtrain)
        model = lgb.train(params, dtrain, num_boost_round=cfg.model.num_boost_round, valid_sets=[dvalid])
        oof[valid_idx] = model.predict(d["X"][valid_idx], num_threads=threads)
        test_pred += model.predict(d["X_test"], num_threads=threads) / cfg.cv.n_splits
        folds[valid_idx] = k
        scores.append(float(np.mean(oof[valid_idx].argmax(axis=1) == d["y"][valid_idx])))

    metrics = {"metric": "accuracy", "cv": float(np.mean(scores)), "cv_std": float(np.std(scores)),
               "oof": float(np.mean(oof.argmax(axis=1) == d["y"])), "folds": scores}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    columns = {f"pred_{c}": oof[:, j] for j, c in enumerate(classes)}
    pd.DataFrame({cfg.data.id: d["ids"], "fold": folds, cfg.data.target: classes[d["y"]], **columns}).to_csv(
        out / "oof.csv", index=False)
    columns = {f"pred_{c}": test_pred[:, j] for j, c in enumerate(classes)}
    pd.DataFrame({cfg.data.id: d["test_ids"], **columns}).to_csv(out / "test_pred.csv", index=False)
    submission = d["sample"].copy()
    by_id = pd.Series(classes[test_pred.argmax(axis=1)], index=d["test_ids"])
    submission[cfg.data.target] = by_id.loc[submission[cfg.data.id]].to_numpy()
    submission.to_csv(out / "submission.csv", index=False)
    return metrics["cv"]


if __name__ == "__main__":
    start = time.perf_counter()
    try:
        main()
    finally:
        if os.environ.get("BENCH_TIME_JSON"):
            Path(os.environ["BENCH_TIME_JSON"]).write_text(json.dumps({"seconds": time.perf_counter() - start}))
