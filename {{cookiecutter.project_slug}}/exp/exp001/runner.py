"""The run machinery behind exp.py: its command line, planning RUNS, claiming runs, and each run's life.

exp.py says what the experiment tries (its docstring and RUNS); this file trains it. Any number of
processes may run the same experiment at once (shells, GPUs, a Slurm array over a shared folder):
each claims the next run that is neither done nor running, so every run is trained once.
"""
import argparse
import contextlib
import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import util
from util import ConfigError, DataError, log


# Ctrl-C (SIGINT) and SIGTERM (Slurm, timeout, docker stop) both end the current run as "interrupted",
# release its claim and print the summary; no traceback. main() catches them before any slow import
# (pandas, LightGBM and the experiment's own modules are imported inside it).
class Stop(KeyboardInterrupt):
    """Raised in the main thread by Ctrl-C or SIGTERM; the exit code is 128 + the signal number."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Signals:
    received = None   # the first signal number received, if any
    shielded = False  # True while a record or claim is being written: the signal waits until it is done


def on_signal(signum, frame):
    first = Signals.received is None
    if first:
        Signals.received = signum
    if first and not Signals.shielded:  # a second Ctrl-C never breaks the cleanup the first one started
        raise Stop(signum)


# Errors of the file system, not of the code: the run fails with this cause, and the other runs still go.
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG)
RUNS_EXAMPLE = 'RUNS = [\n    """\n    model:\n      params:\n        num_leaves: 4\n    """,\n]'


@contextlib.contextmanager
def shielded():
    """Hold Ctrl-C and SIGTERM back while a record or claim is written, so it is never left half done."""
    before = Signals.shielded
    Signals.shielded = True
    try:
        yield
    finally:
        Signals.shielded = before


def stop_if_signalled():
    if Signals.received is not None:
        raise Stop(Signals.received)


@dataclass
class Run:
    name: str        # run001
    snippet: str     # the YAML text from RUNS, dedented
    update: dict     # the snippet parsed
    config: dict     # config.yml with the snippet merged in
    debug: bool = False  # --debug: a scratch record, on a sample of rows
    n_rows: int = None   # --debug: train on a sample of this many rows


# ---------------------------------------------------------------- planning

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
            raise ConfigError(f"exp.py: RUNS item {i} (run{i:03d}) is {util.short(raw)}, not a YAML snippet in quotes. {how}")


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
        update = util.parse_yaml(snippet, where, first_line=first_line)
        try:
            config = util.merge_update(base, update, name)
            if debug:  # quick and untracked
                config["model"]["num_boost_round"] = min(config["model"]["num_boost_round"], config["debug"]["num_boost_round"])
                config["wandb"]["enabled"] = False
            check_config(config, name)
        except ConfigError as problem:
            raise (base_problem or problem) from None
        except (KeyError, TypeError):
            raise base_problem or ConfigError(f"{name}: config.yml lacks a section the code reads (model, debug or "
                                              "wandb). Fix: add it back to config.yml.") from None
        runs.append(Run(name, snippet, update, config, debug, config["debug"]["n_rows"] if debug else None))
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
    if not spec:
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


def check_unchanged(out_root, states, force):
    """Refuse to go on when any finished run of RUNS no longer matches its snippet or config.yml: its record would lie."""
    changed = [name for name, state in states.items() if state == "changed"]
    stale = [name for name, state in states.items() if state == "stale"]
    if force or not (changed or stale):
        return
    where = util.rel(out_root)
    if changed:
        raise ConfigError(
            f"{', '.join(changed)}: the snippet in RUNS differs from the one saved in "
            f"{' and '.join(f'{where}/{n}/config_update.yml' for n in changed[:3])}{' ...' if len(changed) > 3 else ''} "
            "(the RUNS list was edited or reordered). Fix: restore the old snippet and append the new one at the end of "
            f"RUNS, or redo it with --force --run {changed[0]} (the old record is kept as {changed[0]}.replaced-<date>-<time>)."
        )
    raise ConfigError(
        f"{', '.join(stale)}: config.yml has changed since these runs were made (compare it with "
        f"{where}/{stale[0]}/config.yml), so their records no longer match. Fix: start a new experiment for the "
        f"change (python scripts/new_exp.py), or redo them with --force (old records are kept as "
        f"{stale[0]}.replaced-<date>-<time> and so on), or move {where}/ away if those results are not worth keeping."
    )


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
                          "Fix: make data/output/ writable (or free some space), then run the same command again.") from None


# ---------------------------------------------------------------- one run

def run_one(run, position, out_root, argv):
    """Train one run into a hidden folder, then publish it: runNNN/ when done, runNNN.failed/ if not."""
    import record
    import tracking
    import train

    started, clock = util.now(), time.perf_counter()
    status = {"exp": util.EXP_NAME, "run": run.name, "metric": run.config["metric"], "started": started}
    partial = handler = tracker = metrics = None
    try:
        partial = record.start(out_root, run.name)
        (partial / "config_update.yml").write_text(run.snippet + "\n", encoding="utf-8")
        util.write_yaml(partial / "config.yml", run.config)
        record.snapshot_sources(partial / "src")
        handler = util.add_log_file(partial / "log.txt")
        log.info(f"{util.EXP_NAME}/{run.name} ({position}): {describe_update(run)}")
        util.seed_everything(run.config["seed"])
        tracker = tracking.start_tracking(run.config, run.name)
        metrics = train.run(run.config, partial, run.n_rows)
        status.update(status="done", cv=metrics["cv"])
    except (ConfigError, DataError) as e:
        log.error(f"{run.name} failed: {e}")
        status.update(status="failed", error=str(e))
    except KeyboardInterrupt as e:
        Signals.received = Signals.received or getattr(e, "signum", signal.SIGINT)
        log.error(f"{run.name} interrupted")
        status.update(status="interrupted", error=signal.Signals(Signals.received).name)
    except Exception as e:
        if write_error(e):
            log.error(f"{run.name} failed: {write_error(e, partial or out_root)}")
            status.update(status="failed", error=write_error(e, partial or out_root))
        else:  # the user's training code: keep the whole traceback
            log.error(f"{run.name} failed:\n{traceback.format_exc()}")
            status.update(status="failed", error=f"{type(e).__name__}: {e}")
    finally:
        with shielded():
            finish_record(run, status, partial, out_root, tracker, metrics, handler, argv, clock)
    return status


def finish_record(run, status, partial, out_root, tracker, metrics, handler, argv, clock):
    """Close tracking, write provenance and status.json (last: it marks the record whole), and publish it."""
    import record
    import tracking

    def attempt(step, *args):
        try:
            step(*args)
        except Exception as e:  # a full disk while recording: this run fails, the others still go
            if status["status"] == "done" or "error" not in status:
                status.update(status="failed", error=write_error(e, partial) or f"{type(e).__name__}: {e}")
            log.error(f"{run.name}: {write_error(e, partial) or e}")
            return False
        return True

    if partial is not None:
        attempt(tracking.finish_tracking, tracker, metrics, partial)
        attempt(record.write_provenance, partial, run.config, status["started"], argv)
    status.update(finished=util.now(), seconds=round(time.perf_counter() - clock, 3))
    log.info(f"{run.name} {status['status']} in {status['seconds']:.1f}s")
    if handler is not None:
        util.remove_log_file(handler)
    if partial is None:
        return
    if not attempt(util.write_json, partial / "status.json", status) and (partial / "status.json").exists():
        (partial / "status.json").unlink()  # a half-written status.json must not mark the record whole
    attempt(record.publish, partial, out_root, run.name, status["status"], not run.debug)


def write_error(e, folder=None):
    """Give 'No space left on device while writing data/output/...' for a file-system error, else None."""
    if not isinstance(e, OSError) or e.errno not in WRITE_ERRORS:
        return None
    target = e.filename or folder
    return f"{e.strerror or os.strerror(e.errno)} while writing {util.rel(target) if target else 'the record'}"


def describe_update(run):
    """Give a run's changes on one line, e.g. model.params.num_leaves=4."""
    return ", ".join(f"{k}={v}" for k, v in util.flatten(run.update).items()) or "(base config)"


# ---------------------------------------------------------------- many runs, many processes

def read_states(runs, out_root):
    """Give {run name: (status, status.json)} of every run's record, read once."""
    import record

    return {run.name: record.status_of(out_root, run.name, run.update, run.config) for run in runs}


def train_runs(todo, states, out_root, args, argv, finished, elsewhere):
    """Claim and train each run in `todo` that no other process holds; add their statuses to `finished`.

    `elsewhere` gets the runs other processes hold. Both lists are filled as we go, so an interrupt
    leaves in them what was done until then.
    """
    import claims
    import record

    for i, run in enumerate(todo, 1):
        stop_if_signalled()
        with shielded():  # a claim is made whole or not at all
            held, note = claims.claim(out_root, run.name)
        if held is None:
            log.info(note)
            elsewhere.append(run.name)
            continue
        try:
            if note:
                log.info(note)
            state, detail = record.status_of(out_root, run.name, run.update, run.config)
            if detail != states[run.name][1] or (state == "done" and not (args.force or args.debug)):
                continue  # another process recorded it between our first look and our claim
            status = run_one(run, f"{i}/{len(todo)}", out_root, argv)
            finished.append(status)
        finally:
            with shielded():
                held.release()
        if args.fail_fast and status["status"] != "done":
            break


def run_workers(n, argv, exp_py):
    """Run `exp.py` (without --jobs) in n worker processes over the same claims; give their exit codes."""
    threads = max(1, (os.cpu_count() or 1) // n)
    # Workers split the cores: LightGBM and scikit-learn's OpenMP code follow OMP_NUM_THREADS unless
    # the config sets num_threads / n_jobs; model code may read KAGGLE_EXP_THREADS (util.threads_per_run).
    env = dict(os.environ, KAGGLE_EXP_WORKER="1", KAGGLE_EXP_THREADS=str(threads))
    env.setdefault("OMP_NUM_THREADS", str(threads))
    args = without_jobs(argv)
    log.info(f"--jobs {n}: {n} worker processes, {threads} thread(s) each")
    workers = [subprocess.Popen([sys.executable, str(exp_py), *args], env=env) for _ in range(n)]
    codes = []
    for worker in workers:
        while True:
            try:
                codes.append(worker.wait())
                break
            except KeyboardInterrupt:  # forward SIGTERM (Ctrl-C reaches the workers by itself) and wait for them
                Signals.shielded = True
                for other in workers:
                    with contextlib.suppress(OSError):
                        other.send_signal(Signals.received or signal.SIGINT)
    return codes


def without_jobs(argv):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--jobs":
            skip = True
        elif not a.startswith("--jobs="):
            out.append(a)
    return out


# ---------------------------------------------------------------- what the user sees

def show_list(runs, states, out_root):
    import claims

    for run in runs:
        status, detail = states[run.name]
        score = f" {detail['metric']}={detail['cv']:.5f}" if status == "done" else ""
        running = None if status == "done" else claims.holder(out_root, run.name)
        if running:
            status, score = "running", f" ({running.removeprefix('running ')})"
        print(f"{run.name}  {status:<11}{score}  {describe_update(run)}")


def show_dry_run(runs, base):
    flat_base = util.flatten(base)
    for run in runs:
        print(f"{run.name}:")
        changes = util.flatten(run.update)
        for key, value in changes.items():
            print(f"  {key}: {flat_base.get(key, '(new)')} -> {value}")
        if not changes:
            print("  (the base config as it is)")


def show_summary(statuses, states, out_root):
    """Log one line per run of this call; `<- best` marks the best finished run of the whole experiment."""
    import train

    def rank(s):
        return s["cv"] * (1 if train.METRICS[s["metric"]].higher_is_better else -1)

    done = [detail for state, detail in states.values() if state == "done" and detail.get("metric") in train.METRICS]
    best = max(done, key=rank, default=None)
    log.info(f"summary ({util.rel(out_root)}):")
    for s in statuses:
        score = f"{s['metric']}={s['cv']:.5f}" if s["status"] == "done" else s["status"]
        mark = "  <- best" if best and s["status"] == "done" and s["run"] == best["run"] and len(done) > 1 else ""
        log.info(f"  {s['run']}  {score}{mark}")
    if best and len(done) > 1 and best["run"] not in {s["run"] for s in statuses}:
        log.info(f"  (best so far: {best['run']} {best['metric']}={best['cv']:.5f})")


@contextlib.contextmanager
def console_muted():
    """Keep notices (INFO) off the console for a while; warnings and errors still show."""
    import logging

    consoles = [h for h in log.handlers if type(h) is logging.StreamHandler]
    levels = [h.level for h in consoles]
    for handler in consoles:
        handler.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for handler, level in zip(consoles, levels):
            handler.setLevel(level)


def parse_args(argv, doc):
    parser = argparse.ArgumentParser(prog=f"python exp/{util.EXP_NAME}/exp.py", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="runs to train: 2,3 or run002 or 1-3 (default: all)")
    parser.add_argument("--force", action="store_true", help="redo runs that already have a record (the old one is kept)")
    parser.add_argument("--list", action="store_true", help="show each run with its snippet and status, then stop")
    parser.add_argument("--dry-run", action="store_true", help="show what each run changes, then stop; writes nothing")
    parser.add_argument("--debug", action="store_true", help="quick smoke test on a sample, written under data/output/debug/")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failed run")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="train up to N runs at once on this machine, splitting its cores (default 1)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- main

def main(runs_list):
    """Run exp.py's command line over RUNS and exit; called as the last line of exp.py."""
    signal.signal(signal.SIGINT, on_signal)  # here, not at import: importing exp.py (a notebook) changes nothing
    signal.signal(signal.SIGTERM, on_signal)
    caller = sys._getframe(1).f_globals
    exp_py = Path(caller.get("__file__") or util.EXP_DIR / "exp.py")
    argv = sys.argv[1:]
    try:
        code = run_command(runs_list, exp_py, caller.get("__doc__"), argv)
    except KeyboardInterrupt as e:  # during imports, planning or data loading: nothing was started
        Signals.shielded = True
        log.error("interrupted before any run started")
        code = 128 + (getattr(e, "signum", None) or Signals.received or signal.SIGINT)
    sys.exit(code)


def run_command(runs_list, exp_py, doc, argv):
    args = parse_args(argv, doc)
    util.setup_logging()
    import logging
    logging.raiseExceptions = False  # a full disk must not print a logging traceback for every line
    out_root = util.OUTPUT_DIR / ("debug" if args.debug else "exp") / util.EXP_NAME
    worker = os.environ.get("KAGGLE_EXP_WORKER") == "1"
    try:
        base = util.load_config(util.EXP_DIR / "config.yml")
        runs = plan_runs(runs_list, exp_py.read_text(encoding="utf-8"), base, debug=args.debug)
        selected = select_runs(runs, args.run)
        if args.jobs < 1:
            raise ConfigError(f"--jobs {args.jobs}: give a number of processes of at least 1.")
        if args.dry_run:
            return show_dry_run(selected, base) or 0
        states = read_states(runs, out_root)
        if args.list:
            return show_list(runs, states, out_root) or 0
        todo = selected
        if not args.debug:  # debug records are scratch: always redone
            check_unchanged(out_root, {name: state for name, (state, _) in states.items()}, args.force)  # all of RUNS
            skipped = [run for run in selected if states[run.name][0] == "done" and not args.force]
            todo = [run for run in selected if run not in skipped]
            if skipped and not worker:
                log.info(f"skipping {', '.join(r.name for r in skipped)}: already done (--force to redo)")
        if not todo:
            log.info(f"nothing to run: {'every selected run is' if args.run else 'every run in RUNS is'} done "
                     "(append a snippet to RUNS, or use --force)")
            return 0
        with console_muted() if worker else contextlib.nullcontext():  # --jobs: the parent has said it all once
            import data
            import tracking
            tracking.check_tracking(base)
            for run in todo:  # read the data now, so a missing file or column is reported before any training
                data.load_data(run.config, run.n_rows)
        check_writable(out_root)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    if args.jobs > 1:
        codes = run_workers(min(args.jobs, len(todo)), argv, exp_py)
        after = read_states(runs, out_root)
        finished = [after[r.name][1] for r in todo if after[r.name][1] and after[r.name][1] != states[r.name][1]]
        show_summary(finished, after, out_root)
        signalled = [c for c in codes if c in (130, 143)] or ([128 + Signals.received] if Signals.received else [])
        return signalled[0] if signalled else max(codes)

    finished, elsewhere = [], []
    try:
        train_runs(todo, states, out_root, args, [str(exp_py), *argv], finished, elsewhere)
        stop_if_signalled()
    except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: no traceback, finished runs stay finished
        Signals.shielded = True
        if not worker:
            show_summary(finished, read_states(runs, out_root), out_root)
        log.error("interrupted: run the same command again to go on from where it stopped")
        return 128 + (getattr(e, "signum", None) or Signals.received or signal.SIGINT)
    if not worker and finished:
        show_summary(finished, read_states(runs, out_root), out_root)
    elif not finished and elsewhere:
        log.info(f"nothing left for this process: {', '.join(elsewhere)} running in other processes")
    failed = [s for s in finished if s["status"] != "done"]
    if failed:
        causes = "; ".join(f"{s['run']}: {s.get('error', s['status']).splitlines()[-1].rstrip('.')}" for s in failed)
        folders = ", ".join(f"{util.rel(out_root)}/{s['run']}.failed/" for s in failed)
        log.error(f"failed: {causes}. See log.txt in {folders}")
        return 1
    return 0
