"""Paths, files, logging and seeds for this experiment, and the two errors shown as messages.

The lab imports these too (log, ConfigError, DataError, rel, ...). Nothing here knows about models
or data; reading and merging the config is in config.py.
"""
import difflib
import json
import logging
import random
import sys
from datetime import datetime, timezone
from pathlib import Path

import yaml

# PyYAML's C emitter, when it was built with it, is many times faster.
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

EXP_DIR = Path(__file__).resolve().parents[1]
EXP_NAME = EXP_DIR.name
# exp/expNNN/runner/util.py -> the project root, whatever the current directory is.
ROOT = EXP_DIR.parents[1]
OUTPUT_DIR = ROOT / "data" / "output"

log = logging.getLogger("exp")


class ConfigError(Exception):
    """A mistake in config.yml or in a RUNS snippet: shown as a message, not a traceback."""


class DataError(Exception):
    """A missing file or column in the input data: shown as a message, not a traceback."""


class TakenOver(Exception):
    """Raised when another process has taken this process's run over (it was paused past its claim): what this
    process would write for the run from then on is the other's to write."""


class Pruned(Exception):
    """Raised by --tune's report(fold, score) to stop a trial whose folds so far are hopeless; `folds` holds their
    scores."""

    def __init__(self, message, folds):
        super().__init__(message)
        self.folds = folds


def closest(name, names):
    """Give ' (did you mean X?)' for the name in `names` closest to `name`, ignoring case; '' when none is close."""
    by_lower = {str(c).lower(): str(c) for c in names}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.7)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


# ---------------------------------------------------------------- paths, files

def rel(path):
    """Give `path` relative to the project root when it is inside it, for short messages."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def yaml_text(value):
    return yaml.dump(value, Dumper=YAML_DUMPER, sort_keys=False, allow_unicode=True)


def write_json(path, value):
    Path(path).write_text(json.dumps(value, indent=2, default=str) + "\n", encoding="utf-8")


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def now():
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def seed_everything(seed):
    """Seed Python's own generator; the lab seeds its libraries (numpy, torch) in train.run."""
    random.seed(seed)


# ---------------------------------------------------------------- logging

def setup_logging():
    """Send the experiment's messages to the console; each run adds its own log file."""
    if log.handlers:
        return
    log.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(console)
    log.propagate = False


_SAID = set()  # messages already logged by notice


def notice(message, level=logging.INFO):
    """Log `message` once per process: runs sharing data need not repeat it."""
    if message not in _SAID:
        _SAID.add(message)
        log.log(level, message)


def add_log_file(path):
    """Start copying every console message into `path`; give the handler to remove later."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    return handler


def remove_log_file(handler):
    log.removeHandler(handler)
    handler.close()


# ---------------------------------------------------------------- files shared between processes

def temporary_name(path):
    """Give a hidden name beside `path`, unique to this process, to write into before renaming it into place.

    A fixed name (path.tmp) would be written by two processes at once; the host and pid keep
    processes on different machines that share the folder apart too.
    """
    import os
    import socket
    import uuid

    path = Path(path)
    return path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def write_atomic(path, content):
    """Write text or bytes to `path` so that readers see the old file or the whole new one, never a part."""
    import os

    tmp = temporary_name(path)
    try:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
