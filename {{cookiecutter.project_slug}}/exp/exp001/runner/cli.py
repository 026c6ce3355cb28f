"""exp.py's command line, and the loop that claims and trains each run.

exp.py says what the experiment tries (its docstring and RUNS); this file trains it. Any number of
processes may run the same experiment at once (shells, GPUs, a Slurm array over a shared folder):
each claims the next run that is neither done nor running, so every run is trained once.

What to run is decided in plan.py, one run's life is one_run.py, --jobs workers start in jobs.py, Ctrl-C is
handled in interrupts.py, the closing summary is summary.py.
The lab is reached only through the contract in __init__.py: train.run, train.check_config,
train.check_before_training and train.higher_is_better.
"""
import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

from . import jobs, plan, report, tune, util
from .config import load_config
from .interrupts import STOP_CODES, Signals, catch_signals, shielded, stop_if_signalled
from .one_run import run_one
from .summary import console_muted, show_summary
from .util import ConfigError, DataError, log

# ---------------------------------------------------------------- many runs

def train_runs(todo, states, out_root, args, argv, finished, elsewhere):
    """Claim and train each run in `todo` that no other process holds; add their statuses to `finished`.

    `elsewhere` gets the runs other processes hold. Both lists are filled as we go, so an interrupt
    leaves in them what was done until then.
    """
    from . import claims
    from . import staleness

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
            state, detail = staleness.status_of(out_root, run)
            if detail != states[run.name][1] or (state == "done" and not (args.force or args.debug)):
                # another process recorded it between our first look and our claim: say so, never a silent exit
                log.info(f"{run.name}: {'finished' if state == 'done' else 'changed'} by another process since this "
                         "one started; left as it is")
                continue
            fresh = "--fresh" if args.fresh else "--force" if args.force else "--debug" if args.debug else None
            status = run_one(run, f"{i}/{len(todo)}", out_root, argv, fresh, claim=held)
            finished.append(status)
        finally:
            with shielded():
                held.release()
        if not args.debug:
            report.refresh()
        if args.fail_fast and status["status"] != "done":
            break


# ---------------------------------------------------------------- the command line

def parse_args(argv, doc):
    parser = argparse.ArgumentParser(prog=f"python exp/{util.EXP_NAME}/exp.py", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="runs to train: 2,3 or run002 or 1-3 (default: all)")
    parser.add_argument("--force", action="store_true",
                        help="redo runs that already have a record (the old one is kept)")
    parser.add_argument("--fresh", action="store_true", help="start stopped runs from scratch instead of resuming them")
    parser.add_argument("--list", action="store_true", help="show each run with its snippet and status, then stop")
    parser.add_argument("--dry-run", action="store_true", help="show what each run changes, then stop; writes nothing")
    parser.add_argument("--debug", action="store_true",
                        help="quick smoke test on a sample, written under data/output/debug/")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failed run")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="train up to N runs at once on this machine, splitting its cores (default 1)")
    parser.add_argument("--gpus", metavar="LIST", help="one worker per GPU: 0,1,3 or all, each seeing only its own")
    tune.add_arguments(parser)  # --tune, --promote and their options
    return parser.parse_args(argv)


# ---------------------------------------------------------------- main

def main(runs_list, caller):
    """Run exp.py's command line over RUNS and exit; `caller` is exp.py's globals (its __file__ and __doc__)."""
    catch_signals()  # a run ends as interrupted from here; before, interrupts.catch_signals_early leaves quietly
    exp_py = Path(caller.get("__file__") or util.EXP_DIR / "exp.py")
    argv = sys.argv[1:]
    try:
        code = run_command(runs_list, exp_py, caller.get("__doc__"), argv, caller.get("SEARCH"))
    except KeyboardInterrupt as e:  # during imports, planning or data loading: nothing was started
        Signals.shielded = True
        log.error("interrupted before any run started")
        code = 128 + (getattr(e, "signum", None) or Signals.received or signal.SIGINT)
    sys.exit(code)


def run_command(runs_list, exp_py, doc, argv, search=None):
    args = parse_args(argv, doc)
    util.setup_logging()
    import logging
    logging.raiseExceptions = False  # a full disk must not print a logging traceback for every line
    out_root = util.OUTPUT_DIR / ("debug" if args.debug else "exp") / util.EXP_NAME
    worker = os.environ.get("KAGGLE_EXP_WORKER") == "1"
    if worker:
        jobs.follow_parent()
    try:
        base = load_config(util.EXP_DIR / "config.yml")
        runs = plan.plan_runs(runs_list, exp_py.read_text(encoding="utf-8"), base, debug=args.debug)
        if args.tune is not None or args.promote:  # tuning's trials are runs of their own, under tune/
            code = tune.main(args, base, runs, exp_py, search, argv)
            if args.tune and not worker:
                report.refresh(final=True)
            return code
        selected = plan.select_runs(runs, args.run)
        if args.jobs < 1:
            raise ConfigError(f"--jobs {args.jobs}: give a number of processes of at least 1.")
        if args.gpus is not None and args.jobs > 1:
            raise ConfigError(f"--gpus {args.gpus} --jobs {args.jobs}: "
                              "give one of them (--gpus starts one worker per GPU).")
        gpus = jobs.parse_gpus(args.gpus) if args.gpus is not None else None
        if args.dry_run:
            recorded = {} if args.force or args.debug else plan.read_states(selected, out_root)
            done = [n for n, (s, _) in recorded.items() if s == "done"]
            return plan.show_dry_run(selected, base, done) or 0
        states = plan.read_states(runs, out_root)
        if args.list:
            return plan.show_list(runs, states, out_root) or 0
        from . import record
        record.check_sources()  # read now, beside config.yml and RUNS: each run's src/ is the code this process runs
        todo = selected
        if not args.debug:  # debug records are scratch: always redone
            plan.check_unchanged(out_root, {name: state for name, (state, _) in states.items()}, args.force,
                                 {run.name for run in selected} if args.run else None)
            if not worker:
                plan.tell_other_code(plan.other_code(runs, states, out_root), out_root)
            skipped = [run for run in selected if states[run.name][0] == "done" and not args.force]
            todo = [run for run in selected if run not in skipped]
            if skipped and not worker:
                log.info(f"skipping {', '.join(r.name for r in skipped)}: already done (--force to redo)")
        if not todo:
            log.info(f"nothing to run: {'every selected run is' if args.run else 'every run in RUNS is'} done "
                     "(append a snippet to RUNS, or use --force)")
            return 0
        with console_muted() if worker else contextlib.nullcontext():  # --jobs: the parent has said it all once
            from . import tracking
            import train
            tracking.check_tracking(base)
            for run in todo:  # read the data now, so a missing file or column is reported before any training
                try:
                    train.check_before_training(run.config, run.n_rows)
                except ConfigError as e:  # a value the model library refuses: named with its run
                    raise ConfigError(f"{run.name}: {e}") from None
        plan.check_writable(out_root)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    if args.jobs > 1 or gpus:
        codes = jobs.run_workers(min(len(gpus) if gpus else args.jobs, len(todo)), argv, exp_py, gpus)
        after = plan.read_states(runs, out_root)
        finished = [after[r.name][1] for r in todo if after[r.name][1] and after[r.name][1] != states[r.name][1]]
        show_summary(finished, after, out_root)
        if not args.debug:
            report.refresh(final=True)
        signalled = [c for c in codes if c in STOP_CODES] or ([128 + Signals.received] if Signals.received else [])
        return signalled[0] if signalled else max(codes)

    finished, elsewhere = [], []
    try:
        train_runs(todo, states, out_root, args, [str(exp_py), *argv], finished, elsewhere)
        stop_if_signalled()
    except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: no traceback, finished runs stay finished
        Signals.shielded = True
        if not worker:
            show_summary(finished, plan.read_states(runs, out_root), out_root)
        log.error("interrupted: run the same command again to go on from where it stopped")
        return 128 + (getattr(e, "signum", None) or Signals.received or signal.SIGINT)
    if not worker and finished:
        show_summary(finished, plan.read_states(runs, out_root), out_root)
        if not args.debug:
            report.refresh(final=True)
    elif not finished and elsewhere:
        log.info(f"nothing left for this process: {', '.join(elsewhere)} running in other processes")
    failed = [s for s in finished if s["status"] not in ("done", "taken over")]
    if failed:
        causes = "; ".join(f"{s['run']}: {s.get('error', s['status']).splitlines()[-1].rstrip('.')}" for s in failed)
        folders = ", ".join(f"{util.rel(out_root)}/{s['run']}.failed/" for s in failed)
        log.error(f"failed: {causes}. See log.txt in {folders}")
        return 1
    return 0
