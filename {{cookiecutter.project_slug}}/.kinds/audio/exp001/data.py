"""Reading an audio competition: the train table and its recordings, the test files cut into windows, and batches
of log-mel spectrograms (audio/mel.py) for the same lab as the image kind (train.py, model.py, deep/).

data.audio is the train files' path pattern, relative to data.dir, filled with each row's columns
(train_audio/{filename}). With data.test: null, every file matching data.test_audio (a glob, as BirdCLEF's hidden
test_soundscapes/*.ogg) is a test file, cut into audio.test_window-second windows: one submission row each, named
{file stem}_{end second} (audio.test_window: null, one row per file, named by its stem). With a test table, each
row is one file, named by data.id; each test example is the start of its file, as long as a window.
"""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from audio.decode import duration
from audio.labels import labels_heard
from audio.mel import log_mel, log_mel_batch
from audio.waves import WaveDataset, clip_wave, load_waves
from deep.paths import check_inside
from deep.table import DATA_DIR_ENV, data_dir, encode_target, read_csv, require_columns, standardizing  # noqa: F401 (predict.py)
from inputs import check_rows, check_sample_ids
from runner.util import DataError, rel

UNIT = "clips"  # what the log counts per second
RANDOM_SPAN = 30.0  # audio.crop: random draws each epoch's clip from the first this many seconds of a train file
_AUGMENTS = {}  # augment and audio settings -> augment.make_augment's function, which to_input applies


class Clip(tuple):
    """(path, start second, seconds or None for the rest of the file): the part of a recording one example is."""

    def __new__(cls, path, start=0.0, seconds=None):
        return super().__new__(cls, (path, float(start), seconds))


# ---------------------------------------------------------------- the tables

def load_table(cfg, n_rows=None):
    """Give train ids (each file's path under data.dir), the target, classes, and each train clip and test window."""
    spec, task = cfg["data"], cfg["task"]
    folder = data_dir(cfg)
    train = read_csv(folder / spec["train"], None)
    if n_rows:  # --debug: a sample, the same rows every time
        train = train.sample(n=min(n_rows, len(train)), random_state=cfg["seed"]).sort_index()
    targets = spec["target"] if isinstance(spec["target"], list) else [spec["target"]]
    group = cfg["cv"]["group"]
    secondary = [spec["secondary_labels"]] if spec["secondary_labels"] else []
    require_columns(train, [*targets, *secondary, *([group] if group else [])], folder / spec["train"])
    files = file_paths(train, spec["audio"], folder, spec["train"], "data.audio", spec["allow_outside"])
    named = pd.DataFrame({"file": [path.relative_to(folder).as_posix() for path in files]})
    check_rows(named, "file", folder / spec["train"])  # one row per recording: its path is its id in oof.csv
    test_ids, test_clips, test_table = test_windows(cfg, folder)
    sample = read_csv(folder / spec["sample_submission"], spec["id"])
    require_columns(sample, [spec["id"]], folder / spec["sample_submission"])
    check_rows(sample, spec["id"], folder / spec["sample_submission"], unique_ids=False)
    check_sample_ids(sample, test_ids, spec["id"], folder / spec["sample_submission"], test_table)
    if task == "multilabel" and isinstance(spec["target"], str):  # BirdCLEF: a label column, and the others heard
        y, classes = labels_heard(train, spec["target"], spec["secondary_labels"], folder / spec["train"])
    else:
        y, classes = encode_target(train, targets, task, folder / spec["train"])
    span = cfg["audio"]["duration"] if cfg["audio"]["crop"] != "random" else max(RANDOM_SPAN, cfg["audio"]["duration"])
    return SimpleNamespace(
        ids=named["file"], test_ids=pd.Series(test_ids), y=y, classes=classes, sample=sample,
        paths=[train_clip(path, span, cfg["audio"]) for path in files], test_paths=test_clips,
        target_stats=standardizing(y) if task == "regression" else None,
        groups=train[group].to_numpy() if group else None,
    )


def file_paths(frame, pattern, folder, table, key, allowed=()):
    """Give each row's file path: `pattern` filled with the row's columns, under `folder` (and never outside it)."""
    try:
        paths = [folder / pattern.format(**row) for row in frame.astype(str).to_dict("records")]
    except KeyError as e:
        raise DataError(f"{key} pattern {pattern!r} names column {e.args[0]!r}, which {table} lacks; its columns: "
                        f"{', '.join(map(str, frame.columns))}. Fix: write the pattern with those, e.g. "
                        "train_audio/{filename}.") from None
    check_inside(paths, folder, allowed, table, key, pattern)
    return paths


def train_clip(path, span, audio):
    """Give the part of a train file its spectrogram is made of: from the start, or around the middle (crop: center)."""
    if audio["crop"] != "center":
        return Clip(path, 0.0, span)
    return Clip(path, max(0.0, (duration(path) - span) / 2), span)


def test_windows(cfg, folder):
    """Give (row ids, clips, what to call the test files): every test file's windows, or one clip per table row."""
    spec = cfg["data"]
    if spec["test"] is not None:  # a table: each row one file
        ids, clips = table_clips(cfg, folder / spec["test"], folder)
        return ids, clips, folder / spec["test"]
    paths = sorted(folder.glob(spec["test_audio"]))
    if not paths:
        raise DataError(f"no test file matches data.test_audio {spec['test_audio']!r} under {rel(folder)}. Fix: put "
                        "the test recordings there, or set data.test_audio (a glob such as test_soundscapes/*.ogg).")
    check_inside(paths, folder, spec["allow_outside"], spec["test_audio"], "data.test_audio", spec["test_audio"])
    return (*windows_of(paths, cfg["audio"], spec["test_audio"]), folder / spec["test_audio"])


def table_clips(cfg, path, files):
    """Give (ids, clips) of a test table whose rows name recordings (data.test_audio) under `files`: the start of each
    file, as long as a window."""
    spec, audio = cfg["data"], cfg["audio"]
    test = read_csv(path, spec["id"])
    require_columns(test, [spec["id"]], path)
    check_rows(test, spec["id"], path)
    paths = file_paths(test, spec["test_audio"], files, path.name, "data.test_audio", spec.get("allow_outside") or ())
    seconds = audio["test_window"] or audio["duration"]
    return test[spec["id"]].tolist(), [Clip(file, 0.0, seconds) for file in paths]


def windows_of(paths, audio, where):
    """Give (row ids, clips): each recording cut into audio.test_window-second windows every audio.test_hop seconds,
    named {stem}_{end second}; with test_window null, its start, named by its stem."""
    ids, clips = [], []
    window = audio["test_window"]
    for path in paths:
        if window is None:
            ids.append(path.stem), clips.append(Clip(path, 0.0, audio["duration"]))
            continue
        length = readable_duration(path, where)
        for start in np.arange(0.0, max(length - 1e-6, 1e-6), audio["test_hop"] or window):
            ids.append(f"{path.stem}_{start + window:g}"), clips.append(Clip(path, start, window))
    return ids, clips


def readable_duration(path, table):
    try:
        return duration(path)
    except Exception as e:  # not a recording soundfile knows: its own words
        raise DataError(f"{rel(path)} ({table}) cannot be read ({type(e).__name__}: {e}). "
                        "Fix: restore the file, or remove it from the test folder.") from None


# ---------------------------------------------------------------- the spectrograms

def load_spectrograms(clips, audio, table):
    """Give each clip's log-mel spectrogram (numpy, mels x frames): pictures made once (augment.noise_dir's)."""
    store = load_waves(clips, audio["sample_rate"], True, table)
    return [log_mel(clip_wave(clip, audio["sample_rate"], store), audio) for clip in clips]


# ---------------------------------------------------------------- what the shared lab (train.py) asks of the inputs

def load_inputs(cfg, clips, table):
    """Decode every clip's recording (kept with dataset.cache); give the store of waveforms, or None; raise
    DataError naming any bad file."""
    return load_waves(clips, cfg["audio"]["sample_rate"], cfg["dataset"]["cache"], table)


def describe_inputs(cfg, table):
    audio = cfg["audio"]
    return (f"train {len(table.paths):,} recordings ({audio['duration']:g} s clips, crop {audio['crop']}), test "
            f"{len(table.test_paths):,} {'windows' if cfg['data']['test'] is None else 'recordings'}; "
            f"{audio['n_mels']} mels at {audio['sample_rate']:,} Hz"
            + ("" if cfg["dataset"]["cache"] else "; decoded every epoch (dataset.cache: false)"))


def input_record(cfg):
    """Give what metrics.json says of the inputs a run trained on."""
    return {"audio": {key: cfg["audio"][key] for key in ("sample_rate", "duration", "n_mels", "hop_length")}}


def make_dataset(cfg, clips, store, targets=None, rows=None, augment=None, train=False):
    """Give the Dataset of `rows` (all when None): clips cut at random when `train` (audio.crop: random)."""
    if rows is not None:
        clips, targets = [clips[i] for i in rows], targets[rows]
    audio = cfg["audio"]  # train and valid examples are audio.duration long; test windows audio.test_window
    seconds = audio["duration"] if targets is not None else audio["test_window"] or audio["duration"]
    if augment is not None:  # applied to the spectrograms to_input makes of this dataset's batches
        _AUGMENTS[augment_key(cfg)] = augment
    return WaveDataset(clips, audio, store, targets, augment is not None, int(round(seconds * audio["sample_rate"])),
                       train and audio["crop"] == "random")


def augment_key(cfg):
    return repr((sorted(cfg["augment"].items()), sorted(cfg["audio"].items())))


def to_input(batch, cfg, device):
    """Give a batch of waveforms as the model's input (batch x 1 x mels x frames): log-mel spectrograms computed on
    the device in one go, a short clip's frames past its end at its quietest value, each training clip through
    augment.py with its own seed, each standardized (mean 0, std 1)."""
    audio = cfg["audio"]
    x = log_mel_batch(batch["wave"].to(device, non_blocking=True), audio)
    past = (torch.arange(x.shape[2], device=device)[None, :]
            >= (batch["valid"].to(device) // audio["hop_length"] + 1)[:, None]).unsqueeze(1)
    x = torch.where(past, torch.where(past, torch.inf, x).amin(dim=(1, 2), keepdim=True), x).unsqueeze(1)
    seeds = batch["seed"].tolist()
    if max(seeds) >= 0:
        augment = _AUGMENTS[augment_key(cfg)]
        for i in (i for i, seed in enumerate(seeds) if seed >= 0):
            with torch.random.fork_rng(devices=[]):  # the clip's own draws: the same however batches are made
                torch.manual_seed(seeds[i])
                x[i] = augment(x[i])
    mean, std = x.mean(dim=(1, 2, 3), keepdim=True), x.std(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) / (std + 1e-6)  # a loud and a quiet recording of one call look alike
    return x.contiguous(memory_format=torch.channels_last) if cfg["train"]["channels_last"] else x


def tta_views(cfg):
    return []  # a sound played backwards is another sound: no flips


def tta_view(x, name):
    raise ValueError(f"no TTA view {name!r} for audio")


def read_test(cfg, test, files=None):
    """Give (ids, dataset) of another test set: a folder of recordings cut into windows (the hidden soundscapes, with
    the files data.test_audio's name matches), or a table naming them under `files` (default: its folder)."""
    from pathlib import Path

    if test.is_dir():
        paths = sorted(test.glob(Path(cfg["data"]["test_audio"]).name))
        if not paths:
            raise DataError(f"{rel(test)} holds no file matching {Path(cfg['data']['test_audio']).name!r} "
                            "(data.test_audio). Fix: give the folder of the test recordings.")
        ids, clips = windows_of(paths, cfg["audio"], rel(test))
    else:
        ids, clips = table_clips(cfg, test, files or test.parent)
    store = load_waves(clips, cfg["audio"]["sample_rate"], cfg["dataset"]["cache"], rel(test))
    return pd.Series(ids), make_dataset(cfg, clips, store)


def speed(dataset, seconds):
    """Give the seconds predicting took per hour of audio, for predict.py's log: what a notebook's limit is set in."""
    hours = sum(clip[2] or 0.0 for clip in dataset.clips) / 3600
    return f"{seconds / max(hours, 1e-9):,.0f} s per hour of audio"
