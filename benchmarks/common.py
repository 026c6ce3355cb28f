"""Shared steps of the benchmarks: bake a project, edit its runs and config, time a command.

Standard library plus PyYAML (a requirement of the generated project anyway).
"""
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

BENCH_DIR = Path(__file__).resolve().parent
TEMPLATE = BENCH_DIR.parent
# git-ignored. BENCH_WORK=<folder> moves it: file creation in a folder that a file watcher (an editor,
# a sync client) follows can cost 10 times as much, and a run creates about 30 files.
WORK = Path(os.environ["BENCH_WORK"]).resolve() if os.environ.get("BENCH_WORK") else BENCH_DIR / "work"
SYNTH_DIR = WORK / "synthetic"  # the 1M-row CSVs, shared by bench_scale.py and bench_runs.py
ENV = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")


# ---------------------------------------------------------------- the project under test

def bake_project(name):
    """Give the path of a project freshly generated from the template into benchmarks/work/<name>/."""
    require("cookiecutter")
    out = WORK / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(out), str(TEMPLATE),
         "verify_example=no"],
        check=True, capture_output=True, text=True, env=ENV,
    )
    (project,) = [p for p in out.iterdir() if p.is_dir()]
    return project


def require(module, package=None):
    """Exit with the install command when `module` is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        sys.exit(f"this benchmark needs {package or module}: pip install {package or module}")


def commit_project(project):
    """Put the project under git with everything committed, as a user's repository would be.

    Without its own repository, provenance would look up the template's repository around benchmarks/work/.
    """
    def git(*args):
        subprocess.run(["git", "-C", str(project), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
                        *args],
                       check=True, capture_output=True)

    if not (project / ".git").exists():
        git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", "benchmark setup")


def set_runs(project, snippets):
    """Replace the RUNS list in exp/exp001/exp.py by these YAML snippets, one per run."""
    path = project / "exp" / "exp001" / "exp.py"
    source = path.read_text(encoding="utf-8")
    match = re.search(r"^RUNS = \[\n.*?^\]\n", source, flags=re.S | re.M)
    if not match:
        sys.exit(f"{path}: cannot find the 'RUNS = [ ... ]' block; the benchmark needs it to set the runs.")
    body = "".join('    """\n' + indent(s.strip("\n"), "    ") + '\n    """,\n' for s in snippets)
    path.write_text(source[: match.start()] + "RUNS = [\n" + body + "]\n" + source[match.end():], encoding="utf-8")


def indent(text, prefix):
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def edit_config(project, changes):
    """Merge `changes` (nested dict) into exp/exp001/config.yml; give the new config.

    Keys must exist already, except under model.params, which goes to the model as it is.
    """
    path = project / "exp" / "exp001" / "config.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))

    def merge(into, update, prefix):
        for key, value in update.items():
            if key not in into and prefix != "model.params.":
                sys.exit(f"{path}: no key {prefix}{key}; the benchmark expects the template's config.yml layout.")
            if isinstance(value, dict):
                merge(into[key], value, f"{prefix}{key}.")
            else:
                into[key] = value

    merge(config, changes, "")
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return config


def use_data(project, folder):
    """Point the project's data/input/ at the CSVs in `folder` (symlinks: the files are large)."""
    inputs = project / "data" / "input"
    for old in inputs.glob("*.csv"):
        old.unlink()
    for csv in sorted(Path(folder).glob("*.csv")):
        (inputs / csv.name).symlink_to(csv)


def clear_outputs(project):
    """Remove every run record and saved fold file, so the next run starts like a user's first."""
    out = project / "data" / "output"
    for child in out.iterdir():
        if child.name != ".gitkeep":
            shutil.rmtree(child) if child.is_dir() else child.unlink()


# ---------------------------------------------------------------- measuring

@dataclass
class Measurement:
    seconds: float     # wall time
    cpu: float         # user + system seconds of the command and its children
    peak_mib: float    # peak resident memory of the command (largest process)
    others: float      # CPU seconds that other processes on the machine used meanwhile

    def disturbed(self):
        """Tell whether other processes took more than a tenth of the machine while this ran."""
        return self.others > 0.1 * self.seconds * (os.cpu_count() or 1)


def busy_seconds():
    """Give the CPU seconds the whole machine has been busy since boot (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(limit=300, threshold=0.25):
    """Wait (up to `limit` seconds) until other processes use under `threshold` of one core.

    The machine may be shared; a benchmark measured beside someone's test suite says little.
    """
    waited = 0
    while waited < limit:
        before = busy_seconds()
        time.sleep(2)
        waited += 2
        if (busy_seconds() - before) / 2 < threshold:
            return waited
    print(f"  (the machine stayed busy for {limit} s; measuring anyway, marked as disturbed)", flush=True)
    return waited


def measure(command, cwd=None, log_path=None, quiet_limit=300, env=None):
    """Run `command` and give its Measurement.

    Exits with the command's output when it fails, so a broken benchmark never prints a figure.
    """
    # BENCH_QUIET_LIMIT=<seconds> overrides the wait: on a machine that stays busy, waiting only adds time.
    quiet_limit = float(os.environ.get("BENCH_QUIET_LIMIT") or quiet_limit or 0)
    if quiet_limit:
        wait_for_quiet(quiet_limit)
    log_file = open(log_path, "w") if log_path else subprocess.DEVNULL
    try:
        busy, start = busy_seconds(), time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=dict(ENV, **(env or {})), stdout=log_file,
                                stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds, busy = time.perf_counter() - start, busy_seconds() - busy
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log_path:
            log_file.close()
    if proc.returncode != 0:
        tail = "\n".join(Path(log_path).read_text().splitlines()[-30:]) if log_path else "(no log kept)"
        sys.exit(f"command failed with exit code {proc.returncode}: {' '.join(map(str, command))}\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    # ru_maxrss is in KiB on Linux: the largest process among the command and its waited-for children.
    return Measurement(seconds, cpu, usage.ru_maxrss / 1024, max(0.0, busy - cpu))


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def median(values):
    return statistics.median(values)


# ---------------------------------------------------------------- the machine

def machine_report(packages=("numpy", "pandas", "scikit-learn", "lightgbm", "PyYAML", "pyarrow", "matplotlib",
                             "cookiecutter")):
    """Give a few lines naming the machine, Python and package versions, for the printed report."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                           if line.startswith("MemTotal")).split()[1])
        memory = f"{mem_kib / 1024 ** 2:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown"
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return (f"machine: {os.cpu_count()} cores ({cpu}), {memory} memory, {platform.platform()}\n"
            f"python {sys.version.split()[0]}; " + ", ".join(versions)
            + f"\ndate: {time.strftime('%Y-%m-%d %H:%M %Z')}")


def table(rows, header):
    """Give rows of strings aligned in columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


# ---------------------------------------------------------------- the synthetic competition

SYNTH_ROWS, SYNTH_TEST_ROWS, SYNTH_FEATURES = 1_000_000, 200_000, 50


def make_synthetic(folder=SYNTH_DIR, rows=SYNTH_ROWS, test_rows=SYNTH_TEST_ROWS, n_features=SYNTH_FEATURES, seed=0):
    """Give the folder of a binary competition: train.csv (id, f00..f49, target), test.csv, sample_submission.csv.

    Written once and reused: the files are about 0.5 GB and take a minute to write.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv

    folder = Path(folder)
    stamp = folder / "SHAPE"
    shape = f"{rows} {test_rows} {n_features} {seed}\n"
    if stamp.is_file() and stamp.read_text() == shape:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"writing the synthetic data ({rows:,} + {test_rows:,} rows x {n_features} features) to {folder} ...",
          flush=True)
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=n_features) * (rng.random(n_features) < 0.4)  # most features are noise

    def frame(n, first_id):
        X = rng.normal(size=(n, n_features)).round(4)  # 4 decimals: file size like a typical Kaggle CSV
        logit = X @ weights + 0.8 * X[:, 0] * X[:, 1] - 0.5 * np.abs(X[:, 2])
        target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        columns = {"id": np.arange(first_id, first_id + n)} | {f"f{j:02d}": X[:, j] for j in range(n_features)}
        return pd.DataFrame(columns), target

    train, target = frame(rows, 0)
    train["target"] = target
    test, _ = frame(test_rows, rows)
    for name, df in (("train.csv", train), ("test.csv", test),
                     ("sample_submission.csv", pd.DataFrame({"id": test["id"], "target": 0.5}))):
        pa.csv.write_csv(pa.Table.from_pandas(df, preserve_index=False), folder / name,
                         pa.csv.WriteOptions(quoting_style="none"))
    stamp.write_text(shape)
    return folder
