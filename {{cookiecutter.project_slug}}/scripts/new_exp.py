"""Start a new experiment as a copy of an old one: exp/expNNN -> exp/expNNN+1.

    python scripts/new_exp.py                      copy the highest-numbered experiment
    python scripts/new_exp.py --from exp003        copy exp003 instead
    python scripts/new_exp.py --idea "target encoding of cat columns"
    python scripts/new_exp.py --to exp010          pick the new number yourself

The copy holds the same files byte for byte (config.yml, exp.py with its RUNS, model.py, ...),
so `diff -ru exp/expOLD exp/expNEW` shows exactly what you change. Caches, tracker folders
and outputs stay behind, and a fresh NOTES.md records where the experiment came from.
An existing folder is never overwritten. Several calls at once each get their own number: the
number is claimed by creating its folder, the copy is made in a hidden folder beside it, and
only the complete copy is renamed into place.
"""
import argparse
import ast
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
import time

from helpers.atomic_files import temporary_name
from helpers.project import EXP_ROOT, RECORDS_ROOT, UserError, rel
from helpers.stale import print_stale

EXP_NAME = re.compile(r"exp(\d{3,})")

# Left behind: caches, notebooks' autosaves, trackers' and runs' outputs, and the parent's notes
# (the new experiment gets its own NOTES.md).
IGNORED = ["__pycache__", ".ipynb_checkpoints", "*.pyc", "*.pyo", ".DS_Store",
           "wandb", "data", "output", "outputs", "NOTES.md"]


def exp_name(number):
    """Give the folder name of experiment `number`: exp004, exp1000."""
    return f"exp{number:03d}"


def exp_number(name):
    """Give the number in an experiment name, or None when it is not one (exp003 -> 3)."""
    match = EXP_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def list_experiments(complete=True):
    """Give {number: folder} of every exp/expNNN folder, in number order (exp1000 after exp999).

    complete=True leaves out a folder another new_exp.py has claimed but not filled yet (no exp.py).
    """
    found = {}
    if EXP_ROOT.is_dir():
        for path in EXP_ROOT.iterdir():
            number = exp_number(path.name)
            if number is not None and path.is_dir() and (not complete or (path / "exp.py").is_file()):
                found[number] = path
    return dict(sorted(found.items()))


def used_numbers():
    """Give every experiment number in use, counting run records whose experiment folder was deleted."""
    numbers = set(list_experiments(complete=False))
    if RECORDS_ROOT.is_dir():
        # A reused number would mix the old run records with the new experiment's runs.
        numbers |= {n for n in map(exp_number, (p.name for p in RECORDS_ROOT.iterdir())) if n is not None}
    return numbers


def parse_exp(text, option):
    """Give the number in 'exp003', 'exp3' or '3'; `option` names the flag for the error message."""
    match = re.fullmatch(r"(?:exp/)?(?:exp)?(\d+)/?", text.strip())
    if not match:
        raise UserError(f"{option} {text}: not an experiment name. Write it like exp003.")
    return int(match.group(1))


def choose_source(experiments, wanted):
    """Give the folder to copy: the one named by --from, else the highest-numbered."""
    if not experiments:
        raise UserError(f"no experiment to copy: {rel(EXP_ROOT)} has no expNNN folder.")
    if wanted is None:
        return experiments[max(experiments)]
    number = parse_exp(wanted, "--from")
    if number not in experiments:
        names = ", ".join(p.name for p in experiments.values())
        raise UserError(f"--from {wanted}: there is no {rel(EXP_ROOT / exp_name(number))}. Experiments: {names}.")
    return experiments[number]


def choose_target(wanted):
    """Give the new folder, claimed for this process: the one named by --to, else the next free number.

    The folder is claimed by creating it (atomic: of two calls at once, one gets it), empty until
    the complete copy replaces it.
    """
    for _ in range(1000):
        number = max(used_numbers(), default=0) + 1 if wanted is None else parse_exp(wanted, "--to")
        target = EXP_ROOT / exp_name(number)
        records = RECORDS_ROOT / target.name
        if wanted is not None and records.exists():
            raise UserError(f"{rel(records)} already holds run records of an earlier {target.name}; "
                            "a new experiment with that number would be mixed up with them. "
                            "Fix: leave out --to to take the next free number, or move those records away.")
        try:
            target.mkdir(parents=True)
            return target
        except FileExistsError:
            if wanted is not None:
                raise UserError(f"{rel(target)} already exists; it is never overwritten. "
                                "Fix: leave out --to to take the next free number, or pick another one.") from None
            # another new_exp.py took this number a moment ago: take the next one
    raise UserError(f"could not claim a free experiment number in {rel(EXP_ROOT)}; run the command again.")


def copy_experiment(source, target, idea):
    """Copy the experiment's files (not its caches) into the claimed, empty `target`, whole or not at all."""
    hidden = temporary_name(target)
    try:
        # copytree copies real files for symlinks (symlinks=False), so the copy is independent.
        shutil.copytree(source, hidden, ignore=shutil.ignore_patterns(*IGNORED))
        write_notes(source, hidden, target.name, idea)
        os.rename(hidden, target)  # replaces the empty claimed folder in one step
    except BaseException as e:  # a full disk, Ctrl-C or SIGTERM: nothing half-made stays behind
        shutil.rmtree(hidden, ignore_errors=True)
        with_reason = f" ({e.strerror})" if getattr(e, "strerror", None) else f" ({e})"
        try:
            target.rmdir()  # give the number back, unless something was put there meanwhile
        except OSError:
            pass
        if not isinstance(e, OSError):
            raise
        raise UserError(f"could not copy {rel(source)} to {rel(target)}{with_reason}; nothing was created. "
                        "Fix: check the disk and the folder's permissions, then run the command again.") from None


def clean_leftovers(min_age=60):
    """Remove what an interrupted or killed new_exp.py left: its hidden copy, and the empty folder it had claimed.

    A hidden copy is named .expNNN.<host>.<pid>.<id>.tmp: it is left over when that pid on this host is gone
    (an hour old, for another host). An empty expNNN/ is left over once no live copy is being made for it and
    it is min_age seconds old (a new_exp.py claims the folder a moment before it starts the copy).
    """
    if not EXP_ROOT.is_dir():
        return
    host, now = socket.gethostname(), time.time()
    live = set()
    for path in EXP_ROOT.glob(".exp*.tmp"):
        match = re.fullmatch(r"\.(exp\d{3,})\.(.+)\.(\d+)\.[0-9a-f]+\.tmp", path.name)
        if not match:
            continue
        name, owner, pid = match.group(1), match.group(2), int(match.group(3))
        gone = not pid_alive(pid) if owner == host else now - path.stat().st_mtime > 3600
        if gone:
            shutil.rmtree(path, ignore_errors=True)
            print(f"removed {rel(path)}, left by an interrupted new_exp.py")
        else:
            live.add(name)
    for number, path in list_experiments(complete=False).items():
        if path.name not in live and not any(path.iterdir()) and now - path.stat().st_mtime > min_age:
            with contextlib.suppress(OSError):
                path.rmdir()
                print(f"removed the empty {rel(path)}/, claimed by an interrupted new_exp.py")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def write_notes(source, folder, name, idea):
    """Write NOTES.md into `folder` for experiment `name`: where it came from, and lines for the idea and the result."""
    parent_notes = " (its notes: " + rel(source / "NOTES.md") + ")" if (source / "NOTES.md").is_file() else ""
    text = (
        f"# {name}\n\n"
        f"from {source.name}{parent_notes}\n"
        f"see the changes: diff -ru exp/{source.name} exp/{name}\n\n"
        f"- idea: {idea or '<what this experiment changes and why>'}\n"
        "- result: <best run, CV, public LB; keep it or not, and why>\n"
    )
    (folder / "NOTES.md").write_text(text, encoding="utf-8")


def count_runs(exp_py):
    """Give how many snippets the RUNS list in exp.py holds, or None when it cannot tell."""
    try:
        tree = ast.parse(exp_py.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:  # read, not run: importing exp.py would import the experiment's code
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RUNS" for t in node.targets):
            return len(node.value.elts) if isinstance(node.value, (ast.List, ast.Tuple)) else None
    return None


def print_next_steps(source, target, idea=None):
    runs = count_runs(target / "exp.py")
    inherited = "the runs" if runs is None else f"{runs} run" + ("" if runs == 1 else "s")
    print(f"created exp/{target.name} from exp/{source.name}\n")
    print("next:")
    if idea:
        print(f"  1. the idea is in exp/{target.name}/NOTES.md; write the result there when the runs are done")
    else:
        print(f"  1. write the idea in exp/{target.name}/NOTES.md (or pass --idea \"...\" next time)")
    print(f"  2. change the code or config.yml in exp/{target.name}/; see what changed with:")
    print(f"       diff -ru exp/{source.name} exp/{target.name}")
    print(f"  3. edit RUNS at the top of exp/{target.name}/exp.py: it still lists {source.name}'s {inherited},")
    print(f"     which would all be trained again as {target.name}/run001, ... (keep the ones worth comparing)")
    print(f"  4. python exp/{target.name}/exp.py")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", metavar="EXP",
                        help="experiment to copy, e.g. exp003 (default: the highest-numbered)")
    parser.add_argument("--to", dest="target", metavar="EXP",
                        help="name of the new experiment (default: the next free number)")
    parser.add_argument("--idea", help="one line for NOTES.md: what this experiment tries")
    return parser.parse_args(argv)


def stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM (`timeout`, a closed terminal) unwinds like Ctrl-C, so copy_experiment removes what it started.
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        clean_leftovers()
        source = choose_source(list_experiments(), args.source)
        target = choose_target(args.target)
        copy_experiment(source, target, args.idea)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print("interrupted: nothing was created", file=sys.stderr)
        return 143 if str(e) == "SIGTERM" else 130
    print_next_steps(source, target, args.idea)
    print_stale()
    return 0


if __name__ == "__main__":
    sys.exit(main())
