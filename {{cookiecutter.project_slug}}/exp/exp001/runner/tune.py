"""--tune N: Optuna trials that are runs, any number of processes adding to one study; --promote.

A trial is a run like those of RUNS: Optuna's ask gives values, SEARCH (search.py) makes them the trial's
snippet, run_one trains it and writes the same full record, as tune/trialNNNN/ (NNNN is Optuna's trial
number, as optuna-dashboard shows it), so RUNS keeps its numbers. After each fold the trial reports its
score and WilcoxonPruner may stop it: its record, with the folds it finished, becomes trialNNNN.pruned/.
The study is Optuna's journal file, tune/journal.log, locked while written, so processes in other shells
or on machines sharing the folder add trials to the same study. Each trial is claimed like a run
(claims.py); a trial whose process died is marked failed by the next process, and its values are tried
once more. Optuna is imported inside functions: it imports numpy, which the runner never does at import.
"""
import os
import time

from . import claims, record, resume, util
from .config import merge_update
from .interrupts import Signals, shielded, stop_if_signalled
from .one_run import run_one
from .plan import Run
from .search import parse_search
from .study import distributions, load_study, open_study, show_best, trial_name, tune_dir
from .util import ConfigError, Pruned, log

# A RUNNING trial without a claim folder is between ask and claim (milliseconds), unless its process died
# there: after this many seconds it counts as dead.
GRACE = 60


def add_arguments(parser):
    group = parser.add_argument_group("tuning (SEARCH in exp.py, with Optuna)")
    group.add_argument("--tune", type=int, metavar="N", help="add N trials to the experiment's study, each a run "
                       "recorded under tune/ (start it in as many shells as you like)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="with --tune: start no trial after this long")
    group.add_argument("--study", metavar="NAME",
                       help="the study to add to or promote from (default: the experiment's name)")
    group.add_argument("--no-prune", action="store_true", help="with --tune: train every fold of every trial")
    group.add_argument("--storage", metavar="URL", help="an Optuna storage URL instead of tune/journal.log")
    group.add_argument("--promote", action="store_true", help="append the study's best trial to RUNS, then stop")


def trials_root(study_name, storage=None):
    """Give the folder of a study's trial records: tune/ for the experiment's own study, tune/NAME/ for another.

    A study in another --storage is another study, numbered from trial 0 again: its records go to tune/NAME/.
    """
    return tune_dir() if study_name == util.EXP_NAME and not storage else tune_dir() / study_name


def main(args, base, runs, exp_py, search_text, argv):
    """Run --tune or --promote; give the exit code. Every mistake is a ConfigError before any trial."""
    name = args.study or util.EXP_NAME
    settings = base.get("tune") or {}  # config.yml's tune section: the command line's flags win
    args.storage = args.storage or settings.get("storage")
    args.no_prune = args.no_prune or settings.get("prune") is False
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ConfigError(f"--study {name}: a study name is a folder name. Fix: use letters, digits, - _ . only.")
    clash = [flag for flag, on in (("--run", args.run), ("--force", args.force), ("--list", args.list),
                                   ("--dry-run", args.dry_run), ("--tune", args.promote and args.tune is not None))
             if on]
    if clash:
        raise ConfigError(f"{'--promote' if args.promote else '--tune'} cannot be combined with {', '.join(clash)}: "
                          "trials are runs of their own, under tune/. Fix: run the two commands one after the other.")
    if args.promote:
        from .promote import promote

        return promote(load_study(args, name), exp_py, runs)
    if args.tune < 1 or args.jobs < 1 or args.debug or (args.timeout is not None and args.timeout <= 0):
        raise ConfigError(f"--tune {args.tune}{' --debug' if args.debug else ''}: give numbers of trials and --jobs of "
                          "at least 1 and a positive --timeout; "
                          "--debug cannot be combined with --tune (trials are full runs).")
    if search_text is None:
        raise ConfigError("exp.py has no SEARCH, so --tune has nothing to sample. Fix: add one beside RUNS, e.g.\n"
                          'SEARCH = """\nmodel:\n  params:\n    num_leaves: int(8, 256, log)\n"""')
    import train
    from . import plan

    space = parse_search(search_text, exp_py.read_text(encoding="utf-8"), base)
    first = merge_update(base,
                         space.update({p.name: p.low if p.kind != "choice" else p.choices[0] for p in space.params}),
                         "SEARCH (exp.py)")
    metric = first["metric"]
    direction = "maximize" if train.higher_is_better(metric) else "minimize"
    train.check_before_training(first, None)  # a missing file or column is reported before any trial
    record.check_sources()  # a credential in the code would reach every trial's src/
    plan.check_writable(tune_dir())
    study = open_study(args, name, space, metric, direction)
    if args.jobs > 1:
        return tune_in_workers(study, args, argv, exp_py)
    record.sources()  # read now: each trial's src/ is the code this process runs
    return tune(study, space, base, args, [str(exp_py), *argv], trials_root(name, args.storage))


def tune_in_workers(study, args, argv, exp_py):
    """--jobs N: share the trials out to N worker processes on this machine (15 and 15 of 30); give the exit code."""
    from . import jobs

    n = min(args.jobs, args.tune)
    shares = [args.tune // n + (i < args.tune % n) for i in range(n)]

    def each(i, worker_argv):  # the same command, with this worker's share of the trials
        out, skip = [], False
        for a in worker_argv:
            if skip:
                skip = False
            elif a == "--tune":
                skip = True
            elif not a.startswith("--tune="):
                out.append(a)
        return [*out, "--tune", str(shares[i])]

    codes = jobs.run_workers(n, argv, exp_py, each=each)
    show_best(study, args.storage)
    signalled = [c for c in codes if c in (130, 143)]
    return signalled[0] if signalled else max(codes)


def tune(study, space, base, args, argv, root):
    """Ask, train and tell args.tune trials (fewer when --timeout passes); give the exit code."""
    started, statuses = time.monotonic(), []
    log.info(f"tuning study {study.study_name}: {args.tune} trial(s) in this process, records in {util.rel(root)}/")
    try:
        for i in range(1, args.tune + 1):
            stop_if_signalled()
            if args.timeout is not None and time.monotonic() - started > args.timeout:
                log.info(f"--timeout {args.timeout:g}s passed: no more trials after {i - 1}")
                break
            fail_dead_trials(study, root)
            with shielded():  # asked and claimed together, or a dead process's trial is found by the next
                trial = study.ask(distributions(space))
                held, note = claims.claim(root, trial_name(trial.number))
            name = trial_name(trial.number)
            taken = [root / f"{name}{end}" for end in ("", ".pruned", ".failed") if (root / f"{name}{end}").exists()]
            if held is None or taken:  # a claim or record of the same name, from another study: never overwritten
                study.tell(trial, state=fail_state())
                if held:
                    held.release()
                raise ConfigError(f"{name} has a {'record' if taken else 'claim'} already "
                                  f"({util.rel(taken[0]) if taken else note}) from another study of the same name "
                                  "(another --storage?). Fix: tune under a new --study name, or move "
                                  f"{util.rel(root)}/ away.")
            try:
                statuses.append(run_trial(study, trial, space, base, root, f"{i}/{args.tune}", argv, not args.no_prune,
                                          held))
            finally:
                with shielded():
                    held.release()
    except KeyboardInterrupt as e:
        Signals.shielded = True
        show_best(study, args.storage)
        log.error("interrupted: run the same command again to add more trials")
        return 128 + (getattr(e, "signum", None) or Signals.received or 2)
    if os.environ.get("KAGGLE_EXP_WORKER") != "1":  # --jobs: the parent shows the table once, for all workers
        show_best(study, args.storage)
    failed = [s for s in statuses if s["status"] == "failed"]
    if failed:
        log.error(f"failed: {', '.join(s['run'] for s in failed)}; see log.txt in their .failed/ records")
    return 1 if failed else 0  # as for RUNS: a failed trial is worth a look (pruned ones are not failures)


def fail_state():
    from optuna.trial import TrialState

    return TrialState.FAIL


def run_trial(study, trial, space, base, root, position, argv, prune, claim=None):
    """Train one asked trial as a run and tell the study how it ended; give its status."""
    from optuna.trial import TrialState

    values = dict(trial.params)
    name = trial_name(trial.number)
    update = space.update(values)
    run = Run(name, space.snippet(values), update, merge_update(base, update, name))
    trial.set_user_attr("record", util.rel(root / name))

    def report(fold, score):
        folds.append(score)
        trial.report(score, fold)
        if prune and trial.should_prune():
            raise Pruned(f"after fold {fold + 1}, its fold scores are worse than the best trial's (WilcoxonPruner)",
                         list(folds))

    folds = []
    status = run_one(run, position, root, argv, report=report, claim=claim,
                     extra={"study": study.study_name, "trial": trial.number, "params": values})
    if status["status"] == "taken over":  # the process that took it over tells the study
        return status
    published = {"done": name, "pruned": f"{name}.pruned"}.get(status["status"], f"{name}.failed")
    with shielded():
        trial.set_user_attr("record", util.rel(root / published))
        if status["status"] == "done":
            study.tell(trial, status["cv"])
        else:
            study.tell(trial, state=TrialState.PRUNED if status["status"] == "pruned" else TrialState.FAIL)
    return status


def fail_dead_trials(study, root):
    """Mark failed each running trial whose process died (its claim abandoned), and queue its values once more."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        name = trial_name(trial.number)
        folder = root / f".{name}.claim"
        if claims.holder(root, name) is not None:
            continue
        if not folder.is_dir() and time.time() - trial.datetime_start.timestamp() < GRACE:
            continue  # asked a moment ago, its claim on the way
        owner = claims.read_owner(folder)
        with shielded():
            held, _ = claims.claim(root, name)
        if held is None:
            continue
        try:
            with shielded():
                now = [t for t in study.get_trials(deepcopy=False) if t.number == trial.number][0]
                if now.state == TrialState.RUNNING:
                    mark_failed(study, now, root, claims.describe_owner(owner, live=False))
        finally:
            held.release()


def mark_failed(study, trial, root, who):
    from optuna.trial import TrialState

    name = trial_name(trial.number)
    why = f"its process died while it trained ({who})"
    dead = [folder for folder, *_ in record.partials(root, name)]
    partial = max(dead, key=lambda folder: folder.stat().st_mtime, default=None)
    if partial is not None:  # the folds it saved stay readable, as a failed record
        util.write_json(partial / "status.json", {"exp": util.EXP_NAME, "run": name, "status": "failed", "error": why,
                                                  "study": study.study_name, "trial": trial.number,
                                                  "params": trial.params})
        record.publish(partial, root, name, "failed")
    resume.remove(root, name)  # its retry is a new trial: the dead one's saved folds are not resumed
    study._storage.set_trial_user_attr(trial._trial_id, "record", util.rel(root / f"{name}.failed"))
    study._storage.set_trial_user_attr(trial._trial_id, "error", why)
    study.tell(trial.number, state=TrialState.FAIL)
    again = "retry_of" not in trial.user_attrs
    if again:
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    log.info(f"{name}: marked failed, {why}; " + ("its values will be tried once more" if again
                                                  else "it was a retry already, so its values are not tried again"))

