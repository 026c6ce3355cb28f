"""The baseline: a k-fold text training loop as a Kaggler writes it by hand, in one file (transformers, no Trainer).

    python benchmarks/handwritten_text.py <data folder> <model folder> <output folder> --max-length 64 \
        --batch-size 32 --epochs 2 --folds 3 --lr 0.002

Reads train.csv (id, text, package), test.csv; tokenizes every text once with the model folder's tokenizer; per
fold builds the model from its config.json (random weights), mean-pools the last hidden states under the attention
mask into a linear head, trains with AdamW and a cosine schedule after one warmup epoch on batches padded to their
longest text, scores the valid texts after every epoch, keeps the best weights (torch.save), predicts the test
texts with them; writes submission.csv and timing.json.
"""
import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import StratifiedKFold
from transformers import AutoConfig, AutoModel, AutoTokenizer


class Net(torch.nn.Module):
    def __init__(self, folder, n_out):
        super().__init__()
        self.backbone = AutoModel.from_config(AutoConfig.from_pretrained(folder))
        self.head = torch.nn.Linear(self.backbone.config.hidden_size, n_out)

    def forward(self, ids, mask):
        states = self.backbone(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        return self.head((states * weights).sum(1) / weights.sum(1).clamp(min=1))


def batches(tokens, labels, rows, batch_size, pad, shuffle, generator=None):
    order = rows[torch.randperm(len(rows), generator=generator).numpy()] if shuffle else rows
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(len(tokens[i]) for i in chunk)
        ids = torch.full((len(chunk), width), pad)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            ids[row, :len(tokens[i])], mask[row, :len(tokens[i])] = torch.tensor(tokens[i]), 1
        yield ids, mask, torch.as_tensor(labels[chunk])


@torch.no_grad()
def predict(net, tokens, rows, batch_size, pad):
    net.eval()
    outs = [torch.softmax(net(ids, mask), 1) for ids, mask, _ in batches(tokens, np.zeros(len(tokens), int), rows,
                                                                        batch_size, pad, False)]
    return torch.cat(outs).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.002)
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(42)
    train, test = pd.read_csv(args.data / "train.csv"), pd.read_csv(args.data / "test.csv")
    classes = sorted(train["package"].unique())
    labels = train["package"].map({c: k for k, c in enumerate(classes)}).to_numpy()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    tokens = tokenizer(train["text"].fillna("").tolist(), truncation=True, max_length=args.max_length)["input_ids"]
    test_tokens = tokenizer(test["text"].fillna("").tolist(), truncation=True, max_length=args.max_length)["input_ids"]
    pad = tokenizer.pad_token_id
    args.out.mkdir(parents=True, exist_ok=True)
    test_pred = np.zeros((len(test), len(classes)))
    folds = StratifiedKFold(args.folds, shuffle=True, random_state=42).split(np.zeros(len(labels)), labels)
    for k, (train_rows, valid_rows) in enumerate(folds):
        net = Net(args.model, len(classes))
        optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
        steps = math.ceil(len(train_rows) / args.batch_size)
        def factor(step, warmup=steps, total=steps * args.epochs):  # linear warmup for an epoch, then cosine to 0
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        generator, best, best_state = torch.Generator().manual_seed(42 + k), -1.0, None
        for _ in range(args.epochs):
            net.train()
            for ids, mask, y in batches(tokens, labels, train_rows, args.batch_size, pad, True, generator):
                loss = torch.nn.functional.cross_entropy(net(ids, mask), y)
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
            accuracy = float((predict(net, tokens, valid_rows, args.batch_size, pad).argmax(1)
                              == labels[valid_rows]).mean())
            if accuracy > best:
                best, best_state = accuracy, copy.deepcopy(net.state_dict())
                torch.save(best_state, args.out / f"fold{k}.pt")
        net.load_state_dict(best_state)
        test_pred += predict(net, test_tokens, np.arange(len(test)), args.batch_size, pad) / args.folds
    pd.DataFrame({"id": test["id"], "package": np.array(classes)[test_pred.argmax(1)]}).to_csv(
        args.out / "submission.csv", index=False)
    (args.out / "timing.json").write_text(json.dumps({"seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
