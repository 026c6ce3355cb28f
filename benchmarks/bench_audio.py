"""clips/s of one exp001 run of the audio kind vs a hand-written PyTorch loop, side by side; and predict.py's CPU
seconds per hour of test audio.

    python benchmarks/bench_audio.py [--repeat 2] [--train 300] [--seconds 10] [--epochs 2]

Both sides train the same timm model (test_resnet, from scratch, on the CPU unless there is a GPU) on the same
recordings (synthetic calls of four "species" over noise: --train OGG files of --seconds at 32 kHz, written once to
benchmarks/work/audio_data/, resampled to 16 kHz), the same front-end (log-mel, 64 mels, n_fft 1024, hop 256, 2 s
random crops, each clip standardized), batch size, folds (5, stratified), epochs, optimizer and schedule; both score
the valid clips after every epoch and predict every 5-second window of the test soundscapes with each fold's best
weights. The hand loop (handwritten_audio.py) decodes every recording each time it reads it. exp001 runs twice:
with dataset.cache false (decodes every epoch too; goal: at least 0.95x the hand loop's clips/s) and true (decodes
once per process; goal: at least 1.5x). Times are whole processes: imports, checks and the record included.
Then predict.py, from the cached run's record, predicts the test soundscapes on the CPU: its CPU seconds per hour of
test audio (the figure a Kaggle notebook's time limit is set in).
"""
import argparse
import json
import shutil
import subprocess
import sys

import numpy as np

from common import ENV, TEMPLATE, WORK, commit_project, measure, median, set_runs

DATA = WORK / "audio_data"
SPECIES = ["whistler", "riser", "faller", "triller"]
RATE = 32000  # what the files are written at (BirdCLEF's); both sides resample to 16 kHz


def call(kind, seconds, rng):
    """Give one call of a species: a steady tone, a rising or falling sweep, or a trill, 0.3 to 0.6 s long."""
    t = np.arange(int(rng.uniform(0.3, 0.6) * RATE)) / RATE
    base = rng.uniform(1500, 3000)
    hz = {"whistler": base + 0 * t, "riser": base + 4000 * t, "faller": base + 2500 - 4000 * t,
          "triller": base + 400 * np.sign(np.sin(2 * np.pi * 25 * t))}[kind]
    return np.sin(2 * np.pi * np.cumsum(hz) / RATE) * np.hanning(len(t))


def recording(kind, seconds, rng):
    """Give `seconds` of field noise with a few calls of `kind` (none when kind is None) at random places."""
    import soundfile  # noqa: F401 (fail early when it is missing)

    wave = rng.normal(0, 0.02, int(seconds * RATE))
    for _ in range(int(seconds // 2) if kind else 0):
        one = call(kind, seconds, rng)
        start = int(rng.integers(0, len(wave) - len(one)))
        wave[start:start + len(one)] += rng.uniform(0.1, 0.4) * one
    return wave.astype(np.float32)


def write_ogg(path, wave):
    """Write an OGG Vorbis file a second at a time: libsndfile (1.2 here) crashes encoding minutes in one call."""
    import soundfile

    with soundfile.SoundFile(str(path), "w", RATE, 1, format="OGG") as f:
        for start in range(0, len(wave), RATE):
            f.write(wave[start:start + RATE])


def make_data(n_train, seconds, n_test, test_seconds):
    """Write train.csv, sample_submission.csv, train_audio/ and test_soundscapes/ once; reuse them when there."""
    stamp = DATA / f"done-{n_train}-{seconds}-{n_test}-{test_seconds}"
    if stamp.is_file():
        return
    shutil.rmtree(DATA, ignore_errors=True)
    rng, rows = np.random.default_rng(0), []
    for k in range(n_train):
        kind = SPECIES[k % 4]
        (DATA / "train_audio" / kind).mkdir(parents=True, exist_ok=True)
        write_ogg(DATA / "train_audio" / kind / f"XC{k:05d}.ogg", recording(kind, seconds, rng))
        rows.append(f"{kind}/XC{k:05d}.ogg,{kind}")
    (DATA / "test_soundscapes").mkdir()
    ids = []
    for k in range(n_test):
        parts = [recording(SPECIES[(k + j) % 4] if j % 2 else None, 5.0, rng) for j in range(int(test_seconds // 5))]
        write_ogg(DATA / "test_soundscapes" / f"soundscape_{k:03d}.ogg", np.concatenate(parts))
        ids += [f"soundscape_{k:03d}_{5 * (j + 1)}" for j in range(len(parts))]
    (DATA / "train.csv").write_text("filename,primary_label\n" + "\n".join(rows) + "\n")
    (DATA / "sample_submission.csv").write_text(
        "row_id," + ",".join(SPECIES) + "\n" + "".join(f"{i},0.25,0.25,0.25,0.25\n" for i in ids))
    stamp.touch()


def bake(args):
    """Give a fresh audio project; its runs read the benchmark's data where it is (data.dir, in snippet())."""
    out = WORK / "audio"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(out), str(TEMPLATE),
                    "kind=audio", "verify_example=no", "git_init=no"], check=True, capture_output=True, env=ENV)
    project = out / "my-kaggle-competition"
    commit_project(project)
    return project


def snippet(args, cache):
    """Give the run's YAML: the data where it is, and the settings the hand loop has."""
    return (f"data:\n  dir: {DATA}\naudio:\n  n_mels: 64\n  duration: 2.0\n"
            f"dataset:\n  batch_size: {args.batch_size}\n  cache: {cache}\n"
            f"cv:\n  n_splits: 5\ntrain:\n  epochs: {args.epochs}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each train recording")
    parser.add_argument("--test", type=int, default=4, help="test soundscapes, --test-seconds each")
    parser.add_argument("--test-seconds", type=float, default=120.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    make_data(args.train, args.seconds, args.test, args.test_seconds)
    project = bake(args)
    hand_out = WORK / "audio_hand"
    hand = [sys.executable, str(TEMPLATE / "benchmarks" / "handwritten_audio.py"), str(DATA), str(hand_out),
            "--batch-size", str(args.batch_size), "--epochs", str(args.epochs), "--model", "test_resnet",
            "--sample-rate", "16000", "--duration", "2", "--n-mels", "64"]
    clips = args.train * 4 // 5 * args.epochs * 5  # clips trained on by one run: 5 folds of 4/5 of train
    sides = ["hand loop (decodes every epoch)", "exp001, dataset.cache: false", "exp001, dataset.cache: true"]
    seconds, cpu = {side: [] for side in sides}, {side: [] for side in sides}
    env = {"OMP_NUM_THREADS": str(ENV.get("OMP_NUM_THREADS", "2"))}
    for r in range(args.repeat):  # sides interleaved, so a drift of the machine's speed hits them alike
        shutil.rmtree(hand_out, ignore_errors=True)
        took = measure(hand, log_path=WORK / "audio_hand.log", quiet_limit=30, env=env)
        seconds[sides[0]].append(took.seconds)
        cpu[sides[0]].append(took.cpu)
        for cache in ("false", "true"):
            shutil.rmtree(project / "data" / "output" / "exp", ignore_errors=True)
            set_runs(project, [snippet(args, cache)])
            took = measure([sys.executable, str(project / "exp" / "exp001" / "exp.py")], cwd=project,
                           log_path=WORK / f"audio_exp_{cache}.log", quiet_limit=30, env=env)
            seconds[f"exp001, dataset.cache: {cache}"].append(took.seconds)
            cpu[f"exp001, dataset.cache: {cache}"].append(took.cpu)
        print(f"repeat {r + 1}/{args.repeat}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in seconds.items()),
              flush=True)
    hours = args.test * args.test_seconds / 3600
    predict = measure([sys.executable, str(project / "exp" / "exp001" / "predict.py"), "run001", "--test",
                       str(DATA / "test_soundscapes"), "--out", str(WORK / "audio_predicted.csv"), "--device", "cpu"],
                      cwd=project, log_path=WORK / "audio_predict.log", quiet_limit=30, env=env)
    said = [line for line in (WORK / "audio_predict.log").read_text().splitlines() if "per hour of audio" in line]
    print(f"\n{args.train} train recordings ({args.seconds:g} s OGG at 32 kHz) at 16 kHz, 2 s clips, 64 mels, batch "
          f"{args.batch_size}, {args.epochs} epochs x 5 folds, test_resnet, OMP_NUM_THREADS={env['OMP_NUM_THREADS']};"
          f" medians of {args.repeat}, whole processes")
    for label, table in (("wall", seconds), ("CPU", cpu)):
        base = clips / median(table[sides[0]])
        for side, values in table.items():
            rate = clips / median(values)
            print(f"  {label:4s} {side:34s} {median(values):7.1f} s  {rate:8.1f} clips/s  {rate / base:5.2f}x the "
                  "hand loop")
    per_hour = said[-1].split("(")[-1].rstrip(")") if said else "?"
    print(f"predict.py run001 on {args.test} soundscapes ({hours * 60:g} min of audio, 5 folds): "
          f"{predict.seconds:.1f} s wall, {predict.cpu:.1f} s CPU: {predict.cpu / hours:,.0f} s of CPU per hour of "
          f"test audio (whole process; its log, from reading the files: {per_hour})")
    print(json.dumps({"wall": {k: [round(s, 2) for s in v] for k, v in seconds.items()},
                      "cpu": {k: [round(s, 2) for s in v] for k, v in cpu.items()},
                      "predict": {"wall": round(predict.seconds, 2), "cpu": round(predict.cpu, 2)}}))


if __name__ == "__main__":
    main()
