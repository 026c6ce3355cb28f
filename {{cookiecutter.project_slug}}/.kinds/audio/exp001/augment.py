"""The training augmentations of each spectrogram: config.yml's augment section, one key each.

make_augment gives what each training clip goes through as it is loaded (data.SpectrogramDataset applies it);
mixup and cutmix mix whole batches on the device (deep/mixing.py). Every draw is from torch's generator, which a
resumed run restores. A new augmentation is a key in config.yml's augment section, its row in config_keys.py, and
a function here.
"""
import torch


def make_augment(cfg):
    """Give the training augmentations from config.yml's augment section, or None when all are off."""
    spec = cfg["augment"]
    steps = [step for key, step in (("gain_db", gain), ("time_mask", time_mask), ("freq_mask", freq_mask))
             if spec[key]]
    if not steps:
        return None

    def augment(x):
        for step in steps:
            x = step(x, spec)
        return x
    return augment


def gain(x, spec):
    """Louder or quieter by up to augment.gain_db: in a dB spectrogram a gain adds the same value to every bin."""
    return x + (torch.rand(()) * 2 - 1) * spec["gain_db"]


def time_mask(x, spec):
    """Mask a band of up to augment.time_mask frames with the quietest value (SpecAugment)."""
    return masked(x, spec["time_mask"], axis=2)


def freq_mask(x, spec):
    """Mask a band of up to augment.freq_mask mel bins with the quietest value (SpecAugment)."""
    return masked(x, spec["freq_mask"], axis=1)


def masked(x, widest, axis):
    width = int(torch.randint(min(widest, x.shape[axis]) + 1, ()))
    first = int(torch.randint(x.shape[axis] - width + 1, ()))
    x = x.clone()
    x.narrow(axis, first, width).fill_(float(x.min()))
    return x
