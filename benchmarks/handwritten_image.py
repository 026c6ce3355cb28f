"""The baseline: a 5-fold image training loop as a Kaggler writes it by hand, in one file (PyTorch + timm).

    python benchmarks/handwritten_image.py <data folder> <output folder> --size 64 --batch-size 32 --epochs 2 \
        --model test_resnet --num-workers 0

Reads train.csv (id,label), test.csv, sample_submission.csv and train_images/<id>.jpg, test_images/<id>.jpg; decodes
and resizes each image in the Dataset every time it is read (no cache); per fold trains with AdamW and a cosine
schedule with one warmup epoch, scores the valid images after every epoch, keeps the best weights (saved with
torch.save), predicts the test images with them; writes submission.csv and timing.json.
"""
import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import timm
import torch
from PIL import Image
from sklearn.model_selection import StratifiedKFold

MEAN, STD = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class Images(torch.utils.data.Dataset):
    def __init__(self, paths, labels, size):
        self.paths, self.labels, self.size = paths, labels, size

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        image = Image.open(self.paths[i]).convert("RGB").resize((self.size, self.size), Image.BILINEAR)
        return torch.from_numpy(np.array(image)).permute(2, 0, 1), int(self.labels[i])


def predict(net, loader):
    net.eval()
    out = []
    with torch.no_grad():
        for x, _ in loader:
            out.append(torch.softmax(net((x.float() / 255 - MEAN) / STD), 1))
    return torch.cat(out).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--num-workers", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(42)
    train = pd.read_csv(args.data / "train.csv", dtype={"id": str})
    test = pd.read_csv(args.data / "test.csv", dtype={"id": str})
    classes = sorted(train["label"].unique())
    y = train["label"].map({c: k for k, c in enumerate(classes)}).to_numpy()
    paths = [args.data / "train_images" / f"{i}.jpg" for i in train["id"]]
    test_set = Images([args.data / "test_images" / f"{i}.jpg" for i in test["id"]], np.zeros(len(test)), args.size)

    def loader(ds, shuffle):
        return torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=shuffle,
                                           num_workers=args.num_workers)

    test_pred, trained = np.zeros((len(test), len(classes))), 0
    args.out.mkdir(parents=True, exist_ok=True)
    for k, (tr, va) in enumerate(StratifiedKFold(5, shuffle=True, random_state=42).split(paths, y)):
        net = timm.create_model(args.model, pretrained=False, num_classes=len(classes))
        train_loader = loader(Images([paths[i] for i in tr], y[tr], args.size), True)
        valid_loader = loader(Images([paths[i] for i in va], y[va], args.size), False)
        optimizer = torch.optim.AdamW(net.parameters(), lr=0.003, weight_decay=0.01)
        total, warmup = args.epochs * len(train_loader), len(train_loader)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup
            else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
        best, best_state = -1, None
        for epoch in range(args.epochs):
            net.train()
            for x, target in train_loader:
                loss = torch.nn.functional.cross_entropy(net((x.float() / 255 - MEAN) / STD), target)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                trained += len(target)
            accuracy = float((predict(net, valid_loader).argmax(1) == y[va]).mean())
            print(f"fold {k} epoch {epoch} accuracy {accuracy:.4f}", flush=True)
            if accuracy > best:
                best, best_state = accuracy, copy.deepcopy(net.state_dict())
                torch.save(best_state, args.out / f"fold{k}.pt")
        net.load_state_dict(best_state)
        test_pred += predict(net, loader(test_set, False)) / 5
    submission = pd.DataFrame({"id": test["id"], "label": np.asarray(classes)[test_pred.argmax(1)]})
    submission.to_csv(args.out / "submission.csv", index=False)
    seconds = time.perf_counter() - started
    (args.out / "timing.json").write_text(json.dumps({"seconds": seconds, "trained_images": trained}))


if __name__ == "__main__":
    main()
