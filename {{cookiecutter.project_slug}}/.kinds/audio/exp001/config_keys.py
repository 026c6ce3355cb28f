"""This kind's rows of the config checks (deep/checks.py holds the rest): where the recordings are, how they become
spectrograms, how the test files are cut, and the augmentations of a spectrogram. A row: (dotted key, what its value
must be, the fix the message gives, the value that turns it off). A new key of the audio kind is one row here and
its line in config.yml."""
from deep.values import NO_OFF, null_or, number, one_of, pattern, whole

KEYS = [
    ("data.audio", pattern, "a path pattern relative to data.dir with a column in braces, e.g. "
                            "train_audio/{filename}.", NO_OFF),
    ("data.test_audio", lambda v: isinstance(v, str) and v != "", "with data.test null, a glob under data.dir, e.g. "
                                                                  "test_soundscapes/*.ogg; with a test table, a "
                                                                  "pattern such as test_audio/{id}.ogg.", NO_OFF),
    ("data.secondary_labels", lambda v: v is None or isinstance(v, str) and v != "",
     "null, or the column listing the other labels heard in a recording (task: multilabel), e.g. secondary_labels.",
     None),
    ("data.allow_outside", lambda v: isinstance(v, list) and all(isinstance(f, str) for f in v),
     "a list of folders, relative to the project root, e.g. [data/extra_audio]; [] for none.", []),
    ("audio.sample_rate", whole(1000), "samples per second every recording is resampled to, e.g. 32000.", NO_OFF),
    ("audio.duration", number(above=0), "seconds of each training clip, e.g. 5.", NO_OFF),
    ("audio.crop", one_of("random", "start", "center"), "random, start or center: where a training clip is taken.",
     NO_OFF),
    ("audio.n_mels", whole(8), "a number of mel bands, 8 or more (64 and 128 are usual).", NO_OFF),
    ("audio.n_fft", whole(16), "the FFT size in samples, e.g. 1024 (2048 at 32 kHz).", NO_OFF),
    ("audio.hop_length", whole(), "samples between spectrogram frames, e.g. 320.", NO_OFF),
    ("audio.fmin", number(0), "the lowest frequency in Hz, 0 or more, e.g. 50.", NO_OFF),
    ("audio.fmax", null_or(number(above=0)), "the highest frequency in Hz, or null for half the sample rate.", NO_OFF),
    ("audio.test_window", null_or(number(above=0)), "seconds of each test window (BirdCLEF: 5), or null for one row "
                                                   "per test file.", NO_OFF),
    ("audio.test_hop", null_or(number(above=0)), "seconds between test windows' starts, or null for the window.",
     NO_OFF),
    ("model.head", one_of("clip", "sed"), "clip (timm's pooling and classifier) or sed (attention over frames).",
     NO_OFF),
    ("augment.noise_dir", lambda v: v is None or isinstance(v, str) and v != "",
     "null (off), or a folder of background recordings, from the project root, e.g. data/noise.", None),
    ("augment.gain_db", number(0), "the clip's largest gain in dB against augment.noise_dir's background, 0 (off) "
                                   "or more, e.g. 6.", 0),
    ("augment.time_mask", whole(0), "the widest band of frames masked, 0 (off) or more, e.g. 20.", 0),
    ("augment.freq_mask", whole(0), "the widest band of mel bins masked, 0 (off) or more, e.g. 8.", 0),
]


def frequencies_fit(cfg):
    audio = cfg["audio"]
    top = audio["fmax"] if audio["fmax"] is not None else audio["sample_rate"] / 2
    if top > audio["sample_rate"] / 2:
        return "audio.fmax", f"at most half of audio.sample_rate ({audio['sample_rate'] / 2:g} Hz), or null."
    if audio["fmin"] >= top:
        return "audio.fmin", f"below audio.fmax ({top:g} Hz)."


def fft_fits(cfg):
    if cfg["audio"]["hop_length"] > cfg["audio"]["n_fft"]:
        return "audio.hop_length", f"at most audio.n_fft ({cfg['audio']['n_fft']}): frames would skip sound."


def secondary_needs_multilabel(cfg):
    if cfg["data"]["secondary_labels"] and cfg["task"] != "multilabel":
        return "data.secondary_labels", "null, or set task: multilabel (a recording then has every label it names)."


def gain_needs_noise(cfg):
    if cfg["augment"]["gain_db"] and not cfg["augment"]["noise_dir"]:  # each clip is standardized: alone, a no-op
        return "augment.gain_db", ("0, or set augment.noise_dir: a gain changes a clip only against a background "
                                   "(each clip is standardized, so a louder clip alone is the same clip).")


# rules that tie two keys of this kind together
RULES = [frequencies_fit, fft_fits, secondary_needs_multilabel, gain_needs_noise]
