"""The toy competition's gateway: sends the test rows to predict() in shuffled batches of varying sizes (one of a
single row), each with the sample submission's rows for it, under a start-up deadline for the first answer and a
per-batch deadline after; checks every answer's rows, ids and columns; writes submission.csv in the current folder.

Settings, from the environment (the tests set them): TOY_GATEWAY_STARTUP_SECONDS (900, Kaggle's 15 minutes),
TOY_GATEWAY_BATCH_SECONDS (300), TOY_GATEWAY_SEED (the batches' order and sizes; default: the clock, as Kaggle's),
TOY_GATEWAY_FRAMES (pandas; arrow: each batch as a pyarrow Table, a frame that is not pandas, as polars' are).
It writes gateway_batches.json beside the submission: each batch's size and seconds, for the tests to read.
"""
import json
import os
import random
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

from kaggle_evaluation.relay import GatewayError

COMPETITION_DIR = Path(__file__).resolve().parents[1]  # the package ships inside the competition's files


class ToyGateway:
    def __init__(self, data_paths=None):
        self.test_path, self.sample_path = data_paths or (COMPETITION_DIR / "test.csv",
                                                          COMPETITION_DIR / "sample_submission.csv")
        self.startup_seconds = float(os.environ.get("TOY_GATEWAY_STARTUP_SECONDS", 900))
        self.batch_seconds = float(os.environ.get("TOY_GATEWAY_BATCH_SECONDS", 300))
        self.seed = int(os.environ.get("TOY_GATEWAY_SEED", time.time_ns() % 2**32))
        self.frames = os.environ.get("TOY_GATEWAY_FRAMES", "pandas")

    def batches(self):
        """Yield (test rows, sample rows) in a shuffled order, in batches of 1 to 16 rows, the second of one row."""
        test, sample = pd.read_csv(self.test_path), pd.read_csv(self.sample_path)
        row_id = sample.columns[0]
        if test.columns[0] != row_id or not test[row_id].equals(sample[row_id]):
            raise GatewayError(f"{self.test_path} and {self.sample_path} hold different ids")
        rng = random.Random(self.seed)
        order = list(range(len(test)))
        rng.shuffle(order)
        start, number = 0, 0
        while start < len(order):
            size = 1 if number == 1 else rng.randint(2, 16)
            rows = order[start:start + size]
            yield test.iloc[rows].reset_index(drop=True), sample.iloc[rows].reset_index(drop=True)
            start, number = start + size, number + 1

    def run(self, client):
        """Send every batch, check each answer, write submission.csv and gateway_batches.json."""
        started, answers, log = time.monotonic(), [], []
        for test_rows, sample_rows in self.batches():
            # The first answer includes loading the models: it has the start-up limit, counted from the start.
            deadline = (self.startup_seconds - (time.monotonic() - started) if not answers else self.batch_seconds)
            sent = time.monotonic()
            sent_rows = test_rows if self.frames == "pandas" else pa.Table.from_pandas(test_rows, preserve_index=False)
            answer = client.send("predict", sent_rows, sample_rows, deadline=max(deadline, 0.001))
            log.append({"rows": len(test_rows), "seconds": round(time.monotonic() - sent, 4)})
            answers.append(self.validate(answer, sample_rows, len(answers)))
        pd.concat(answers, ignore_index=True).to_csv("submission.csv", index=False)
        Path("gateway_batches.json").write_text(json.dumps(log), encoding="utf-8")

    @staticmethod
    def validate(answer, sample_rows, number):
        """Give the answer as a pandas DataFrame, refusing wrong rows, ids, columns or missing values."""
        if answer is None:
            raise GatewayError(f"batch {number}: no predictions received")
        answer = answer.to_pandas() if hasattr(answer, "to_pandas") else pd.DataFrame(answer)
        if len(answer) != len(sample_rows):
            raise GatewayError(f"batch {number}: expected {len(sample_rows)} rows but received {len(answer)}")
        if list(answer.columns) != list(sample_rows.columns):
            raise GatewayError(f"batch {number}: columns {list(answer.columns)}, expected {list(sample_rows.columns)}")
        row_id = sample_rows.columns[0]
        if answer[row_id].tolist() != sample_rows[row_id].tolist():
            raise GatewayError(f"batch {number}: invalid values for {row_id}: not the batch's ids in its order")
        if answer.isna().any().any():
            raise GatewayError(f"batch {number}: missing values in the predictions")
        return answer.reset_index(drop=True)
