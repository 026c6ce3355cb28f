"""Progress inside a long fold: a line every PROGRESS_SECONDS with the round, the valid score and the time left.

Each boosting family hands its library a callback made here (LightGBM's callbacks, XGBoost's
TrainingCallback, CatBoost's callbacks). A fold shorter than PROGRESS_SECONDS prints nothing, so
small data stays quiet; KAGGLE_EXP_PROGRESS_SECONDS changes the interval (0: every round).
"""
import os
import time

from runner.util import log

PROGRESS_ENV = "KAGGLE_EXP_PROGRESS_SECONDS"
PROGRESS_SECONDS = 30.0


class Progress:
    """Says where a fold's training is, at most once per interval."""

    def __init__(self, total_rounds):
        self.total = total_rounds
        self.every = float(os.environ.get(PROGRESS_ENV) or PROGRESS_SECONDS)
        self.start = time.perf_counter()
        self.next = self.start + self.every

    def update(self, rounds_done, score=None):
        """Log a line when the interval has passed; `score` is (metric name, valid value) or None."""
        now = time.perf_counter()
        if now < self.next:
            return
        self.next = now + self.every
        elapsed = now - self.start
        left = elapsed / max(rounds_done, 1) * max(self.total - rounds_done, 0)
        shown = f" valid {score[0]}={score[1]:.5f}" if score else ""
        log.info(f"    round {rounds_done}/{self.total}{shown} ({elapsed:.0f}s; at most ~{left:.0f}s left, "
                 "less if early stopping ends it)")


def lightgbm_callback(total_rounds):
    """Give a LightGBM callback that reports progress."""
    progress = Progress(total_rounds)

    def report(env):
        results = env.evaluation_result_list or []
        progress.update(env.iteration - env.begin_iteration + 1, (results[0][1], results[0][2]) if results else None)

    report.order = 40  # after early stopping's bookkeeping (order 30)
    return report


def xgboost_callback(total_rounds):
    """Give an XGBoost TrainingCallback that reports progress."""
    import xgboost as xgb

    class Report(xgb.callback.TrainingCallback):
        def __init__(self):
            super().__init__()
            self.progress = Progress(total_rounds)

        def after_iteration(self, model, epoch, evals_log):
            last = next(((name, values[-1]) for data in evals_log.values() for name, values in data.items()), None)
            self.progress.update(epoch + 1, (last[0], float(last[1] if not isinstance(last[1], tuple) else last[1][0]))
                                 if last else None)
            return False  # go on training

    return Report()


def catboost_callback(total_rounds):
    """Give a CatBoost callback object that reports progress."""
    class Report:
        def __init__(self):
            self.progress = Progress(total_rounds)

        def after_iteration(self, info):
            valid = (getattr(info, "metrics", None) or {}).get("validation") or {}
            name = next(iter(valid), None)
            self.progress.update(info.iteration, (name, float(valid[name][-1])) if name else None)
            return True  # go on training

    return Report()
