"""Reading a text competition: the tables, each row's text as tokens of model.name's tokenizer, and batches padded
to their longest text, for the same lab as the image and audio kinds (train.py, model.py, deep/).

data.text is one column, or a list of columns (a prompt and a response, a title and a body): two are given to the
tokenizer as a pair, more are joined with its separator token. Each text is cut to model.max_length tokens. With
dataset.cache, every text is tokenized once per process and shared by every fold and by every run with the same
tokenizer and max_length (a run that changes only the learning rate tokenizes nothing).
"""
from types import SimpleNamespace

import numpy as np
import torch

from deep.table import DATA_DIR_ENV, data_dir, encode_target, read_csv, read_tables, require_columns, standardizing  # noqa: F401 (predict.py)
from inputs import check_rows
from network import load_tokenizer
from runner.util import DataError, rel

UNIT = "texts"  # what the log counts per second
_CACHE = {}  # (tokenizer folder, max_length, texts) -> token ids: tokenized once per process


# ---------------------------------------------------------------- the tables

def load_table(cfg, n_rows=None):
    """Give train and test ids, the target (class codes, 0/1 columns or values), classes and every row's texts."""
    spec, task = cfg["data"], cfg["task"]
    folder, columns = data_dir(cfg), text_columns(cfg)
    train, test, sample = read_tables(cfg, n_rows, columns, columns)
    targets = spec["target"] if isinstance(spec["target"], list) else [spec["target"]]
    group = cfg["cv"]["group"]
    y, classes = encode_target(train, targets, task, folder / spec["train"])
    return SimpleNamespace(
        ids=train[spec["id"]].reset_index(drop=True), test_ids=test[spec["id"]].reset_index(drop=True),
        y=y, classes=classes, sample=sample,
        paths=texts_of(train, columns, folder / spec["train"]),
        test_paths=texts_of(test, columns, folder / spec["test"]),
        target_stats=standardizing(y) if task == "regression" else None,
        groups=train[group].to_numpy() if group else None,
    )


def text_columns(cfg):
    text = cfg["data"]["text"]
    return [text] if isinstance(text, str) else list(text)


def texts_of(frame, columns, path):
    """Give each row's texts as a tuple (one per data.text column); an empty cell is an empty text, never 'nan'."""
    cells = frame[columns].astype(object).where(frame[columns].notna(), "")
    texts = [tuple(str(value) for value in row) for row in cells.itertuples(index=False)]
    if texts and not any("".join(row).strip() for row in texts):
        raise DataError(f"{rel(path)}: every row's {', '.join(columns)} is empty. Fix: set data.text to the column "
                        "(or columns) that hold the text.")
    return texts


# ---------------------------------------------------------------- the tokens

def tokenize(cfg, texts):
    """Give each row's token ids (a list of lists), cut to model.max_length; cached for the process (dataset.cache)."""
    spec = cfg["model"]
    tokenizer = load_tokenizer(cfg)
    key = (tokenizer.name_or_path, spec["max_length"], tuple(texts))
    if key in _CACHE:
        return _CACHE[key]
    if len(texts[0] if texts else ()) == 2:  # a pair (prompt and response): the tokenizer marks where each starts
        first, second = zip(*texts)
        encoded = tokenizer(list(first), list(second), truncation=True, max_length=spec["max_length"])
    else:
        separator = f" {tokenizer.sep_token or tokenizer.eos_token or ''} "
        encoded = tokenizer([separator.join(row) for row in texts], truncation=True, max_length=spec["max_length"])
    ids = encoded["input_ids"]
    if cfg["dataset"]["cache"]:
        _CACHE[key] = ids
    return ids


class TextDataset(torch.utils.data.Dataset):
    """Give (token ids, target) pairs; `collate` pads a batch to its longest text, `lengths` order inference."""

    def __init__(self, tokens, pad_id, targets=None, augment=None):
        self.tokens, self.pad_id, self.targets, self.augment = tokens, pad_id, targets, augment
        self.lengths = np.array([len(t) for t in tokens])

    def __len__(self):
        return len(self.tokens)

    def __getitem__(self, i):
        ids = torch.tensor(self.tokens[i], dtype=torch.long)
        if self.augment is not None:
            ids = self.augment(ids)
        return ids, torch.as_tensor(self.targets[i] if self.targets is not None else 0)

    def collate(self, batch):
        """Give ({input_ids, attention_mask} padded on the right to the batch's longest text, targets)."""
        ids, targets = zip(*batch)
        width = max(len(t) for t in ids)
        input_ids = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, t in enumerate(ids):
            input_ids[row, :len(t)], mask[row, :len(t)] = t, 1
        return {"input_ids": input_ids, "attention_mask": mask}, torch.stack(targets)


# ---------------------------------------------------------------- what the shared lab (train.py) asks of the inputs

def load_inputs(cfg, texts, table):
    """Give every row's token ids; raise DataError when the tokenizer cannot be read."""
    return tokenize(cfg, texts)


def describe_inputs(cfg, table):
    columns = " + ".join(text_columns(cfg))
    return (f"train {len(table.paths):,} texts, test {len(table.test_paths):,} ({columns}, up to "
            f"{cfg['model']['max_length']} tokens, pooling {cfg['model']['pooling']}"
            f"{', LoRA r=' + str(cfg['model']['lora']['r']) if cfg['model']['lora'] else ''})")


def input_record(cfg):
    """Give what metrics.json says of the inputs a run trained on."""
    spec = cfg["model"]
    return {"text": {"max_length": spec["max_length"], "pooling": spec["pooling"], "lora": bool(spec["lora"])}}


def make_dataset(cfg, texts, tokens, targets=None, rows=None, augment=None, train=False):
    """Give the Dataset of `rows` (all when None)."""
    if rows is not None:
        tokens, targets = [tokens[i] for i in rows], targets[rows]
    tokenizer = load_tokenizer(cfg)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id or 0
    return TextDataset(tokens, pad_id, targets, augment if train else None)


def to_input(batch, cfg, device):
    """Give a batch's token ids and attention mask on the device."""
    return {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}


def tta_views(cfg):
    return []  # no views of a text to average over


def tta_view(x, name):
    raise ValueError(f"no TTA view {name!r} for text")


def read_test(cfg, test, files=None):
    """Give (ids, dataset) of another test table with data.id and data.text's columns."""
    frame = read_csv(test, cfg["data"]["id"])
    require_columns(frame, [cfg["data"]["id"], *text_columns(cfg)], test)
    check_rows(frame, cfg["data"]["id"], test)
    texts = texts_of(frame, text_columns(cfg), test)
    return frame[cfg["data"]["id"]].reset_index(drop=True), make_dataset(cfg, texts, tokenize(cfg, texts))


def speed(dataset, seconds):
    """Give how fast predicting went, for predict.py's log."""
    return f"{len(dataset) / max(seconds, 1e-9):,.0f} texts/s, {int(dataset.lengths.sum()):,} tokens"
