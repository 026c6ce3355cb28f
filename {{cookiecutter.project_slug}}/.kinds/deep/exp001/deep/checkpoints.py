"""Resume: what a stopped run needs to go on where it stopped, kept in the folder the runner hands train.run.

The runner (runner/resume.py) ties the folder to the run's config and code and keeps it over a stop
(Ctrl-C, SIGTERM, kill -9); this module fills it:

    fold<k>/             a finished fold, whole: oof.npy (its valid rows, with TTA), test.npy, fold.json (score,
                         history, seconds) and fold<k>.pt (its best checkpoint, copied into the run's models/)
    state.pt             the fold in progress: model, optimizer, scheduler, AMP scaler, every RNG state, the
                         loader's generator at the epoch's start and the batches done, the best score so far, its
                         valid predictions, the history; written after every epoch and every train.checkpoint_minutes
    best.<k>.<epoch>.pt  the best checkpoint of the fold in progress (state.pt names it)
    rows.json            a digest of the target and the folds: saved work is reused only on the same rows
    progress.json        {"unit": "fold", "done": 2, "of": 5, "epoch": 3}: what the runner's log and --list say

Each file is written under a temporary name and renamed, so a stop leaves the old one or the new one, never a part.
On the CPU with dataset.num_workers: 0, a resumed run gives the same numbers as one never stopped.
"""
import hashlib
import json
import os
import random
import shutil

import numpy as np
import torch

from runner.resume import still_ours
from runner.util import log, temporary_name, write_atomic, write_json


# ---------------------------------------------------------------- the rows

def rows_digest(y, folds):
    """Give a digest of the target and the fold assignment: saved work is reused only on the same rows."""
    digest = hashlib.blake2b(digest_size=12)
    for array in (np.ascontiguousarray(y), np.ascontiguousarray(folds)):
        digest.update(str(array.dtype).encode() + array.tobytes())
    return digest.hexdigest()


def check_rows(resume, rows):
    """Drop the saved work when the data changed since it was trained (the config and code did not)."""
    if resume is None:
        return
    path = resume / "rows.json"
    if path.is_file() and json.loads(path.read_text())["rows"] != rows:
        log.info("  the data changed since the run stopped: its saved folds and epochs are not reused")
        for old in [*resume.glob("fold*"), *resume.glob("best.*.pt"), resume / "state.pt", resume / "progress.json"]:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    write_atomic(path, json.dumps({"rows": rows}) + "\n")


def write_progress(resume, done, of, epoch):
    write_atomic(resume / "progress.json", json.dumps({"unit": "fold", "done": done, "of": of, "epoch": epoch}) + "\n")


# ---------------------------------------------------------------- finished folds

def load_fold(resume, k, models_dir):
    """Give fold k as save_fold saved it, its checkpoint copied into models_dir; None when it was not finished."""
    folder = resume / f"fold{k}" if resume is not None else None
    if folder is None or not (folder / "fold.json").is_file():
        return None
    info = json.loads((folder / "fold.json").read_text(encoding="utf-8"))
    link_or_copy(folder / f"fold{k}.pt", models_dir / f"fold{k}.pt")
    return {"oof": np.load(folder / "oof.npy"), "test": np.load(folder / "test.npy"), **info}


def save_fold(resume, k, fold, checkpoint, n_splits):
    """Save finished fold k (predictions, score, history, best checkpoint) whole; count it in progress.json."""
    if resume is None:
        return
    still_ours(resume)  # a process taken over by another writes nothing more here
    folder = resume / f"fold{k}"
    tmp = temporary_name(folder)  # this process's own name: a second process of the same run cannot half-fill it
    tmp.mkdir()
    np.save(tmp / "oof.npy", fold["oof"], allow_pickle=False)
    np.save(tmp / "test.npy", fold["test"], allow_pickle=False)
    link_or_copy(checkpoint, tmp / checkpoint.name)
    write_json(tmp / "fold.json", {key: fold[key] for key in ("score", "history", "seconds")})
    try:
        os.rename(tmp, folder)
    except OSError:  # saved already by another process of the same run: keep that one
        shutil.rmtree(tmp, ignore_errors=True)
    write_progress(resume, k + 1, n_splits, 0)
    # Only now: a stop before the rename still finds the fold's last epoch in state.pt.
    for old in [*resume.glob("best.*.pt"), resume / "state.pt"]:
        old.unlink(missing_ok=True)


def save_checkpoint(net, cfg, epoch, value, path, keep=None):
    """Write the model's weights (all, or only those named in `keep`: network.kept_weights) with what they were
    trained by, under a temporary name renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"model": kept(net.state_dict(), keep), "weights": "all" if keep is None else "trainable",
                "epoch": epoch, cfg["metric"]: value, "model_name": cfg["model"]["name"]}, tmp)
    tmp.replace(path)


def kept(weights, keep):
    return weights if keep is None else {name: weights[name] for name in keep}


def load_weights(net, checkpoint):
    """Load a checkpoint's weights into net: every one, or (weights: trainable, a LoRA run's) every trainable one
    over the frozen rest net holds already; a missing or foreign weight is an error either way."""
    if checkpoint.get("weights", "all") == "all":
        net.load_state_dict(checkpoint["model"])
        return
    unexpected = net.load_state_dict(checkpoint["model"], strict=False).unexpected_keys
    missing = [name for name, p in net.named_parameters() if p.requires_grad and name not in checkpoint["model"]]
    if unexpected or missing:
        raise RuntimeError(f"a checkpoint of trainable weights does not fit the network: missing {missing[:3]}, "
                           f"unexpected {unexpected[:3]}")


class KeptWeights:
    """The model as a resumable state holds it: with `keep`, only those weights (a LoRA run's adapters and head), so
    a stopped 7B run does not write the whole of it after every epoch."""

    def __init__(self, net, keep):
        self.net, self.keep = net, keep

    def state_dict(self):
        return kept(self.net.state_dict(), self.keep)

    def load_state_dict(self, weights):
        load_weights(self.net, {"model": weights, "weights": "all" if self.keep is None else "trainable"})


def keep_checkpoints(cfg, models_dir):
    """Keep what train.keep_checkpoints says of the fold checkpoints once the run is over, and say what and how much.

    best: each fold's best weights as trained (fp32); fp16: the same, half the size (predictions differ in the
    last digits); none: no weights (nothing to predict from: predict.py and a notebook need them).
    """
    keep, files = cfg["train"]["keep_checkpoints"], sorted(models_dir.glob("fold*.pt"))
    if keep == "none":
        for path in files:
            path.unlink()
        log.info("  checkpoints: none kept (train.keep_checkpoints: none), so predict.py cannot predict from this run")
        return
    if keep == "fp16":
        for path in files:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            saved["model"] = {k: v.half() if v.is_floating_point() else v for k, v in saved["model"].items()}
            tmp = temporary_name(path)
            torch.save(saved, tmp)
            os.replace(tmp, path)
    size = sum(path.stat().st_size for path in files) / 2**20
    log.info(f"  checkpoints: {len(files)} folds' best weights kept in models/ ({keep}, {size:,.1f} MB; "
             "train.keep_checkpoints: fp16 halves them, none keeps none)")


# ---------------------------------------------------------------- the fold in progress

def rng_state():
    """Give every generator's state that training draws from: Python, NumPy, torch (and CUDA's)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             # plain values and tensors only, so torch.load can read the file with weights_only
             "numpy": [kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng(state):
    random.setstate(state["python"])
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(resume, k, parts, loop, checkpoint, n_splits):
    """Save the fold in progress: `parts` (model, optimizer, scheduler, scaler), the RNGs and the loop's values.

    loop: epoch (epochs done), step (batches done of the next epoch), loader_start (the loader's generator
    at that epoch's start), loss_sum, seen, best, best_epoch, best_pred, history. checkpoint: the fold's
    best checkpoint file, kept beside as best.<k>.<epoch>.pt (a hard link when it can be).
    """
    if resume is None:
        return
    still_ours(resume)
    best = resume / f"best.{k}.{loop['best_epoch']}.pt" if loop["best_epoch"] else None
    if best is not None and not best.exists():
        tmp = temporary_name(best)
        link_or_copy(checkpoint, tmp)
        os.replace(tmp, best)
    state = {**loop, "fold": k, **{name: part.state_dict() for name, part in parts.items()}, "rng": rng_state(),
             "best_pred": torch.from_numpy(loop["best_pred"]) if loop["best_pred"] is not None else None,
             "best_file": best.name if best else None}
    tmp = temporary_name(resume / "state.pt")
    try:
        torch.save(state, tmp)
        os.replace(tmp, resume / "state.pt")
    finally:
        tmp.unlink(missing_ok=True)
    for old in resume.glob("best.*.pt"):  # best checkpoints the state no longer names
        if old != best:
            old.unlink(missing_ok=True)
    write_progress(resume, k, n_splits, loop["epoch"])


def load_state(resume, k, parts, loader, checkpoint, n_splits):
    """Restore the saved fold k in progress into `parts`, the RNGs and the loader; give the loop's values, or None.

    The loader's generator is set back to the epoch's start: batches(loader, step) then skips the batches done.
    """
    path = resume / "state.pt" if resume is not None else None
    if path is None or not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)  # parts move the tensors to their device
    if state["fold"] != k:  # left by a fold finished just before a stop
        return None
    for name, part in parts.items():
        part.load_state_dict(state[name])
    if state["best_file"]:
        link_or_copy(resume / state["best_file"], checkpoint)
    loader.generator.set_state(state["loader_start"])
    set_rng(state["rng"])
    loop = {key: state[key] for key in ("epoch", "step", "loss_sum", "seen", "best", "best_epoch", "history")}
    loop["best_pred"] = state["best_pred"].numpy() if state["best_pred"] is not None else None
    loop["rng"] = state["rng"]
    where = f"epoch {loop['epoch'] + 1}, batch {loop['step'] + 1}" if loop["step"] else f"epoch {loop['epoch'] + 1}"
    log.info(f"  fold {k + 1}/{n_splits}: resuming at {where} (saved before the stop)")
    return loop


def batches(loader, skip=0, rng=None):
    """Give an iterator over the loader's batches of one epoch, the first `skip` batches passed over.

    The loader's generator must be at the epoch's start (load_state), so the same order is drawn. With
    num_workers 0 only the sampler's indices are drawn for the skipped batches: no image is read or augmented.
    """
    iterator = iter(loader)
    for _ in range(skip):
        iterator._next_index() if loader.num_workers == 0 else next(iterator)
    if skip and rng is not None:
        set_rng(rng)  # as saved: passing batches over must not change what the next batch draws
    return iterator


def link_or_copy(source, target):
    """Hard-link a saved file (no second copy on disk), or copy it where links are not possible."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
