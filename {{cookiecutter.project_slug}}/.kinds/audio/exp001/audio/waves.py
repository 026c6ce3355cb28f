"""Waveforms as the lab trains on them: each file decoded once (the part its clips need) and kept per process by
(file, sample rate), clips cut from it as views, and the Dataset whose batches data.to_input turns into spectrograms
on the training device.

With dataset.cache the store is the process's _WAVES: folds and runs with the same audio.sample_rate decode nothing
again, whatever their n_mels, duration or augmentations (the spectrogram is no longer what is kept).
"""
import numpy as np
import torch

from audio.decode import read_clip
from deep.paths import read_every_file

_WAVES = {}  # (file, sample rate) -> (first second, mono float32 waveform, whether it reaches the file's end)
_SOUND = set()  # (file, sample rate, span) found readable and not silent in this process: the run after the checks
#                 before training (dataset.cache: false) does not decode every file a second time to know it


def decoded(path, sample_rate, start, seconds, store):
    """Give (first second, waveform, whether it reaches the file's end): a decoded part of `path` that holds
    [start, start + seconds) (to the end when seconds is None), from `store` when it has one, else read and put there.

    A part is read once, as the span of what the store held and what is asked: runs whose clips differ (another
    audio.duration, the middle of a file) share one decoded entry per (file, sample rate).
    """
    held = store.get((path, sample_rate))
    if held is not None and covers(held, start, seconds, sample_rate):
        return held
    first, end = start, None if seconds is None else start + seconds
    if held is not None:
        first = min(first, held[0])
        end = None if end is None or held[2] else max(end, held[0] + len(held[1]) / sample_rate)
    wave = read_clip(path, sample_rate, first, None if end is None else end - first)
    part = (first, wave, end is None or len(wave) < int(round((end - first) * sample_rate)))
    store[(path, sample_rate)] = part
    return part


def covers(part, start, seconds, sample_rate):
    first, wave, to_end = part
    return start >= first and (to_end or seconds is not None
                               and int(round((start + seconds - first) * sample_rate)) <= len(wave))


def clip_wave(clip, sample_rate, store):
    """Give the samples of `clip` as a view of its file's decoded part (no copy: a soundscape's windows share it)."""
    path, start, seconds = clip
    first, wave, _ = decoded(path, sample_rate, start, seconds, store)
    offset = int(round((start - first) * sample_rate))
    return wave[offset:] if seconds is None else wave[offset:offset + int(round(seconds * sample_rate))]


def spans_of(clips):
    """Give each file's (first second, seconds or None: to its end) that all its clips lie in: what to decode once."""
    spans = {}
    for path, start, seconds in clips:
        end = None if seconds is None else start + seconds
        if path in spans:
            first, last = spans[path]
            start, end = min(start, first), None if end is None or last is None else max(end, first + last)
        spans[path] = (start, None if end is None else end - start)
    return spans


def load_waves(clips, sample_rate, cache=True, table="train.csv", threads=4):
    """Decode the part of each file its clips need (a soundscape once for all its windows); give the store the
    datasets cut clips from: with cache the process's (kept for every fold and every run with this sample rate),
    else None. Raise one DataError naming each file soundfile cannot read, or with no sound at all, before training.
    """
    spans = spans_of(clips)
    store = _WAVES if cache else {}

    def one(path):
        if not cache and (path, sample_rate, spans[path]) in _SOUND:  # with the cache, the store must hold it
            return None, None
        try:
            wave = decoded(path, sample_rate, *spans[path], store)[1]
        except FileNotFoundError:
            return None, "file not found"
        except Exception as e:  # truncated, not audio, a format libsndfile lacks: its own words
            return None, f"cannot be read ({type(e).__name__}: {e})"
        finally:
            if not cache:
                store.pop((path, sample_rate), None)  # checked, not kept: memory stays one file per thread
        if not np.isfinite(wave).all() or not np.abs(wave).max(initial=0.0) > 0:
            return None, "holds no sound (every sample is 0, or not a number)"
        _SOUND.add((path, sample_rate, spans[path]))
        return None, None

    files = list(spans)
    read_every_file(one, files, files, table, "recordings", "data.audio", threads)
    return store if cache else None


class WaveDataset(torch.utils.data.Dataset):
    """Give ({"wave": n_samples float32, "valid": how many are sound, "seed": the clip's augmentation seed or -1},
    target) pairs; to_input turns a batch of them into spectrograms on the device.

    A longer clip gives a random stretch of it each time (audio.crop: random, drawn from torch's generator, which a
    resumed run restores) or its start; a shorter one (a short recording, the end of a soundscape) is padded with
    silence, and to_input sets its frames past the end to its quietest value. Without a store (dataset.cache:
    false) the dataset keeps the last file it decoded only: a soundscape's windows come in a row, so it is decoded
    once per pass, and memory holds one file.
    """

    def __init__(self, clips, audio, store, targets=None, augment=False, n_samples=1, random_crop=False):
        self.clips, self.audio, self.targets, self.augment = clips, audio, targets, augment
        self.store, self.cached = (store, True) if store is not None else ({}, False)
        self.spans = spans_of(clips) if store is None else None  # without the cache: a file's clips decoded at once
        self.n_samples, self.random_crop = n_samples, random_crop

    def __len__(self):
        return len(self.clips)

    def __getitem__(self, i):
        rate, (path, start, seconds) = self.audio["sample_rate"], self.clips[i]
        if not self.cached and not self.random_crop and self.targets is not None:
            seconds = self.n_samples / rate  # a valid clip is its start: without the cache, decode no more
        elif not self.cached and (path, rate) not in self.store:
            self.store.clear()
            decoded(path, rate, *self.spans[path], self.store)  # a soundscape whole, not window by window
        wave = torch.from_numpy(clip_wave((path, start, seconds), rate, self.store))
        wave, valid = fit_samples(wave, self.n_samples, self.audio["hop_length"], self.random_crop)
        seed = int(torch.randint(0, 2 ** 62, ())) if self.augment else -1  # augment.py's draws, made in to_input
        target = self.targets[i] if self.targets is not None else 0
        return {"wave": wave, "valid": valid, "seed": seed}, torch.as_tensor(target)


def fit_samples(wave, n_samples, hop, random_crop):
    """Give (n_samples of `wave`: a stretch of it, random or the start, or all of it padded with zeros at the end;
    how many are sound). A random stretch starts on a frame (a multiple of the hop), as a crop of its spectrogram."""
    extra = len(wave) // hop - n_samples // hop  # spare frames
    first = int(torch.randint(extra + 1, ())) * hop if random_crop and extra > 0 else 0
    wave = wave[first:first + n_samples]
    valid = len(wave)
    return (torch.nn.functional.pad(wave, (0, n_samples - valid)) if valid < n_samples else wave), valid
