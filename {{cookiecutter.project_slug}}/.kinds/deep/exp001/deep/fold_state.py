"""A fold in training, as a stopped run needs it to go on: the epoch and batch reached, the best so far, the history.

train.py's epoch loop reads and sets these values; saving and loading them (with the model, optimizer,
schedule, scaler, EMA and every random generator) is deep/checkpoints.py's job, called from here, so the
loop itself holds no resume code.
"""
import time

from deep import checkpoints


class FoldState:
    """Fold k's progress, saved to `resume` after every epoch and every train.checkpoint_minutes inside one."""

    def __init__(self, resume, k, n_splits, checkpoint, parts, checkpoint_minutes=None):
        self.resume, self.k, self.n_splits, self.checkpoint, self.parts = resume, k, n_splits, checkpoint, parts
        self.every = checkpoint_minutes * 60 if checkpoint_minutes is not None and resume is not None else None
        self.epoch, self.step, self.rng, self.loader_start, self.last_save = 0, 0, None, None, 0.0
        self.best, self.best_epoch, self.best_pred, self.history = None, 0, None, []
        self.tally = {"loss_sum": 0.0, "seen": 0, "images": 0, "lr": 0.0}

    def load(self, loader):
        """Go on from the state a stopped process of this run saved for this fold, if any (else start at epoch 1)."""
        loop = checkpoints.load_state(self.resume, self.k, self.parts, loader, self.checkpoint, self.n_splits)
        if loop is not None:
            self.epoch, self.step, self.rng = loop["epoch"], loop["step"], loop["rng"]
            self.best, self.best_epoch, self.best_pred, self.history = (loop["best"], loop["best_epoch"],
                                                                        loop["best_pred"], loop["history"])
            self.tally.update(loss_sum=loop["loss_sum"], seen=loop["seen"])

    def epochs_to_train(self, epochs, patience):
        """Give the epochs left to train: none when a saved state's epoch had already run out of patience."""
        stopped = self.epoch and self.patience_ran_out(patience)
        return range(self.epoch + 1, (self.epoch if stopped else epochs) + 1)

    def patience_ran_out(self, patience):
        """True when train.patience epochs have passed without a better valid score."""
        return bool(patience) and self.epoch - self.best_epoch >= patience

    def batches(self, loader):
        """Give the epoch's (step, batch) pairs; resumed mid-epoch, the batches done before the stop are passed over."""
        self.loader_start = loader.generator.get_state()  # the epoch's order: a state saved mid-epoch draws it again
        if not self.step:
            self.tally.update(loss_sum=0.0, seen=0)
        self.tally.update(images=0, lr=self.parts["optimizer"].param_groups[0]["lr"])
        self.last_save = time.perf_counter()
        skip, self.step = self.step, 0
        return enumerate(checkpoints.batches(loader, skip, self.rng), start=skip)

    def saver(self, loader):
        """Give after_step(step) for train_one_epoch: saves the state mid-epoch every train.checkpoint_minutes."""
        def after_step(step):
            # at an optimizer step (no gradient pending): the batches done and the epoch's order
            if self.every is not None and step < len(loader) and time.perf_counter() - self.last_save >= self.every:
                self.save(step=step, loader_start=self.loader_start)
                self.last_save = time.perf_counter()
        return after_step

    def end_epoch(self, epoch, row, loader):
        """Add the epoch's history row and save the state, ready to go on at the next epoch."""
        self.history.append(row)
        self.epoch = epoch
        self.save(step=0, loader_start=loader.generator.get_state())

    def save(self, step, loader_start):
        loop = {"epoch": self.epoch, "step": step, "loss_sum": self.tally["loss_sum"], "seen": self.tally["seen"],
                "best": self.best, "best_epoch": self.best_epoch, "best_pred": self.best_pred,
                "history": self.history, "loader_start": loader_start}
        checkpoints.save_state(self.resume, self.k, self.parts, loop, self.checkpoint, self.n_splits)
