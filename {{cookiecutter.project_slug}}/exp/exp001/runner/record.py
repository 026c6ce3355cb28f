"""A run's record: its folder's life (partial, done, failed) and its provenance.

A record folder runNNN/ appears only once the run is complete: the run writes into a hidden
.runNNN.partial.<host>.<pid>.<claim>/ of its own and is renamed at the end, to runNNN.failed/ if it did not finish.

Before that, a process claims the run (claims.py), so that processes sharing the output folder
never train the same run at once; W&B tracking is in tracking.py.

Provenance answers "which code made this result?" months later: the git commit (and the
uncommitted diff), the experiment's sources as they were, versions, command line and seed.
"""
import errno
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
from .util import EXP_DIR, EXP_NAME, ROOT, ConfigError, log, now, read_json, write_json


def start(out_root, name, token=None):
    """Give an empty hidden folder for this process to write a run into, its own: named by its host, pid and claim.

    Two processes may both believe they hold a run (one paused past the claim timeout, or hosts with
    different timeouts): each writes only into its own folder, so a record is never a mix of two.
    """
    remove_dead_partials(out_root, name, token)
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
    """Give (folder, host, pid, token) for each partial folder of run `name` (token: the first 8 characters of its
    claim's); host, pid and token are None when its name tells none."""
    found = []
    for folder in out_root.glob(f".{name}.partial*"):
        parts = folder.name[len(f".{name}.partial."):].rsplit(".", 2)  # host (may hold dots), pid, token
        known = folder.name != f".{name}.partial" and len(parts) == 3 and parts[1].isdigit()
        found.append((folder, *((parts[0], int(parts[1]), parts[2]) if known else (None, None, None))))
    return found


def remove_dead_partials(out_root, name, token=None):
    """Remove the partial folders of run `name` that no live holder of the run will finish.

    Those of dead processes of this host go always. Once this process holds the run's claim (`token`), every
    claimed partial of another process goes too, on any host: its process is dead, or paused and taken over, and
    what it would still write there is discarded (it finds its folder gone, and its claim not its own).
    """
    for folder, host, pid, owner in partials(out_root, name):
        lost = token is not None and owner not in (None, "unclaimed", token[:8])
        if host is None or lost or (host == claims.HOST and pid != os.getpid() and not claims.pid_alive(pid, None)):
            shutil.rmtree(folder, ignore_errors=True)


def claim_of(folder):
    """Give the claim token recorded in a record's status.json (which process made it), or None."""
    try:
        return read_json(folder / "status.json").get("claim")
    except (OSError, ValueError, AttributeError):
        return None


def publish(partial, out_root, name, status, keep_old=True, replaces=None):
    """Move a finished record into place (NAME/, NAME.failed/, or NAME.pruned/ for a --tune trial); give False, and
    remove `partial`, when another process's record got there first.

    A done record replaces an older one only with --force, which is kept (NAME.replaced-<date>-<time>/) unless
    keep_old is False (debug). `replaces` is the claim of the record there when this run started: a record made
    since is another owner's (this process was paused and taken over), so it stays and this one is dropped. Each
    step is a rename onto a name that must not exist, so a stale owner cannot overwrite, whenever it wakes.
    """
    final = out_root / (name if status == "done" else f"{name}.{'pruned' if status == 'pruned' else 'failed'}")
    if not partial.is_dir():  # removed by a process that took the run over: the run is that one's
        return False
    if final.exists() and not (status == "done" and keep_old):  # a debug run's, or a failed attempt's
        shutil.rmtree(final)
    elif final.exists():  # only with --force: keep the old result, never lose it
        kept = out_root / f"{name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
        while kept.exists():
            kept = kept.with_name(kept.name + "x")
        final.rename(kept)
        if claim_of(kept) != replaces:  # set aside a newer owner's record: put it back and step away
            rename_if_free(kept, final)
            shutil.rmtree(partial, ignore_errors=True)
            return False
        log.info(f"previous {name} kept as {kept.name}")
    if not rename_if_free(partial, final):
        shutil.rmtree(partial, ignore_errors=True)
        return False
    if _LAST_SNAPSHOT.get("folder") == partial / "src":  # the next run links its sources from their new place
        _LAST_SNAPSHOT["folder"] = final / "src"
    if status == "done":
        shutil.rmtree(out_root / f"{name}.failed", ignore_errors=True)
    return True


def rename_if_free(source, target):
    """Rename a folder onto a name nobody holds; give False when a folder is there already (never replaced)."""
    try:
        if target.exists():
            return False
        source.rename(target)  # onto an empty folder made meanwhile it succeeds; onto a record it fails
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True


# Sections that do not change a run's result: editing them leaves finished runs valid.
NOT_RESULT_KEYS = ("debug", "wandb", "tune")


def without(config, keys):
    return {k: v for k, v in config.items() if k not in keys}


@functools.lru_cache(maxsize=None)
def git_state():
    """Give the commit, dirty flag and uncommitted diff of the project, once per process.

    Once, as sources() reads the code once: the process runs the code it started with, so every record it makes
    has the same commit and diff (its two git commands took 5 to 8 ms of every tiny run).
    """
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


PACKAGES = ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "catboost", "PyYAML", "pyarrow", "pillow",
            "matplotlib", "wandb", "torch", "torchvision", "timm", "optuna")


@functools.lru_cache(maxsize=None)
def environment():
    """Give the Python and package versions, once per process."""
    installed = installed_versions()
    packages = {}
    for name in PACKAGES:
        version = installed.get(normalized(name))
        if version == "":  # an egg-info folder without a version in its name: ask its metadata
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = None
        packages[name] = version
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages}


def installed_versions():
    """Give {normalized name: version} of the installed packages, read from their metadata folders' names.

    `name-1.2.dist-info` says the version in its name, as pip, uv and conda write it; the first on sys.path wins,
    as for import. importlib.metadata.version() parses each package's whole METADATA file instead: 15 of them
    took 25 to 80 ms of every process. An egg-info folder without a version in its name gives "".
    """
    found = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip file, or a folder that is gone
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if suffix in ("dist-info", "egg-info"):
                project, _, version = stem.partition("-")
                found.setdefault(normalized(project), version.split("-")[0])
    return found


def normalized(name):
    """Give a package's name as its metadata folder may spell it, compared alike: PyYAML, pyyaml, scikit_learn."""
    return re.sub(r"[-_.]+", "_", name).lower()


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
