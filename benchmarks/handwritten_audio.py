"""The baseline: a 5-fold audio training loop as a Kaggler writes it by hand, in one file (soundfile, PyTorch, timm).

    python benchmarks/handwritten_audio.py <data folder> <output folder> --batch-size 32 --epochs 2 \
        --model test_resnet --sample-rate 16000 --duration 2 --n-mels 64

Reads train.csv (filename, primary_label) and train_audio/<filename>; in the Dataset decodes and resamples each
recording every time it is read (no cache) and cuts a random `--duration`-second stretch of it (starting on a frame);
on each batch computes the same log-mel front-end as exp001 (Hann STFT, HTK mel filters, dB with an 80 dB floor,
each clip standardized) in torch; per fold trains with AdamW and a cosine schedule with one warmup epoch, scores
the valid clips (their start) by macro ROC-AUC after every epoch, keeps the best weights (torch.save) and predicts
every 5-second window of test_soundscapes/*.ogg with them; writes submission.csv and timing.json.
"""
import argparse
import copy
import json
import math
import time
from math import gcd
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import timm
import torch
from scipy.signal import resample_poly
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

N_FFT, HOP, FMIN = 1024, 256, 50.0


def decode(path, rate, start=0.0, seconds=None):
    with soundfile.SoundFile(str(path)) as f:
        native = f.samplerate
        f.seek(min(int(start * native), f.frames))
        wave = f.read(-1 if seconds is None else int(seconds * native), dtype="float32", always_2d=True).mean(1)
    if native != rate:
        common = gcd(native, rate)
        wave = resample_poly(wave, rate // common, native // common).astype(np.float32)
    return wave


class Clips(torch.utils.data.Dataset):
    """(path, start second) pairs, each decoded when read; random=True cuts a random stretch of the whole file."""

    def __init__(self, items, labels, rate, seconds, random):
        self.items, self.labels, self.rate, self.n, self.random = items, labels, rate, int(seconds * rate), random

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, start = self.items[i]
        wave = torch.from_numpy(decode(path, self.rate, start, None if self.random else self.n / self.rate))
        spare = len(wave) // HOP - self.n // HOP
        first = int(torch.randint(spare + 1, ())) * HOP if self.random and spare > 0 else 0
        wave = wave[first:first + self.n]
        return torch.nn.functional.pad(wave, (0, self.n - len(wave))), int(self.labels[i])


def mel_filters(rate, n_mels):
    mel = np.linspace(2595 * np.log10(1 + FMIN / 700), 2595 * np.log10(1 + rate / 2 / 700), n_mels + 2)
    hz, bins = 700 * (10 ** (mel / 2595) - 1), np.linspace(0, rate / 2, N_FFT // 2 + 1)
    up = (bins[None] - hz[:-2, None]) / (hz[1:-1, None] - hz[:-2, None])
    down = (hz[2:, None] - bins[None]) / (hz[2:, None] - hz[1:-1, None])
    return torch.from_numpy(np.clip(np.minimum(up, down), 0, None).astype(np.float32))


def front_end(waves, filters, window):
    spec = torch.stft(waves, N_FFT, HOP, window=window, center=True, pad_mode="constant", return_complex=True)
    db = 10 * torch.log10((filters @ (spec.real ** 2 + spec.imag ** 2)).clamp(min=1e-10))
    x = torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - 80).unsqueeze(1)
    return (x - x.mean(dim=(1, 2, 3), keepdim=True)) / (x.std(dim=(1, 2, 3), keepdim=True) + 1e-6)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    for name in ("--batch-size", "--epochs", "--sample-rate", "--n-mels"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(42)
    train = pd.read_csv(args.data / "train.csv")
    classes = sorted(train["primary_label"].unique())
    y = train["primary_label"].map({c: k for k, c in enumerate(classes)}).to_numpy()
    paths = [args.data / "train_audio" / name for name in train["filename"]]
    soundscapes = sorted((args.data / "test_soundscapes").glob("*.ogg"))
    windows = [(p, float(s)) for p in soundscapes for s in np.arange(0, soundfile.info(str(p)).duration - 1e-6, 5)]
    filters, window = mel_filters(args.sample_rate, args.n_mels), torch.hann_window(N_FFT)

    def predict(net, loader):
        net.eval()
        with torch.no_grad():
            return torch.cat([torch.softmax(net(front_end(w, filters, window)), 1) for w, _ in loader]).numpy()

    def loader(items, labels, seconds, shuffle):
        return torch.utils.data.DataLoader(Clips(items, labels, args.sample_rate, seconds, shuffle),
                                           batch_size=args.batch_size, shuffle=shuffle)

    test_loader = loader(windows, np.zeros(len(windows)), 5.0, False)
    test_pred, trained = np.zeros((len(windows), len(classes))), 0
    args.out.mkdir(parents=True, exist_ok=True)
    for k, (tr, va) in enumerate(StratifiedKFold(5, shuffle=True, random_state=42).split(paths, y)):
        net = timm.create_model(args.model, pretrained=False, num_classes=len(classes), in_chans=1)
        train_loader = loader([(paths[i], 0.0) for i in tr], y[tr], args.duration, True)
        valid_loader = loader([(paths[i], 0.0) for i in va], y[va], args.duration, False)
        optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
        total, warmup = args.epochs * len(train_loader), len(train_loader)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup
            else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
        best, best_state = -1, None
        for epoch in range(args.epochs):
            net.train()
            for x, target in train_loader:
                loss = torch.nn.functional.cross_entropy(net(front_end(x, filters, window)), target)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                trained += len(target)
            auc = float(roc_auc_score(y[va], predict(net, valid_loader), multi_class="ovr"))
            print(f"fold {k} epoch {epoch} auc {auc:.4f}", flush=True)
            if auc > best:
                best, best_state = auc, copy.deepcopy(net.state_dict())
                torch.save(best_state, args.out / f"fold{k}.pt")
        net.load_state_dict(best_state)
        test_pred += predict(net, test_loader) / 5
    ids = [f"{p.stem}_{s + 5:g}" for p, s in windows]
    pd.DataFrame(test_pred, columns=classes).assign(row_id=ids)[["row_id", *classes]].to_csv(
        args.out / "submission.csv", index=False)
    seconds = time.perf_counter() - started
    (args.out / "timing.json").write_text(json.dumps({"seconds": seconds, "trained_clips": trained}))


if __name__ == "__main__":
    main()
