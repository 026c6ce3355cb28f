"""Log-mel spectrograms: the picture of a sound that the timm model learns from, one channel, mels x frames.

Written with torch alone (no torchaudio, whose wheels must match torch's exact version): a Hann-window STFT, a
bank of triangular mel filters (the HTK mel scale), power in decibels with an 80 dB floor below the loudest bin.
The lab calls log_mel_batch on the training device with each batch of waveforms (data.to_input).
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
    """Give the log-mel spectrogram (n_mels, frames) in dB of a mono waveform (numpy), with audio.* of config.yml."""
    return log_mel_batch(torch.from_numpy(np.ascontiguousarray(wave))[None], spec)[0].numpy()


def log_mel_batch(waves, spec):
    """Give the log-mel spectrograms (batch, n_mels, frames) in dB of a batch of equal-length waveforms (batch,
    samples), on their device: one STFT and one matrix product for the whole batch, each clip floored TOP_DB below
    its own loudest bin."""
    fmax = spec["fmax"] or spec["sample_rate"] / 2
    window, filters = front_end(spec["n_fft"], spec["sample_rate"], spec["n_mels"], float(spec["fmin"]), float(fmax),
                                waves.device)
    stft = torch.stft(waves, n_fft=spec["n_fft"], hop_length=spec["hop_length"], window=window, center=True,
                      pad_mode="constant", return_complex=True)
    mel = filters @ (stft.real ** 2 + stft.imag ** 2)
    db = 10.0 * torch.log10(mel.clamp(min=1e-10))
    return torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - TOP_DB)


@functools.lru_cache(maxsize=8)
def front_end(n_fft, sample_rate, n_mels, fmin, fmax, device):
    """Give the Hann window and the mel filters on `device`, made and moved there once, not every batch."""
    return (torch.hann_window(n_fft, device=device),
            mel_filters(sample_rate, n_fft, n_mels, fmin, fmax).to(device))
