"""The baseline of bench_tune.py: an Optuna study of a LightGBM 5-fold CV, as a Kaggler writes it by hand.

    python benchmarks/handwritten_tune.py <data folder> --trials trials.json --rounds 100 [--prune]

Reads train.csv (id, features, target), then study.optimize over the trials in trials.json (each
enqueued, so both sides of the benchmark train the same values): a LightGBM Dataset and model per fold,
AUC reported after each fold, WilcoxonPruner and TPE, in memory. Writes nothing.
"""
import argparse
import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

N_SPLITS, SEED = 5, 42


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--trials", type=Path, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--prune", action="store_true")
    args = parser.parse_args()
    trials = json.loads(args.trials.read_text())

    train = pd.read_csv(args.data / "train.csv")
    features = [c for c in train.columns if c not in ("id", "target")]
    X, y = train[features], train["target"].to_numpy()
    folds = list(KFold(N_SPLITS, shuffle=True, random_state=SEED).split(X))

    def objective(trial):
        params = {"objective": "binary", "metric": "auc", "verbosity": -1, "min_child_samples": 5, "max_depth": -1,
                  "seed": SEED, "feature_pre_filter": False,
                  "num_leaves": trial.suggest_int("num_leaves", 8, 256, log=True),
                  "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                  "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
                  "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10, log=True)}
        scores = []
        for k, (train_idx, valid_idx) in enumerate(folds):
            dtrain = lgb.Dataset(X.iloc[train_idx], y[train_idx])
            dvalid = lgb.Dataset(X.iloc[valid_idx], y[valid_idx], reference=dtrain)
            model = lgb.train(params, dtrain, num_boost_round=args.rounds, valid_sets=[dvalid])
            scores.append(roc_auc_score(y[valid_idx], model.predict(X.iloc[valid_idx])))
            trial.report(scores[-1], k)
            if args.prune and trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.WilcoxonPruner() if args.prune else optuna.pruners.NopPruner()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=SEED), pruner=pruner)
    for values in trials:
        study.enqueue_trial(values)
    study.optimize(objective, n_trials=len(trials))
    states = [t.state.name for t in study.trials]
    print(f"best auc {study.best_value:.5f}; {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned")


if __name__ == "__main__":
    main()
