"""Time a notebook's inference on samples here; estimate its minutes on the hidden test set (`kaggle_cli.py probe`).

A run's notebook runs the record's predict.py on the packaged run, a blend's runs predict_blend.py
(kaggle_probe_targets.py). The probe runs that same command, on the device the notebook will have, on two samples
of the (first) run's own test set (a quarter of --sample-size, then all), and fits
seconds = start + rate x size: the start (Python, imports, reading the models) is paid once, the rate on every row,
image or hour of audio. start + rate x --test-size, times the margin, is weighed against submit.time_limit_minutes in
project.yml and saved in data/output/probe/, where `notebook --push` reads it.
"""
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from .atomic_files import write_atomically
from .kaggle_probe_targets import predict_command, probe_target
from .kaggle_project import read_json_file, read_project
from .project import OUTPUT_DIR, UserError, data_dir, read_table, rel

PROBE_DIR = OUTPUT_DIR / "probe"
DEFAULT_MARGIN = 1.5  # Kaggle's machines vary, and the hidden test set is read from a slower disk than this one
NOISE = 0.05
# The larger sample by default: a table's rows for a tabular run (copied over again when the test set is smaller:
# a model predicts a row in microseconds), the rows of a deep-learning run's table, recordings of a folder.
SAMPLE_SIZES = {"tabular": 20000, "deep": 200, "recordings": 4}
LOOPED_SECONDS = (60, 240)  # the two samples of a folder of recordings shorter than the second, in seconds


def fit_time(points):
    """Give (start seconds, seconds per unit) through [(size, seconds), ...] measured at two sizes (or one).

    A single point is taken as all rate and no start: the estimate then grows with the size as fast as it can.
    """
    (n1, t1), (n2, t2) = (points[0], points[-1])
    if n2 <= n1:
        return 0.0, max(t1, t2) / max(n1, n2)
    # Timing noise on a shared machine is a few percent: a size that cost less than NOISE of the larger sample's
    # time is taken as costing that much.
    rate = max(t2 - t1, NOISE * t2) / (n2 - n1)
    return max(t1 - rate * n1, 0.0), rate


def estimate_minutes(start, rate, test_size, margin):
    """Give the minutes predicting test_size units takes, with the margin: (start + rate x test_size) x margin."""
    return (start + rate * test_size) * margin / 60


def amount(n, unit):
    """Give n units as a person reads them: 20,000 rows, 0.0833 hours of audio."""
    return f"{n:,.0f} {unit}" if unit == "rows" else f"{n:,.3g} {unit}"


def probe_file(name):
    """Give where the probe of `name` (exp001/run002, exp001/tune/trial0003 or blend001) is saved."""
    return PROBE_DIR / f"{name.replace('/', '-')}.json"


def saved_probe(name):
    """Give the last probe of a run or blend (a dict with 'fits', 'minutes', 'limit_minutes'), or None."""
    return read_json_file(probe_file(name)) or None


def time_limit():
    """Give (limit minutes, margin) from project.yml's submit section."""
    submit = read_project().get("submit") or {}
    limit = submit.get("time_limit_minutes")
    if not isinstance(limit, (int, float)) or limit <= 0:
        raise UserError("project.yml has no submit.time_limit_minutes (the notebook's limit, from the competition's "
                        "Code Requirements: 540 for 9 hours, 90 in BirdCLEF). Fix: add\nsubmit:\n"
                        "  time_limit_minutes: 540")
    return float(limit), float(submit.get("probe_margin", DEFAULT_MARGIN))


def test_samples(cfg, deep, sample_size, folder):
    """Write two samples of the run's test set into folder (a quarter of the larger, and the larger); give
    [(path, size)], the unit and the public test set's size."""
    spec = cfg["data"]
    where = data_dir(spec)
    if spec.get("test", "test.csv") is None:  # audio: every recording matching data.test_audio, timed in hours
        import soundfile

        pattern = Path(spec["test_audio"])
        files = sorted((where / pattern.parent).glob(pattern.name))
        if not files:
            raise UserError(f"no test recording matches {rel(where / pattern)}: nothing to time.")
        hours = {path: soundfile.info(str(path)).duration / 3600 for path in files}
        if sum(hours.values()) * 3600 < LOOPED_SECONDS[-1]:
            return looped_samples(files[0], folder), "hours of audio", sum(hours.values())
        samples = []
        largest = min(sample_size or SAMPLE_SIZES["recordings"], len(files))
        for k, n in enumerate(sorted({max(1, largest // 4), largest})):
            sample = folder / f"sample{k}"
            sample.mkdir()
            for path in files[:n]:
                (sample / path.name).symlink_to(path)
            samples.append((sample, sum(hours[p] for p in files[:n])))
        return samples, "hours of audio", sum(hours.values())
    test = read_table(where / spec["test"], spec.get("id"))
    public_rows = len(test)
    largest = sample_size or SAMPLE_SIZES["deep" if deep else "tabular"]
    if not deep and len(test) < largest:  # copies of the rows, each with ids of its own
        copies = [test.assign(**{spec["id"]: test[spec["id"]].astype(str) + f"~{k}"}) if k else test
                  for k in range(-(-largest // len(test)))]
        test = __import__("pandas").concat(copies, ignore_index=True)
    largest = min(largest, len(test))
    samples = []
    for k, n in enumerate(sorted({max(1, largest // 4), largest})):
        path = folder / f"sample{k}" / Path(spec["test"]).name
        path.parent.mkdir()
        if path.suffix in (".parquet", ".pq"):
            test.head(n).to_parquet(path, index=False)
        else:
            test.head(n).to_csv(path, index=False)
        samples.append((path, n))
    return samples, "rows", public_rows


def looped_samples(path, folder):
    """Give [(folder, hours)] of two recordings made of `path` played over and over, LOOPED_SECONDS long: a public test
    set of a few seconds shows the start of predicting, not what an hour costs."""
    import numpy as np
    import soundfile

    wave, rate = soundfile.read(str(path), always_2d=True)
    samples = []
    for k, seconds in enumerate(LOOPED_SECONDS):
        frames = int(seconds * rate)
        (folder / f"sample{k}").mkdir()
        looped = np.tile(wave, (-(-frames // len(wave)), 1))[:frames]
        # a second at a time: libsndfile 1.2 (soundfile 0.12) crashes writing minutes of Vorbis in one call
        with soundfile.SoundFile(str(folder / f"sample{k}" / path.name), "w", rate, wave.shape[1]) as out:
            for start in range(0, frames, rate):
                out.write(looped[start:start + rate])
        samples.append((folder / f"sample{k}", seconds / 3600))
    return samples


def time_command(command, env, folder):
    """Give the seconds `command` took, from its start to its predictions written."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise UserError(f"predicting the sample failed, so nothing was timed:\n{done.stdout[-2000:]}"
                        f"{done.stderr[-3000:]}")
    return seconds


def probe(args):
    target = probe_target(args)
    limit, margin = time_limit()
    margin = args.margin or margin
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if target.device == "cpu":  # what the notebook has: predict_blend.py's runs would otherwise pick a GPU seen here
        env["CUDA_VISIBLE_DEVICES"] = ""
    with tempfile.TemporaryDirectory(prefix="probe-") as scratch:
        folder = Path(scratch)
        samples, unit, public = test_samples(target.cfg, target.deep, args.sample_size, folder)
        files = (data_dir(target.cfg["data"]) / (target.cfg["data"].get("test") or "x")).parent
        print(f"timing {target.what} on {target.device} ({os.cpu_count()} cores here), on "
              f"{' and '.join(amount(n, unit) for _, n in samples)} of the test set ...", flush=True)
        points = [(n, time_command(predict_command(target, path, files, folder), env, folder)) for path, n in samples]
    start, rate = fit_time(points)
    test_size = args.test_size if args.test_size is not None else public
    minutes = estimate_minutes(start, rate, test_size, margin)
    fits = minutes <= limit
    measured = ", ".join(f"{amount(n, unit)} in {t:.1f} s" for n, t in points)
    print(f"{measured}: {start:.1f} s to start + {rate:.4g} s per {unit.split()[0].rstrip('s')}")
    print(f"{target.name} on {amount(test_size, unit)}"
          f"{'' if args.test_size is not None else ' (the public test set; give --test-size for the hidden one)'}: "
          f"{minutes / margin:,.1f} min, x{margin:g} margin = {minutes:,.1f} min of the {limit:g}-minute limit: "
          f"{'fits' if fits else 'DOES NOT FIT'}")
    result = {"run": target.name, "device": target.device, "predicted": rel(target.root), "onnx": target.onnx,
              "openvino": target.openvino,
              "unit": unit, "points": points, "start_seconds": start, "seconds_per_unit": rate, "test_size": test_size,
              "margin": margin, "minutes": minutes, "limit_minutes": limit, "fits": fits,
              "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    PROBE_DIR.mkdir(parents=True, exist_ok=True)
    write_atomically(probe_file(target.name),
                     lambda tmp: tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8"))
    if not fits:
        print(f"`notebook {target.name} --push` will refuse it (--force pushes anyway). Faster: fewer folds, a smaller "
              "model, or ONNX on the CPU (package --onnx).")
    return 0 if fits else 1


def check_probe_before_push(name, force):
    """Raise UserError when the last probe of the run or blend `name` says its notebook will not fit the time limit
    (unless force)."""
    saved = saved_probe(name)
    if saved is None:
        print(f"note: no time probe of {name}; estimate its minutes first with: python scripts/kaggle_cli.py "
              f"probe {name} --test-size N")
    elif not saved.get("fits") and not force:
        raise UserError(f"the probe of {name} ({rel(probe_file(name))}) estimates {saved['minutes']:,.1f} "
                        f"minutes on {amount(saved['test_size'], saved['unit'])}, over the "
                        f"{saved['limit_minutes']:g}-minute limit. Fix: make it faster and probe again, or push "
                        "anyway with --force.")


def add_probe_arguments(sub):
    sub.add_argument("target", help="expNNN/runNNN, or blendNNN (its predict_blend.py, which predicts each run)")
    sub.add_argument("--test-size", type=float,
                     help="the hidden test set's size: rows (tables, images, texts) or hours of audio (a folder of "
                          "recordings); default: the public test set's")
    sub.add_argument("--device", help="where to time it: cpu or cuda (default: the notebook's, project.yml)")
    sub.add_argument("--sample-size", type=int,
                     help="test rows (or recordings) of the larger sample timed; the other is a quarter of it "
                          f"(default: {SAMPLE_SIZES['tabular']:,} rows of a tabular run, {SAMPLE_SIZES['deep']} of "
                          f"others, {SAMPLE_SIZES['recordings']} recordings)")
    sub.add_argument("--margin", type=float, help=f"the estimate is multiplied by it (default: submit.probe_margin "
                                                  f"in project.yml, else {DEFAULT_MARGIN})")
    sub.add_argument("--slug", help="slug of the dataset made by package, when you gave package --slug")
