"""The training augmentations of each spectrogram: config.yml's augment section, one key each (background noise from
augment.noise_dir and the clip's gain against it, SpecAugment's masks).

make_augment gives what each training clip's spectrogram goes through: data.to_input applies it on the device, after
the batch's spectrograms are made there, with a seed the dataset drew for that clip from torch's generator (which a
resumed run restores); mixup and cutmix mix whole batches on the device (deep/mixing.py). A new augmentation is a
key in config.yml's augment section, its row in config_keys.py, and a function here.
"""
import torch


NOISE_BELOW_DB = (3.0, 20.0)  # augment.noise_dir: the noise's loudest bin this many dB below the clip's, at random


def make_augment(cfg):
    """Give the training augmentations from config.yml's augment section, or None when all are off."""
    spec = cfg["augment"]
    steps = [step for key, step in (("time_mask", time_mask), ("freq_mask", freq_mask)) if spec[key]]
    if spec["noise_dir"]:
        noises = noise_spectrograms(cfg)
        steps.insert(0, lambda x, spec: with_noise(x, noises, spec["gain_db"]))
    if not steps:
        return None

    def augment(x):
        for step in steps:
            x = step(x, spec)
        return x
    return augment


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


def noise_spectrograms(cfg):
    """Give the spectrograms of every recording in augment.noise_dir (from the project root; its first 30 s each),
    or raise DataError, before any fold trains, when there is none or one cannot be read."""
    import data
    from runner.util import ROOT, DataError, rel

    folder = ROOT / cfg["augment"]["noise_dir"]
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".ogg", ".flac", ".wav", ".mp3"))
    if not paths:
        raise DataError(f"augment.noise_dir: {rel(folder)} holds no recording (.ogg, .flac, .wav, .mp3). Fix: put the "
                        "background recordings there, or set augment.noise_dir: null.")
    clips = [data.Clip(path, 0.0, data.RANDOM_SPAN) for path in paths]
    return [torch.from_numpy(a) for a in data.load_spectrograms(clips, cfg["audio"], rel(folder))]


def with_noise(x, noises, gain_db=0):
    """Mix a random stretch of a random background recording into x (1 x mels x frames, dB), quieter than the clip
    by NOISE_BELOW_DB, the clip then louder or quieter against it by up to gain_db: the two add as power, not as
    decibels. (A gain on the clip alone would change nothing: to_input standardizes each clip.)"""
    noise = noises[int(torch.randint(len(noises), ()))].to(x.device)
    repeats = -(-x.shape[2] // noise.shape[1])  # a short noise is looped
    noise = noise.repeat(1, repeats + 1)
    first = int(torch.randint(noise.shape[1] - x.shape[2] + 1, ()))
    noise = noise[:, first:first + x.shape[2]].unsqueeze(0)
    low, high = NOISE_BELOW_DB
    below = low + float(torch.rand(())) * (high - low)
    if gain_db:
        below += (float(torch.rand(())) * 2 - 1) * gain_db
    noise = noise - noise.max() + x.max() - below
    return 10 * torch.log10(10 ** (x / 10) + 10 ** (noise / 10))
