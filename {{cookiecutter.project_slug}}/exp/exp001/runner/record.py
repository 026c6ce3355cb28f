"""A run's record: its folder's life (partial, done, failed) and its provenance.

A record folder runNNN/ appears only once the run is complete: the run writes into a hidden
.runNNN.partial.<host>.<pid>.<claim>/ of its own and is renamed at the end, to runNNN.failed/ if it did not finish.

Before that, a process claims the run (claims.py), so that processes sharing the output folder
never train the same run at once; W&B tracking is in tracking.py.

Provenance answers "which code made this result?" months later: the git commit (and the
uncommitted diff), the experiment's sources as they were, versions, command line and seed.
"""
import functools
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from . import claims
from .util import EXP_DIR, EXP_NAME, ROOT, ConfigError, log, now, write_json


def start(out_root, name, token=None):
    """Give an empty hidden folder for this process to write a run into, its own: named by its host, pid and claim.

    Two processes may both believe they hold a run (one paused past the claim timeout, or hosts with
    different timeouts): each writes only into its own folder, so a record is never a mix of two.
    Another process's folder is removed only when that process is dead on this host.
    """
    remove_dead_partials(out_root, name)
    partial = out_root / f".{name}.partial.{claims.HOST}.{os.getpid()}.{(token or 'unclaimed')[:8]}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


# What processes leave beside the records while they work, never state a later session needs: a run's claim and
# each process's partial folder (.run002.claim/, .run002.partial.<host>.<pid>.<token>/). The one definition, for
# every place that tells them from records and resume state (the README's Kaggle state filter reads it here).
TRANSIENT = re.compile(r"\.[^.]+\.(claim|partial)(\..+)?")


def is_transient(folder_name):
    """True for the name of a claim or a partial folder: work in progress, not a record nor resume state."""
    return TRANSIENT.fullmatch(folder_name) is not None


def partials(out_root, name):
    """Give (folder, host, pid) for each partial folder of run `name`; host and pid are None when its name tells
    neither."""
    found = []
    for folder in out_root.glob(f".{name}.partial*"):
        parts = folder.name[len(f".{name}.partial."):].rsplit(".", 2)  # host (may hold dots), pid, token
        known = folder.name != f".{name}.partial" and len(parts) == 3 and parts[1].isdigit()
        found.append((folder, parts[0] if known else None, int(parts[1]) if known else None))
    return found


def remove_dead_partials(out_root, name):
    """Remove the partial folders of run `name` left by dead processes of this host (and the earlier layout's one)."""
    for folder, host, pid in partials(out_root, name):
        if host is None or (host == claims.HOST and pid != os.getpid() and not claims.pid_alive(pid, None)):
            shutil.rmtree(folder, ignore_errors=True)


def publish(partial, out_root, name, status, keep_old=True):
    """Move a finished record into place (NAME/, NAME.failed/, or NAME.pruned/ for a --tune trial), keeping any record
    it replaces unless keep_old is False (debug)."""
    final = out_root / (name if status == "done" else f"{name}.{'pruned' if status == 'pruned' else 'failed'}")
    if status == "done" and final.exists() and keep_old:  # only with --force: keep the old result, never lose it
        kept = out_root / f"{name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
        while kept.exists():
            kept = kept.with_name(kept.name + "x")
        final.rename(kept)
        log.info(f"previous {name} kept as {kept.name}")
    elif final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    if _LAST_SNAPSHOT.get("folder") == partial / "src":  # the next run links its sources from their new place
        _LAST_SNAPSHOT["folder"] = final / "src"
    if status == "done":
        shutil.rmtree(out_root / f"{name}.failed", ignore_errors=True)


# Sections that do not change a run's result: editing them leaves finished runs valid.
NOT_RESULT_KEYS = ("debug", "wandb", "tune")


def without(config, keys):
    return {k: v for k, v in config.items() if k not in keys}


def git_state():
    """Give the commit, dirty flag and uncommitted diff of the project, once per process."""
    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "diff": "", "note": "git is not installed"}
    if head.returncode != 0:
        return {"commit": None, "dirty": None, "diff": "", "note": "not a git repository, or no commit yet"}
    status = git("status", "--porcelain", "--untracked-files=no").stdout
    diff = git("diff", "HEAD").stdout if status.strip() else ""
    return {"commit": head.stdout.strip(), "dirty": bool(status.strip()), "diff": diff}


@functools.lru_cache(maxsize=None)
def environment():
    """Give the Python and package versions, once per process."""
    packages = {}
    for name in ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "catboost", "PyYAML", "pyarrow",
                 "pillow", "matplotlib", "wandb", "torch", "torchvision", "timm", "optuna"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages}


# What a record's src/ keeps: the experiment's own code, config and notes, in every subfolder.
SOURCE_SUFFIXES = (".py", ".yml", ".yaml", ".md")


@functools.lru_cache(maxsize=None)
def sources():
    """Give {path relative to the experiment: bytes} of this experiment's code and config, read once per process.

    Once is also what is true: this process runs the code it imported and the config it read at its
    start, whatever is edited on disk while its runs train. A symlink is kept only when it points
    inside the experiment, so no file from elsewhere on the machine ever lands in a record.
    """
    found = {}
    for folder, subfolders, files in os.walk(EXP_DIR):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "__pycache__"))
                               and inside_experiment(here / d))
        for name in sorted(files):
            path = here / name
            if path.suffix in SOURCE_SUFFIXES and not name.startswith(".") and inside_experiment(path):
                found[path.relative_to(EXP_DIR).as_posix()] = path.read_bytes()
    return found


def check_sources():
    """Read the experiment's code and config now (sources), and raise ConfigError when a file holds a credential."""
    from . import leaks

    prefix = EXP_DIR.relative_to(ROOT).as_posix()
    problem = leaks.credential_problem({f"{prefix}/{name}": text for name, text in sources().items()}, ROOT)
    if problem:
        raise ConfigError(problem)


def inside_experiment(path):
    """True unless `path` is a symlink that leads out of the experiment's folder."""
    return not path.is_symlink() or path.resolve().is_relative_to(EXP_DIR.resolve())


_LAST_SNAPSHOT = {}  # "folder": this process's last src/, "stamps": {file name: (size, mtime) as written}


def snapshot_sources(dest):
    """Write this experiment's code and config, as this process read them, into `dest`.

    A file still exactly as this process's previous run saved it becomes a hard link to it: the same
    bytes, and creating a file costs five times a link here, 21 files a run. So the records of one
    process share their src/ files: a record is history, never edit one in place.
    """
    dest.mkdir(parents=True, exist_ok=True)
    previous, stamps = _LAST_SNAPSHOT.get("folder"), _LAST_SNAPSHOT.get("stamps", {})
    saved = {}
    for name, content in sources().items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if previous is not None and stamp(previous / name) == stamps.get(name):
            try:
                os.link(previous / name, path)
                saved[name] = stamps[name]
                continue
            except OSError:  # no hard links on this file system, or the file went meanwhile: write it
                pass
        path.write_bytes(content)
        saved[name] = stamp(path)
    _LAST_SNAPSHOT.update(folder=dest, stamps=saved)


def stamp(path):
    """Give (size, modification time in ns) of `path`, or None when it is gone: what tells a file unchanged."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def write_provenance(run_dir, cfg, started, argv):
    """Record what made this run: code, commit, versions, command line, seed, times."""
    git = git_state()
    write_json(run_dir / "provenance.json", {
        "exp": EXP_NAME,
        "run": run_dir.name.strip(".").split(".")[0],
        "command": [sys.executable, *argv],
        "seed": cfg.get("seed"),
        "started": started,
        "finished": now(),
        "git": {k: git[k] for k in ("commit", "dirty")} | ({"note": git["note"]} if "note" in git else {}),
        # the GPUs it saw (--gpus gives each worker one)
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        **environment(),
    })
    if git["diff"]:
        (run_dir / "git.diff").write_text(git["diff"], encoding="utf-8")
