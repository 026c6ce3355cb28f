"""The baseline: a LightGBM 5-fold CV loop as a Kaggler writes it by hand, in one file.

    python benchmarks/handwritten_cv.py <data folder> <output folder> --params '<JSON>' --rounds 50 [--bin-once]

Reads train.csv, test.csv and sample_submission.csv (id, features, target), trains one
model per fold, predicts out-of-fold and test, and writes submission.csv. The usual loop
builds a LightGBM Dataset per fold; --bin-once builds one for all rows and gives each fold
a subset of it, as exp001 does.
"""
import argparse
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

N_SPLITS, SEED = 5, 42


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--params", type=json.loads, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--bin-once", action="store_true")
    args = parser.parse_args()
    params = args.params
    args.out.mkdir(parents=True, exist_ok=True)
    clock = [time.perf_counter()]  # phase times, printed at the end for the benchmark's breakdown

    # Load data
    train = pd.read_csv(args.data / "train.csv")
    test = pd.read_csv(args.data / "test.csv")
    sample = pd.read_csv(args.data / "sample_submission.csv")
    features = [c for c in train.columns if c not in ("id", "target")]
    X, y, X_test = train[features], train["target"].to_numpy(), test[features]
    clock.append(time.perf_counter())

    # Cross-validate
    full = lgb.Dataset(X, y, params=params).construct() if args.bin_once else None
    oof, test_pred = np.zeros(len(X)), np.zeros(len(X_test))
    for k, (train_idx, valid_idx) in enumerate(KFold(N_SPLITS, shuffle=True, random_state=SEED).split(X)):
        start = time.perf_counter()
        if args.bin_once:
            dtrain, dvalid = full.subset(train_idx), full.subset(valid_idx)
        else:
            dtrain = lgb.Dataset(X.iloc[train_idx], y[train_idx])
            dvalid = lgb.Dataset(X.iloc[valid_idx], y[valid_idx], reference=dtrain)
        model = lgb.train(params, dtrain, num_boost_round=args.rounds, valid_sets=[dvalid])
        # predict on the model's threads, as exp001 does: Booster.predict would take every core
        threads = params.get("num_threads", 0)
        oof[valid_idx] = model.predict(X.iloc[valid_idx], num_threads=threads)
        test_pred += model.predict(X_test, num_threads=threads) / N_SPLITS
        print(f"fold {k}: auc {roc_auc_score(y[valid_idx], oof[valid_idx]):.5f} ({time.perf_counter() - start:.1f}s)",
              flush=True)
    print(f"CV auc {roc_auc_score(y, oof):.5f}")
    clock.append(time.perf_counter())

    # Write the submission
    sample["target"] = test_pred
    sample.to_csv(args.out / "submission.csv", index=False)
    clock.append(time.perf_counter())
    names = ["read CSVs", "CV loop (5 x train + predict)", "write submission"]
    print(json.dumps({name: round(b - a, 3) for name, a, b in zip(names, clock, clock[1:])}))


if __name__ == "__main__":
    main()
