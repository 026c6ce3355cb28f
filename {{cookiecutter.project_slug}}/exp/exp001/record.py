"""A run's record: its folder's life (partial, done, failed), provenance, and optional W&B tracking.

A record folder runNNN/ appears only once the run is complete: the run writes into a hidden
.runNNN.partial/ and is renamed at the end, to runNNN.failed/ if it did not finish.

Before that, a process claims the run (a hidden .runNNN.claim/ folder, see `claim`), so that
processes sharing the output folder, on one machine or several, never train the same run at once.

Provenance answers "which code made this result?" months later: the git commit (and the
uncommitted diff), the experiment's sources as they were, versions, command line and seed.
"""
import functools
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from importlib import metadata

from util import (EXP_DIR, EXP_NAME, OUTPUT_DIR, ROOT, ConfigError, log, now, parse_yaml, read_json, rel, write_atomic,
                  write_json)


def start(out_root, name):
    """Give an empty hidden folder for a run to write into."""
    partial = out_root / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # left by a run that was killed
    partial.mkdir(parents=True)
    return partial


def publish(partial, out_root, name, status, keep_old=True):
    """Move a finished record into place, keeping any record it replaces unless keep_old is False (debug)."""
    final = out_root / (name if status == "done" else f"{name}.failed")
    if status == "done" and final.exists() and keep_old:  # only with --force: keep the old result, never lose it
        kept = out_root / f"{name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
        while kept.exists():
            kept = kept.with_name(kept.name + "x")
        final.rename(kept)
        log.info(f"previous {name} kept as {kept.name}")
    elif final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    if status == "done":
        shutil.rmtree(out_root / f"{name}.failed", ignore_errors=True)


# Sections that do not change a run's result: editing them leaves finished runs valid.
NOT_RESULT_KEYS = ("debug", "wandb")


def status_of(out_root, name, update, config):
    """Give (status, status.json) of a run's record: done, changed, stale, failed, interrupted or not run.

    changed: the run's snippet in RUNS differs from the one it ran with;
    stale: config.yml changed since, so the record no longer matches what the run would train.
    """
    done = out_root / name
    if (done / "status.json").is_file():
        status = read_json(done / "status.json")
        if parse_yaml((done / "config_update.yml").read_text(encoding="utf-8"), str(done)) != update:
            return "changed", status
        ran_with = parse_yaml((done / "config.yml").read_text(encoding="utf-8"), str(done))
        if without(ran_with, NOT_RESULT_KEYS) != without(config, NOT_RESULT_KEYS):
            return "stale", status
        return "done", status
    failed = out_root / f"{name}.failed"
    if (failed / "status.json").is_file():
        status = read_json(failed / "status.json")
        return status["status"], status
    return "not run", {}


def without(config, keys):
    return {k: v for k, v in config.items() if k not in keys}


# ---------------------------------------------------------------- claims: one process per run

# A claim from another machine counts as abandoned when it has not been refreshed for this many
# seconds (its owner refreshes it every quarter of that). On this machine, a dead pid is enough.
CLAIM_TIMEOUT = float(os.environ.get("KAGGLE_EXP_CLAIM_TIMEOUT") or 300)
HOST = socket.gethostname()


class Claim:
    """A run this process holds: the claim folder, refreshed by a background thread until released."""

    def __init__(self, folder, token):
        self.folder, self.token = folder, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh, name=f"claim {folder.name}", daemon=True)
        self._thread.start()

    def _refresh(self):
        interval = max(0.05, min(30.0, CLAIM_TIMEOUT / 4))
        while not self._stop.wait(interval):
            try:
                os.utime(self.folder / "owner.json")  # the mtime is the heartbeat other machines read
            except OSError:
                return

    def release(self):
        """Remove the claim, unless another process has taken it over meanwhile."""
        self._stop.set()
        owner = read_owner(self.folder)
        if owner is None or owner.get("token") == self.token:
            shutil.rmtree(self.folder, ignore_errors=True)


def claim(out_root, name):
    """Give (Claim or None, note): the run claimed for this process, or None and who holds it.

    Creating a directory is atomic, also on NFS, so of many processes exactly one gets it.
    The note says who is running it, or that an abandoned claim was taken over.
    """
    folder = out_root / f".{name}.claim"
    out_root.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    try:
        folder.mkdir()
    except FileExistsError:
        owner, age = read_owner(folder), claim_age(folder)
        if not is_abandoned(owner, age):
            return None, f"{name}: {describe_owner(owner)}"
        try:  # only one process may take an abandoned claim over: the one that creates takeover/
            (folder / "takeover").mkdir()
        except FileExistsError:
            if claim_age(folder / "takeover") < CLAIM_TIMEOUT:
                return None, f"{name}: being taken over by another process"
            shutil.rmtree(folder / "takeover", ignore_errors=True)  # left by a process killed while taking over
            return claim(out_root, name)
        except FileNotFoundError:  # released just now
            return claim(out_root, name)
        now_owner = read_owner(folder)
        if now_owner != owner and not is_abandoned(now_owner, claim_age(folder)):  # another process took it over first
            shutil.rmtree(folder / "takeover", ignore_errors=True)
            return None, f"{name}: {describe_owner(now_owner)}"
        write_owner(folder, token)
        shutil.rmtree(folder / "takeover", ignore_errors=True)
        return Claim(folder, token), f"{name}: taking over the claim of {describe_owner(owner, live=False)}"
    write_owner(folder, token)
    return Claim(folder, token), None


def holder(out_root, name):
    """Give 'running in pid 1234 on host-a since 10:32' when a live process holds the run, else None."""
    folder = out_root / f".{name}.claim"
    if not folder.is_dir():
        return None
    owner = read_owner(folder)
    return None if is_abandoned(owner, claim_age(folder)) else describe_owner(owner)


def write_owner(folder, token):
    owner = {"host": HOST, "pid": os.getpid(), "pid_started": pid_started(os.getpid()), "token": token,
             "started": now()}
    write_atomic(folder / "owner.json", json.dumps(owner) + "\n")


def read_owner(folder):
    try:
        return json.loads((folder / "owner.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not written yet, or being removed
        return None


def claim_age(folder):
    """Give the seconds since the claim was last refreshed (its owner.json, else the folder itself); 0 when gone."""
    for path in (folder / "owner.json", folder):
        try:
            return time.time() - path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def is_abandoned(owner, age):
    """Tell whether a claim's owner is gone: a dead pid on this machine, else no refresh for CLAIM_TIMEOUT."""
    if owner is not None and owner.get("host") == HOST:
        return not pid_alive(owner.get("pid"), owner.get("pid_started"))
    return age > CLAIM_TIMEOUT  # another machine, or a claim whose owner.json is not written yet


def pid_alive(pid, started):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError, OverflowError):
        return True
    # The same pid may belong to a new process since: compare start times where the system tells them.
    return started is None or pid_started(pid) in (None, started)


def pid_started(pid):
    """Give the start time of process `pid` in clock ticks since boot (Linux), or None."""
    try:
        return int(open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def describe_owner(owner, live=True):
    """Give 'running in pid 1234 on host-a since 10:32' (live) or 'pid 1234 on host-a (gone)'."""
    if owner is None:
        return "being claimed by another process" if live else "a process that never finished claiming it"
    try:
        since = datetime.fromisoformat(owner["started"]).astimezone().strftime("%H:%M")
    except (KeyError, TypeError, ValueError):
        since = "?"
    who = f"pid {owner.get('pid')} on {owner.get('host')}"
    return f"running in {who} since {since}" if live else f"{who}, gone (claimed at {since})"


@functools.lru_cache(maxsize=None)
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
    for name in ("numpy", "pandas", "scikit-learn", "lightgbm", "PyYAML", "pyarrow", "matplotlib", "wandb"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages}


def snapshot_sources(dest):
    """Copy this experiment's code and config as they are now into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in EXP_DIR.iterdir():
        if path.is_file() and path.suffix in (".py", ".yml", ".yaml", ".md"):
            (dest / path.name).write_bytes(path.read_bytes())


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
        **environment(),
    })
    if git["diff"]:
        (run_dir / "git.diff").write_text(git["diff"], encoding="utf-8")


# ---------------------------------------------------------------- W&B tracking (optional)

def check_tracking(cfg):
    """Raise ConfigError before any run when W&B is on and required but not installed."""
    settings = cfg.get("wandb") or {}
    if not settings.get("enabled"):
        return
    try:
        import wandb  # noqa: F401
    except ImportError:
        if settings.get("required", True):
            raise ConfigError(
                "config.yml: wandb.enabled is true but wandb is not installed. "
                "Fix: pip install wandb, or set wandb.enabled: false, or wandb.required: false to run untracked."
            ) from None
        log.warning("wandb is not installed: running untracked (wandb.required is false)")


def start_tracking(cfg, run_name):
    """Give a W&B run for this run when wandb.enabled is true and wandb is installed, else None."""
    settings = cfg.get("wandb") or {}
    if not settings.get("enabled"):
        return None
    try:
        import wandb
    except ImportError:
        return None
    folder = OUTPUT_DIR / "wandb"  # never inside exp/, so new_exp.py copies no tracker files
    folder.mkdir(parents=True, exist_ok=True)
    return wandb.init(
        project=settings.get("project") or ROOT.name, entity=settings.get("entity"), mode=settings.get("mode", "offline"),
        group=EXP_NAME, name=f"{EXP_NAME}/{run_name}", config=cfg, dir=str(folder),
    )


def finish_tracking(tracker, metrics, run_dir):
    """Send fold scores, CV and the importance chart to W&B (none when the run failed), and close the W&B run."""
    if tracker is None:
        return
    import wandb

    if metrics is None:
        tracker.finish(exit_code=1)
        return
    for k, value in enumerate(metrics["folds"]):
        tracker.log({f"fold/{metrics['metric']}": value, "fold": k})
    tracker.summary.update({f"cv/{metrics['metric']}": metrics["cv"], "cv/std": metrics["cv_std"], "cv/oof": metrics["oof"]})
    if (run_dir / "importance.png").is_file():
        tracker.log({"importance": wandb.Image(str(run_dir / "importance.png"))})
    # Tie the record to its W&B run, so either can be found from the other.
    write_json(run_dir / "wandb.json", {"id": tracker.id, "project": tracker.project, "group": tracker.group,
                                        "name": tracker.name, "dir": rel(tracker.dir), "offline": tracker.offline})
    tracker.finish()
