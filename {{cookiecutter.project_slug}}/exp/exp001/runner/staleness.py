"""A finished run's status, and what makes it no longer match the experiment: a config that trains otherwise, or
other code.

A stale run (config.yml changed what it would train) must be redone or moved to a new experiment before
the runs of RUNS go on; a run trained with other code is only named (scripts/diff_runs.py shows the
change), since code is edited on purpose while an experiment grows.
"""
import functools
import hashlib

from .config import flatten, parse_yaml
from .record import NOT_RESULT_KEYS, SOURCE_SUFFIXES, sources
from .util import read_json, rel


def status_of(out_root, run):
    """Give (status, status.json) of a run's record: done, changed, stale, failed, interrupted or not run.

    changed: the run's snippet in RUNS differs from the one it ran with;
    stale: config.yml changed since in a way that changes what the run would train (staleness.config_differs).
    """
    done = out_root / run.name
    if (done / "status.json").is_file():
        try:  # a hand-edited or cut-short status.json: named, not a traceback
            status = read_json(done / "status.json")
            status.get("status")
        except (OSError, ValueError, AttributeError) as e:
            return "unreadable", {"status": "unreadable", "error": f"{rel(done / 'status.json')} cannot be read ({e})"}
        # A file that holds to the letter what run_one writes needs no parsing: parsing took 1.6 ms a
        # record, paid for every finished run by each summary and each start.
        update_text = (done / "config_update.yml").read_text(encoding="utf-8")
        if update_text != run.snippet + "\n" and parse_yaml(update_text, str(done)) != run.update:
            return "changed", status
        config_text = (done / "config.yml").read_text(encoding="utf-8")
        if config_text != run.config_text and config_differs(parse_yaml(config_text, str(done)), run.config):
            return "stale", status
        return "done", status
    failed = out_root / f"{run.name}.failed"
    if (failed / "status.json").is_file():
        try:
            status = read_json(failed / "status.json")
            return status["status"], status
        except (OSError, ValueError, KeyError, TypeError) as e:
            return "unreadable", {"status": "unreadable",
                                  "error": f"{rel(failed / 'status.json')} cannot be read ({e})"}
    return "not run", {}


def config_differs(recorded, current):
    """True when the merged config a run was trained with differs from today's in what changes its result.

    Sections of NOT_RESULT_KEYS never count. A key added since (absent from the record) does not count
    while its value keeps the old behaviour: null, or the value the lab declares neutral for it
    (train.neutral_values(), e.g. augment.mixup: 0). A changed or removed key counts.
    """
    old, new = result_keys(recorded), result_keys(current)
    neutral = neutral_values()
    added = [key for key in new if key not in old and (new[key] is None or neutral.get(key, object()) == new[key])]
    return old != {key: value for key, value in new.items() if key not in added}


def result_keys(config):
    return {key: value for key, value in flatten(config).items() if key.split(".")[0] not in NOT_RESULT_KEYS}


@functools.lru_cache(maxsize=None)
def neutral_values():
    """Give the lab's {dotted key: the value that keeps a key added to config.yml from changing results}, or {}."""
    import train

    return dict(train.neutral_values()) if hasattr(train, "neutral_values") else {}


@functools.lru_cache(maxsize=None)
def code_digest():
    """Give one digest of the code this process runs: the experiment's files but exp.py, config.yml and notes.

    A finished run's status.json keeps the digest of its code; a different one tells that it was trained
    with other code than today's (exp.py and config.yml say what a run is, and are compared as its config).
    """
    return code_digest_of(sources())


def code_digest_of(files):
    """Give the digest of {relative path: bytes} of an experiment's code, as code_digest counts it."""
    digest = hashlib.sha256()
    for name in sorted(files):
        if name not in ("exp.py", "config.yml") and not name.endswith(".md"):
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:16]


def recorded_code_digest(folder, status):
    """Give the code digest of a finished run: from its status.json, or (records made before it was kept) its src/."""
    if status.get("code"):
        return status["code"]
    src = folder / "src"
    if not src.is_dir():
        return None
    files = {path.relative_to(src).as_posix(): path.read_bytes() for path in src.rglob("*")
             if path.is_file() and path.suffix in SOURCE_SUFFIXES}
    return code_digest_of(files)
