"""Resume: a run that stopped (Ctrl-C, SIGTERM, SIGUSR1, kill -9, a lost machine) goes on where it stopped.

While a run trains, the lab keeps what it needs to continue in a hidden .runNNN.resume/ folder beside
the records (the tabular lab: each finished fold). The next process that claims the run hands that
folder back to the lab, which skips what is done. The folder is tied to the run's config and code
(resume.json): when either changed since, the old state is set aside (kept, renamed), never mixed in,
and the run starts clean. --fresh, --force and --debug start clean too. The folder is removed when
the run is published, done or failed; only a run that was stopped keeps it.

The lab says how far it got in progress.json: {"unit": "fold", "done": 2, "of": 5}.
"""
import hashlib
import json
import shutil
import time

from .util import TakenOver, log, read_json, rel, write_json


def folder_of(out_root, name):
    return out_root / f".{name}.resume"


def fingerprint(run):
    """Give {"config": digest, "code": {file: digest}}: the run its saved state belongs to.

    exp.py and config.yml are left out of the code: what they say about this run is its merged config,
    so appending a run to RUNS leaves the others resumable. Notes (.md) change no result.
    """
    from .record import NOT_RESULT_KEYS, sources, without

    config = json.dumps(without(run.config, NOT_RESULT_KEYS), sort_keys=True, default=str)
    code = {name: digest(content) for name, content in sources().items()
            if name not in ("exp.py", "config.yml") and not name.endswith(".md")}
    return {"config": digest(config.encode()), "code": code}


def digest(content):
    return hashlib.sha256(content).hexdigest()[:16]


def progress(folder):
    """Give the lab's progress.json when some of the run is done (a fold, or an epoch of one), else None."""
    try:
        state = read_json(folder / "progress.json")
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and (state.get("done") or state.get("epoch")) else None


def describe(state):
    """Give 'resuming at fold 3 (folds 1-2 done)', or 'resuming at fold 3, epoch 7 (folds 1-2 done)'.

    `epoch` (labs that checkpoint inside a fold, like the image lab) counts the epochs the current fold finished.
    """
    unit, total = state.get("unit", "step"), state.get("of")
    done, epoch = int(state.get("done") or 0), int(state.get("epoch") or 0)
    if total and done >= total:
        return f"resuming with every {unit} done ({unit}s 1-{done} done)"
    if done:
        finished = f"{unit} 1 done" if done == 1 else f"{unit}s 1-{done} done"
    else:
        finished = f"epoch 1 of {unit} 1 done" if epoch == 1 else f"epochs 1-{epoch} of {unit} 1 done"
    return f"resuming at {unit} {done + 1}" + (f", epoch {epoch + 1}" if epoch else "") + f" ({finished})"


def changes(saved, wanted):
    """Give what differs between two fingerprints, e.g. 'config and code (train.py)'; '' when nothing."""
    saved = saved if isinstance(saved, dict) else {}
    parts = ["config"] if saved.get("config") != wanted["config"] else []
    old, new = saved.get("code") or {}, wanted["code"]
    files = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
    if files:
        parts.append(f"code ({', '.join(files[:4])}{', ...' if len(files) > 4 else ''})")
    return " and ".join(parts)


def read_fingerprint(folder):
    try:
        return read_json(folder / "resume.json")
    except (OSError, ValueError):
        return None


def prepare(out_root, run, fresh=None, claim=None):
    """Give the folder the lab keeps this run's state in: an earlier process's state when still valid, else empty.

    `fresh` names the option that asks for a clean start (--fresh, --force, --debug), or is None. `claim` is this
    process's hold on the run: the lab calls still_ours(folder) before each write into the folder.
    """
    folder = folder_of(out_root, run.name)
    _CLAIMS[folder] = claim
    wanted = fingerprint(run)
    if folder.is_dir():
        state = progress(folder)
        changed = changes(read_fingerprint(folder), wanted) if state else ""
        if state is None:  # stopped before anything was done
            shutil.rmtree(folder)
        elif fresh:
            shutil.rmtree(folder)
            log.info(f"{run.name}: {fresh}: "
                     f"starting clean (the state of the stopped run, {done_text(state)}, is removed)")
        elif changed:
            aside = set_aside(folder)
            log.info(f"{run.name}: its {changed} changed since it stopped, so it starts clean; its saved state "
                     f"({done_text(state)}) is kept in {rel(aside)}/")
        else:
            log.info(f"{run.name}: {describe(state)}")
            return folder
    folder.mkdir(parents=True)
    write_json(folder / "resume.json", wanted)
    return folder


# The claim each resume folder is written under, in this process (a run at a time, or a trial of --tune).
_CLAIMS = {}


def still_ours(folder):
    """Raise TakenOver when another process has taken the run over: the saved state is that process's from then on.

    The labs call it before every write into the resume folder (a fold, an epoch). The folder is made only here,
    under the claim, and the labs never make it again: a taken-over process finds it gone once the run is
    published, and writes nothing beside the records.
    """
    claim = _CLAIMS.get(folder)
    if claim is not None and not claim.is_ours():
        raise TakenOver(f"taken over by another process while this one trained it: its saved state in {rel(folder)}/ "
                        "is the other process's, so this process stops writing it")


def done_text(state):
    return describe(state).split("(")[-1].rstrip(")")


def set_aside(folder):
    """Rename a state that no longer matches its run to .runNNN.resume.set-aside-<date>-<time>; give the new path."""
    aside = folder.with_name(f"{folder.name}.set-aside-{time.strftime('%Y%m%d-%H%M%S')}")
    while aside.exists():
        aside = aside.with_name(aside.name + "x")
    folder.rename(aside)
    return aside


def keep(out_root, name):
    """Keep the state of a stopped run and say so; remove it when nothing was done yet."""
    folder = folder_of(out_root, name)
    state = progress(folder) if folder.is_dir() else None
    if state:
        log.info(f"{name}: {done_text(state)}, kept in {rel(folder)}/: the same command goes on from there")
    else:
        remove(out_root, name)


def remove(out_root, name):
    """Remove a run's state; called once the run is published, so a kill in between loses nothing."""
    shutil.rmtree(folder_of(out_root, name), ignore_errors=True)


def outlook(out_root, run):
    """Give what the next start of a run does with its saved state, for --list; None when it has none."""
    folder = folder_of(out_root, run.name)
    state = progress(folder) if folder.is_dir() else None
    if state is None:
        return None
    changed = changes(read_fingerprint(folder), fingerprint(run))
    return f"starts clean: its {changed} changed since it stopped" if changed else describe(state)
