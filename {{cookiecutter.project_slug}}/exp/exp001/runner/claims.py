"""Claims: one process per run, whichever process, machine or GPU starts it.

Before a run starts, its process claims it by creating a hidden .runNNN.claim/ folder beside the
records, with owner.json saying who holds it. Creating a folder is atomic, also on NFS, so of many
processes sharing the output folder, on one machine or several, exactly one trains the run. The
owner refreshes owner.json while the run trains; a claim whose owner died is taken over.
"""
import json
import os
import shutil
import socket
import threading
import time
import uuid
from datetime import datetime

from .util import now, write_atomic


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

    def is_ours(self):
        """Tell whether this process still holds the run: another may have taken the claim over meanwhile."""
        owner = read_owner(self.folder)
        return owner is not None and owner.get("token") == self.token

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


# A claim folder without its owner.json: its process was killed between creating the folder and writing
# the file, which takes microseconds. After this many seconds nobody is about to write it.
OWNERLESS_GRACE = 10.0


def is_abandoned(owner, age):
    """Tell whether a claim's owner is gone: a dead pid on this machine, else no refresh for CLAIM_TIMEOUT."""
    if owner is None:
        return age > min(OWNERLESS_GRACE, CLAIM_TIMEOUT)
    if owner.get("host") == HOST:
        return not pid_alive(owner.get("pid"), owner.get("pid_started"))
    return age > CLAIM_TIMEOUT  # another machine


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

