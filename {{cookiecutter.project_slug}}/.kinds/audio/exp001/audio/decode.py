"""Recordings as Kaggle ships them, read into mono waveforms at audio.sample_rate.

soundfile (libsndfile) reads WAV, FLAC, OGG Vorbis and MP3. Only the frames a clip needs are read from disk, so
an hour-long soundscape costs a 5-second window's reading, not the hour's. Stereo is averaged to mono, other
sample rates are resampled (scipy's polyphase filter).
"""
from math import gcd

import numpy as np


def duration(path):
    """Give the length of a recording in seconds, from its header (nothing decoded)."""
    import soundfile

    info = soundfile.info(str(path))
    return info.frames / info.samplerate


def read_clip(path, sample_rate, start=0.0, seconds=None):
    """Give up to `seconds` of the recording at `path` from `start` (all of it when None) as float32 mono at
    sample_rate; shorter when the file ends sooner (padded by audio.waves.fit_samples)."""
    import soundfile

    with soundfile.SoundFile(str(path)) as f:
        native = f.samplerate
        first = min(int(round(start * native)), f.frames)
        f.seek(first)
        wave = f.read(-1 if seconds is None else int(round(seconds * native)), dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)  # stereo (or more channels) to mono
    if native != sample_rate:
        from scipy.signal import resample_poly

        common = gcd(native, sample_rate)
        wave = resample_poly(wave, sample_rate // common, native // common).astype(np.float32)
    return wave if seconds is None else wave[:int(round(seconds * sample_rate))]
