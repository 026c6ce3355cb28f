"""Predict from a finished run's fold checkpoints a batch of test rows at a time, as a code competition's evaluation
gateway sends them (the notebook `kaggle_cli.py notebook --server` builds serves it).

`load_predictor(run_dir, columns, files)` loads every fold's weights once and gives `predict_rows(frame)`, which
predicts a frame of test rows naming files under `files` and gives their submission rows, in the frame's order,
with predict.py's arithmetic (each fold's predictions over the same TTA views, summed fold by fold).
Kinds whose data.py has read_test_rows serve (image); the others cannot yet.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import data as data_io
import model as model_io
import network
import train
from deep.outputs import make_submission
from runner import util
from runner.config import parse_yaml


def load_predictor(run_dir, columns=None, files=None, device="auto"):
    """Give predict_rows(frame): the submission rows of a frame of test rows naming files under `files` (the
    competition's folder), ids in the frame's order, in `columns` (None: those of the run's submission.csv)."""
    if not hasattr(data_io, "read_test_rows"):
        raise util.DataError(f"the {data_io.UNIT} of this kind cannot be predicted a batch at a time yet "
                             "(its data.py has no read_test_rows). Fix: use the notebook without --server.")
    run_dir = Path(run_dir)
    cfg = parse_yaml((run_dir / "config.yml").read_text(encoding="utf-8"), str(run_dir / "config.yml"))
    labels, id_name, task = util.read_json(run_dir / "labels.json"), cfg["data"]["id"], cfg["task"]
    if columns is None:
        columns = list(pd.read_csv(run_dir / "submission.csv", nrows=0).columns)
    device = model_io.pick_device(device)
    # The architecture only: every fold's weights come from its checkpoint, so no pretrained weights are read.
    net = network.create_model({**cfg, "model": {**cfg["model"], "pretrained": None}},
                                model_io.n_outputs(task, labels["classes"]))
    folds = [torch.load(path, map_location=device, weights_only=True)["model"]
             for path in (run_dir / "models" / f"fold{k}.pt" for k in range(cfg["cv"]["n_splits"]))]

    def predict_rows(frame):
        """Give the submission rows of `frame` (a pandas DataFrame of test rows), in its row order."""
        ids, dataset = data_io.read_test_rows(cfg, frame.reset_index(drop=True), files, "the batch", cache=False)
        test_pred = 0
        for state in folds:  # the fold means in the order and arithmetic of predict.py
            net.load_state_dict(state)
            net.to(device)
            test_pred = test_pred + train.infer(cfg, net, dataset, device, labels["target_stats"],
                                                data_io.tta_views(cfg))[0] / len(folds)
        rows = pd.DataFrame({c: ids.array if c == id_name else 0 for c in columns})
        return make_submission(cfg, labels["classes"], np.asarray(test_pred), ids, rows)

    return predict_rows
