"""Write the audio kind's example into the template: four synthetic "species" calling over field noise, laid out
as BirdCLEF ships its data.

    python3 tools/make_audio_example.py      (needs numpy and soundfile; run from the template's root)

It writes {{cookiecutter.project_slug}}/.kinds/audio/input/: train.csv (filename, primary_label,
secondary_labels: the species heard in the background of one recording in four, rating),
train_audio/<species>/<id>.ogg (one call or two, 1.5 to 2.5 s, somewhere in each), test_soundscapes/<name>.ogg
(10 s each: one species calling in each 5-second window) and sample_submission.csv (row_id, one probability
column per species), all OGG Vorbis at 16 kHz, mono. The species differ the way real ones do, by the shape of
their call: a steady whistle, a rising sweep, a falling sweep, a trill. Each window's true species goes to
tests/audio_example_labels.csv (the hidden answers, outside the template). Seeded: running it again writes the
same files.
"""
import csv
import shutil
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "{{cookiecutter.project_slug}}" / ".kinds" / "audio" / "input"
LABELS = ROOT / "tests" / "audio_example_labels.csv"
RATE = 16000
SPECIES = ["whistler", "riser", "faller", "triller"]
PER_SPECIES, SOUNDSCAPES, WINDOW = 12, 4, 5


def call(species, seconds, rng):
    """Give one call of `species`, `seconds` long, with a little of each bird's own pitch."""
    t = np.arange(int(seconds * RATE)) / RATE
    shift = rng.uniform(0.9, 1.1)
    if species == "whistler":  # a steady whistle with a slow vibrato
        freq = 1500 * shift + 60 * np.sin(2 * np.pi * 5 * t)
    elif species == "riser":
        freq = (700 + 2300 * t / seconds) * shift
    elif species == "faller":
        freq = (3000 - 2300 * t / seconds) * shift
    else:  # a trill: a 2.2 kHz note switched on and off twelve times a second
        freq = np.full_like(t, 2200 * shift)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    wave = np.sin(phase)
    if species == "triller":
        wave *= (np.sin(2 * np.pi * 12 * t) > 0)
    fade = np.minimum(1, np.minimum(t, t[-1] - t) / 0.02)  # no clicks at the ends
    return wave * fade


def field_noise(seconds, rng):
    """Give quiet low-frequency field noise (wind, a distant road): white noise smoothed."""
    white = rng.normal(0, 1, int(seconds * RATE))
    return np.convolve(white, np.ones(32) / 32, mode="same") * 0.03


def recording(species, seconds, calls, rng):
    wave = field_noise(seconds, rng)
    for _ in range(calls):
        length = rng.uniform(0.5, 1.0)
        start = int(rng.uniform(0, seconds - length) * RATE)
        piece = call(species, length, rng) * rng.uniform(0.3, 0.8)
        wave[start:start + len(piece)] += piece
    return np.clip(wave, -1, 1).astype(np.float32)


def write(path, wave):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave, RATE, format="OGG", subtype="VORBIS", compression_level=1.0)  # the smallest files


def main():
    rng = np.random.default_rng(0)
    shutil.rmtree(OUT, ignore_errors=True)
    rows = []
    for k in range(PER_SPECIES * len(SPECIES)):
        species = SPECIES[k % len(SPECIES)]
        filename = f"{species}/XC{1000 + k}.ogg"
        wave = recording(species, rng.uniform(1.5, 2.5), int(rng.integers(1, 3)), rng)
        heard = []
        if k % 4 == 3:  # another species calls, quieter, in the background: listed as BirdCLEF does
            other = SPECIES[(k + 1 + int(rng.integers(3))) % len(SPECIES)]
            wave = np.clip(wave + 0.4 * recording(other, len(wave) / RATE, 1, rng), -1, 1).astype(np.float32)
            heard = [other]
        write(OUT / "train_audio" / filename, wave)
        rows.append({"filename": filename, "primary_label": species, "secondary_labels": str(heard),
                     "rating": float(rng.integers(2, 6))})
    with open(OUT / "train.csv", "w", newline="") as f:  # csv writes \r\n unless told
        writer = csv.DictWriter(f, ["filename", "primary_label", "secondary_labels", "rating"], lineterminator="\n")
        writer.writeheader(), writer.writerows(rows)
    answers = []
    for s in range(SOUNDSCAPES):
        name, windows = f"soundscape_{s + 1:03d}", []
        for w in range(2):
            species = SPECIES[int(rng.integers(len(SPECIES)))]
            windows.append(recording(species, WINDOW, 2, rng))
            answers.append({"row_id": f"{name}_{(w + 1) * WINDOW}", "species": species})
        write(OUT / "test_soundscapes" / f"{name}.ogg", np.concatenate(windows))
    with open(OUT / "sample_submission.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["row_id", *SPECIES])
        writer.writerows([[a["row_id"], *[1 / len(SPECIES)] * len(SPECIES)] for a in answers])
    with open(LABELS, "w", newline="") as f:
        writer = csv.DictWriter(f, ["row_id", "species"], lineterminator="\n")
        writer.writeheader(), writer.writerows(answers)
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(rows)} train recordings and {SOUNDSCAPES} soundscapes to {OUT} ({size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
