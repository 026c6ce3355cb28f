"""The baselines for bench_families.py and bench_bin_once.py: each library's own 5-fold loop, written by hand.

    python benchmarks/handwritten_gbdt.py <data folder> <output folder> --family lightgbm|xgboost|catboost
        --rounds 50 --threads 1 [--learning-rates 0.05,0.1,0.2,0.3] [--no-valid]

Reads train.csv, test.csv, sample_submission.csv (id, features, target), trains one model per
fold for each learning rate (one set of folds per rate, as runs would), predicts out-of-fold and
test, and writes submission.csv. The valid rows are given to the library, as hand-written loops
do, unless --no-valid. Each library is used the way its documentation shows:
- lightgbm: one Dataset of all rows, binned once, a subset per fold (bins shared by every rate);
- xgboost: a QuantileDMatrix per fold, the valid one on the train one's bins (ref=);
- catboost: CatBoostClassifier.fit on the fold's rows with the valid rows as eval_set.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

N_SPLITS, SEED = 5, 42


def lightgbm_folds(X, y, X_test, folds, rate, args, cache):
    import lightgbm as lgb

    if "full" not in cache:  # bin once for every learning rate
        cache["full"] = lgb.Dataset(X, y,
                                    params={"verbosity": -1, "feature_pre_filter": False,
                                            "num_threads": args.threads}).construct()
    full = cache["full"]
    params = {"objective": "binary", "metric": "auc", "learning_rate": rate, "num_leaves": 15, "min_child_samples": 5,
              "seed": SEED, "verbosity": -1, "num_threads": args.threads}
    for train_idx, valid_idx in folds:
        valid = {} if args.no_valid else {"valid_sets": [full.subset(valid_idx)]}
        model = lgb.train(params, full.subset(train_idx), num_boost_round=args.rounds, **valid)
        # predict on the threads asked for, as exp001 does: Booster.predict would take every core
        yield (valid_idx, model.predict(X[valid_idx], num_threads=args.threads),
               model.predict(X_test, num_threads=args.threads))


def xgboost_folds(X, y, X_test, folds, rate, args, cache):
    import xgboost as xgb

    params = {"objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist", "learning_rate": rate,
              "max_depth": 6, "seed": SEED, "nthread": args.threads}
    dtest = xgb.DMatrix(X_test, nthread=args.threads)
    for train_idx, valid_idx in folds:
        dtrain = xgb.QuantileDMatrix(X[train_idx], y[train_idx], nthread=args.threads)
        dvalid = xgb.QuantileDMatrix(X[valid_idx], y[valid_idx], ref=dtrain, nthread=args.threads)
        evals = [] if args.no_valid else [(dvalid, "valid")]
        model = xgb.train(params, dtrain, num_boost_round=args.rounds, evals=evals, verbose_eval=False)
        yield valid_idx, model.predict(dvalid), model.predict(dtest)


def catboost_folds(X, y, X_test, folds, rate, args, cache):
    import catboost

    for train_idx, valid_idx in folds:
        model = catboost.CatBoostClassifier(iterations=args.rounds, learning_rate=rate, depth=6, eval_metric="AUC",
                                            random_seed=SEED, thread_count=args.threads, verbose=0,
                                            allow_writing_files=False)
        model.fit(X[train_idx], y[train_idx], eval_set=None if args.no_valid else (X[valid_idx], y[valid_idx]))
        yield valid_idx, model.predict_proba(X[valid_idx])[:, 1], model.predict_proba(X_test)[:, 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--family", choices=["lightgbm", "xgboost", "catboost"], required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--learning-rates", default="0.05")
    parser.add_argument("--no-valid", action="store_true",
                        help="train without the valid rows (as exp001 does when early stopping is off): "
                        "nothing reads their metric")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clock = [time.perf_counter()]

    # Load data
    train = pd.read_csv(args.data / "train.csv")
    test = pd.read_csv(args.data / "test.csv")
    sample = pd.read_csv(args.data / "sample_submission.csv")
    features = [c for c in train.columns if c not in ("id", "target")]
    X, y = train[features].to_numpy(np.float32), train["target"].to_numpy()
    X_test = test[features].to_numpy(np.float32)
    del train, test
    clock.append(time.perf_counter())

    # Cross-validate, once per learning rate
    folds = list(KFold(N_SPLITS, shuffle=True, random_state=SEED).split(X))
    fold_loop = {"lightgbm": lightgbm_folds, "xgboost": xgboost_folds, "catboost": catboost_folds}[args.family]
    cache = {}
    for rate in map(float, args.learning_rates.split(",")):
        oof, test_pred = np.zeros(len(X)), np.zeros(len(X_test))
        for valid_idx, valid_pred, fold_test_pred in fold_loop(X, y, X_test, folds, rate, args, cache):
            oof[valid_idx] = valid_pred
            test_pred += fold_test_pred / N_SPLITS
        print(f"CV auc {roc_auc_score(y, oof):.5f} (learning_rate {rate})", flush=True)
        sample["target"] = test_pred
        sample.to_csv(args.out / "submission.csv", index=False)
    clock.append(time.perf_counter())
    names = ["read CSVs", "CV loops and submissions"]
    print(json.dumps({name: round(b - a, 3) for name, a, b in zip(names, clock, clock[1:])}))


if __name__ == "__main__":
    main()
