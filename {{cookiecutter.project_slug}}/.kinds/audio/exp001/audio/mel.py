"""Log-mel spectrograms: the picture of a sound that the timm model learns from, one channel, mels x frames.

Written with torch alone (no torchaudio, whose wheels must match torch's exact version): a Hann-window STFT, a
bank of triangular mel filters (the HTK mel scale), power in decibels with an 80 dB floor below the loudest bin.
"""
import functools

import numpy as np
import torch

TOP_DB = 80.0  # quieter bins than this below the loudest are floored: silence does not dominate the picture


def frames(seconds, spec):
    """Give the number of spectrogram frames of `seconds` of sound (a centred STFT: one frame per hop, plus one)."""
    return int(round(seconds * spec["sample_rate"])) // spec["hop_length"] + 1


@functools.lru_cache(maxsize=8)
def mel_filters(sample_rate, n_fft, n_mels, fmin, fmax):
    """Give the (n_mels, n_fft // 2 + 1) matrix of triangular filters, evenly spaced on the mel scale."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))  # each filter: left, centre, right
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    rising = (bins[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - bins[None, :]) / (edges[2:, None] - edges[1:-1, None])
    return torch.from_numpy(np.clip(np.minimum(rising, falling), 0, None).astype(np.float32))


def log_mel(wave, spec):
    """Give the log-mel spectrogram (n_mels, frames) in dB of a mono waveform, with audio.* of config.yml."""
    fmax = spec["fmax"] or spec["sample_rate"] / 2
    stft = torch.stft(torch.from_numpy(np.ascontiguousarray(wave)), n_fft=spec["n_fft"], hop_length=spec["hop_length"],
                      window=torch.hann_window(spec["n_fft"]), center=True, pad_mode="constant", return_complex=True)
    power = stft.abs() ** 2
    mel = mel_filters(spec["sample_rate"], spec["n_fft"], spec["n_mels"], float(spec["fmin"]), float(fmax)) @ power
    db = 10.0 * torch.log10(mel.clamp(min=1e-10))
    return db.clamp(min=float(db.max()) - TOP_DB).numpy()
