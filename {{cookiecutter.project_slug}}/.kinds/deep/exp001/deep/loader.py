"""Batches for training and inference, the same for every deep-learning kind: dataset.batch_size, workers beside a
GPU, a seeded shuffle a resumed run can set back, and dataset.sampler: balanced.

A dataset of inputs that differ in length (text) gives its own `collate` (padding each batch to its longest) and
`lengths`: inference then goes shortest first, so each batch pads little, and in_dataset_order puts it back."""
import os

import numpy as np
import torch


def worker_count(cfg):
    """dataset.num_workers; null: none on the CPU (training needs its cores), up to 4 decoding beside a GPU."""
    workers = cfg["dataset"]["num_workers"]
    if workers is None:
        workers = min(4, (os.cpu_count() or 1) - 1) if torch.cuda.is_available() else 0
    return workers


def make_loader(cfg, dataset, shuffle, seed=0):
    """Give a DataLoader over `dataset` with dataset.batch_size and num_workers; shuffled in a seeded order.

    dataset.sampler: balanced draws training examples (with replacement) so that every class comes as often.
    """
    workers, generator = worker_count(cfg), torch.Generator().manual_seed(seed)
    balanced = shuffle and cfg["dataset"]["sampler"] == "balanced"
    sampler = balanced_sampler(dataset.targets, generator) if balanced else None
    lengths = getattr(dataset, "lengths", None)
    if not shuffle and lengths is not None:
        sampler = np.argsort(lengths, kind="stable").tolist()
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=cfg["dataset"]["batch_size"], shuffle=shuffle and sampler is None, sampler=sampler,
        num_workers=workers, persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(),
        generator=generator,  # the sampler's too: a resumed run sets it back to the epoch's start
        # batch norm cannot train on a last batch of one example
        drop_last=shuffle and len(dataset) % cfg["dataset"]["batch_size"] == 1,
        collate_fn=getattr(dataset, "collate", None))
    loader.order = sampler if not shuffle else None  # the example each prediction belongs to, for in_dataset_order
    return loader


def in_dataset_order(loader, predictions):
    """Give predictions made over `loader` (inference) in the dataset's order: as they came, or put back."""
    if loader.order is None:
        return predictions
    back = torch.empty_like(predictions)
    back[torch.as_tensor(loader.order)] = predictions
    return back


def balanced_sampler(targets, generator):
    """Give a sampler that draws len(targets) examples with replacement, each class as often (class codes)."""
    codes = torch.as_tensor(np.asarray(targets)).long()
    weights = 1.0 / torch.bincount(codes).float()[codes]
    return torch.utils.data.WeightedRandomSampler(weights, len(codes), replacement=True, generator=generator)
