"""What to run: RUNS parsed, merged over config.yml and checked, the runs --run picks, and their status.

Every run is checked before any training, so a typo in run007 stops the command before run001 trains.
A finished run whose snippet was edited (changed) or whose config.yml has changed since (stale) stops
it too: its record would no longer say how it was made. --list and --dry-run show the plan and stop.
"""
import functools
import sys
import textwrap
from dataclasses import dataclass

from . import util
from .config import flatten, merge_update, parse_yaml, short
from .util import ConfigError, log

RUNS_EXAMPLE = 'RUNS = [\n    """\n    model:\n      params:\n        num_leaves: 4\n    """,\n]'


@dataclass
class Run:
    name: str        # run001
    snippet: str     # the YAML text from RUNS, dedented
    update: dict     # the snippet parsed
    config: dict     # config.yml with the snippet merged in
    debug: bool = False  # --debug: a scratch record, on a sample of rows
    n_rows: int = None   # --debug: train on a sample of this many rows

    @functools.cached_property
    def config_text(self):
        """Give the config as the record's config.yml holds it, dumped once per process."""
        return util.yaml_text(self.config)


def check_runs_list(runs):
    """Raise ConfigError unless RUNS is a non-empty list of YAML snippets (text)."""
    how = f"Write it as a list of YAML snippets in triple quotes, one per run:\n{RUNS_EXAMPLE}"
    if isinstance(runs, str) or not isinstance(runs, (list, tuple)):
        kind = "one text" if isinstance(runs, str) else f"a {type(runs).__name__}"
        raise ConfigError(f"exp.py: RUNS is {kind}, not a list of snippets. {how}")
    if not runs:
        raise ConfigError("exp.py: RUNS is empty, so there is nothing to run. Add a snippet for each run; "
                          f"an empty snippet (\"\"\"\"\"\") trains config.yml as it is:\n{RUNS_EXAMPLE}")
    for i, raw in enumerate(runs, 1):
        if not isinstance(raw, str):
            raise ConfigError("exp.py: "
                              f"RUNS item {i} (run{i:03d}) is {short(raw)}, not a YAML snippet in quotes. {how}")


def plan_runs(runs_list, source, base, debug=False):
    """Give every run in RUNS parsed, merged and checked, so a typo stops us before any training."""
    check_runs_list(runs_list)
    try:  # a mistake in config.yml itself is blamed on config.yml, not on run001
        check_config(base, "config.yml")
        base_problem = None
    except ConfigError as e:
        base_problem = e
    runs = []
    for i, raw in enumerate(runs_list, 1):
        name = f"run{i:03d}"
        start = source.find(raw)  # where the snippet sits in exp.py, for error line numbers
        # The snippet's first line is the one after the newlines that follow the opening quotes.
        leading = len(raw) - len(raw.lstrip("\n"))
        first_line = source.count("\n", 0, start) + 1 + leading if start >= 0 else 1
        where = f"{name} (exp.py)" if start >= 0 else f"{name} (its snippet)"
        snippet = textwrap.dedent(raw).strip("\n")
        update = parse_yaml(snippet, where, first_line=first_line)
        try:
            config = merge_update(base, update, name)
            if debug:  # quick and untracked
                if "num_boost_round" in config["debug"]:  # an image lab reads debug.epochs itself
                    config["model"]["num_boost_round"] = min(config["model"]["num_boost_round"],
                                                             config["debug"]["num_boost_round"])
                config["wandb"]["enabled"] = False
            check_config(config, name)
        except ConfigError as problem:
            raise (base_problem or problem) from None
        except (KeyError, TypeError):
            raise base_problem or ConfigError(f"{name}: config.yml lacks a section the code reads (model, debug or "
                                              "wandb). Fix: add it back to config.yml.") from None
        runs.append(Run(name, snippet, update, config, debug,
                        (config.get("debug") or {}).get("n_rows") if debug else None))
    return runs


def check_config(config, where):
    import train

    try:
        train.check_config(config, where)
    except KeyError as e:  # a key the code reads was deleted from config.yml
        raise ConfigError(f"{where}: no key {e.args[0]!r}, which the code reads. "
                          "Fix: add it back to config.yml (see the config.yml of an earlier experiment).") from None


def select_runs(runs, spec):
    """Give the runs named by --run: '2,3', 'run002', '1-3'; all runs when spec is None."""
    if spec is None:  # --run "" names no run: refused below, not read as all of them
        return runs
    chosen = []
    for part in spec.split(","):
        part = part.strip().lower().replace("run", "")
        try:
            low, _, high = part.partition("-")
            low, high = int(low), int(high or low)
        except ValueError:
            raise ConfigError(f"--run {spec}: cannot read {part!r}. Write numbers like 2,3 or run002 or 1-3.") from None
        if high < low:
            raise ConfigError(f"--run {spec}: the range {low}-{high} runs backwards, so it names no run. "
                              f"Fix: write the smaller number first, --run {high}-{low}.")
        for n in range(low, high + 1):
            if not 1 <= n <= len(runs):
                raise ConfigError(f"--run {spec}: there is no run{n:03d}; RUNS has run001 to run{len(runs):03d}.")
            if all(run.name != runs[n - 1].name for run in chosen):
                chosen.append(runs[n - 1])
    return chosen


def read_states(runs, out_root):
    """Give {run name: (status, status.json)} of every run's record, read once."""
    from . import staleness

    return {run.name: staleness.status_of(out_root, run) for run in runs}


def check_unchanged(out_root, states, force, selected=None):
    """Refuse to train a selected run whose finished record no longer matches its snippet or config.yml: it would lie.

    `selected`: the names of the runs this command trains (None: all of RUNS). Stale runs it does not train are
    named in a warning only, so `--run 5` trains run005 while run001-004 wait to be redone. A changed snippet is
    refused whatever is asked: RUNS was edited or reordered, so run numbers may no longer mean what they did.
    """
    mismatched = {name: state for name, state in states.items() if state in ("changed", "stale", "unreadable")}
    if force or not mismatched:
        return
    asked = {name: state for name, state in mismatched.items()
             if selected is None or name in selected or state != "stale"}
    if not asked:
        log.warning(f"warning: {run_ranges(mismatched)} no longer match their records: config.yml changed since (see "
                    "--list); this command does not train them. Redo them with --force, or start a new experiment.")
        return
    changed = [name for name, state in asked.items() if state == "changed"]
    stale = [name for name, state in asked.items() if state == "stale"]
    unreadable = [name for name, state in asked.items() if state == "unreadable"]
    where = util.rel(out_root)
    if unreadable:
        raise ConfigError(
            f"{', '.join(unreadable)}: the status.json of the record cannot be read (see --list), so whether it "
            f"finished is unknown. Fix: restore it (from git or a backup), or move {where}/{unreadable[0]}*/ away, or "
            f"redo it with --force --run {unreadable[0]} (the old record is kept).")
    if changed:
        raise ConfigError(
            f"{', '.join(changed)}: the snippet in RUNS differs from the one saved in "
            f"{' and '.join(f'{where}/{n}/config_update.yml' for n in changed[:3])}"
            f"{' ...' if len(changed) > 3 else ''} "
            "(the RUNS list was edited or reordered). Fix: restore the old snippet and append the new one at the end "
            f"of RUNS, or redo it with --force --run {changed[0]} (the old record is kept as "
            f"{changed[0]}.replaced-<date>-<time>)."
        )
    raise ConfigError(
        f"{', '.join(stale)}: config.yml has changed since these runs were made (compare it with "
        f"{where}/{stale[0]}/config.yml), so their records no longer match. Fix: start a new experiment for the "
        f"change (python scripts/new_exp.py), or redo them with --force (old records are kept as "
        f"{stale[0]}.replaced-<date>-<time> and so on), or move {where}/ away if those results are not worth keeping. "
        "A key added to config.yml with null (or its off value) leaves finished runs as they are."
    )


def other_code(runs, states, out_root):
    """Give the names of the finished runs whose record's code differs from the code this process runs."""
    from .staleness import code_digest, recorded_code_digest

    today = code_digest()
    return [run.name for run in runs if states[run.name][0] == "done"
            and recorded_code_digest(out_root / run.name, states[run.name][1]) not in (today, None)]


def tell_other_code(names, out_root):
    """Log, once at the start, which finished runs were trained with other code than today's, and how to see it."""
    if names:
        where = util.rel(out_root)
        log.info(f"note: {run_ranges(names)} {'was' if len(names) == 1 else 'were'} trained with other code than "
                 f"today's: python scripts/diff_runs.py {util.EXP_NAME}/{names[0]} {util.EXP_NAME}/<a new run> shows "
                 f"it (their code is in {where}/{names[0]}/src/). "
                 "New runs train with today's code; --force redoes old ones.")


def run_ranges(names):
    """Give run names as short ranges: run001-003, run007."""
    numbers = sorted(int(name[3:]) for name in names)
    parts, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"run{start:03d}" + (f"-{n:03d}" if n != start else ""))
            start = None
    return ", ".join(parts)


def check_writable(out_root):
    """Raise ConfigError, once and before any training, when the output folder cannot be written."""
    folder = out_root
    while not folder.exists() and folder != folder.parent:  # nothing is created here: a later error leaves no trace
        folder = folder.parent
    probe = util.temporary_name(folder / "write-test")
    try:
        probe.open("x").close()
        probe.unlink()
    except OSError as e:
        raise ConfigError(f"cannot write to {util.rel(out_root)}/ ({e.strerror or e}). No run was started. "
                          "Fix: "
                          "make data/output/ writable (or free some space), then run the same command again.") from None


# ---------------------------------------------------------------- showing the plan

def describe_update(run):
    """Give a run's changes on one line, e.g. model.params.num_leaves=4."""
    return ", ".join(f"{k}={v}" for k, v in flatten(run.update).items()) or "(base config)"


def show_list(runs, states, out_root):
    from . import claims
    from . import resume

    older = set(other_code(runs, states, out_root))
    for run in runs:
        status, detail = states[run.name]
        score = f" {detail['metric']}={detail['cv']:.5f}" if status == "done" else ""
        running = None if status == "done" else claims.holder(out_root, run.name)
        if running:
            status, score = "running", f" ({running.removeprefix('running ')})"
        elif status != "done" and (outlook := resume.outlook(out_root, run)):
            score = f" {outlook}"  # resuming at fold 3 (folds 1-2 done)
        note = "  (trained with other code: scripts/diff_runs.py shows it)" if run.name in older else ""
        print(f"{run.name}  {status:<11}{score}  {describe_update(run)}{note}")
    for run in runs:  # named once, below the list that still shows every other run
        if states[run.name][0] == "unreadable":
            print(f"warning: {states[run.name][1]['error']}. Fix: restore it, or redo {run.name} with --force.",
                  file=sys.stderr)


def show_dry_run(runs, base, done=()):
    flat_base = flatten(base)
    for run in runs:
        print(f"{run.name}:" + ("  done: skipped (--force to redo)" if run.name in done else ""))
        changes = flatten(run.update)
        for key, value in changes.items():
            print(f"  {key}: {flat_base.get(key, '(new)')} -> {value}")
        if not changes:
            print("  (the base config as it is)")
