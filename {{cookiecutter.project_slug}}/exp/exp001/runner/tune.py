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
import collections
import time

from . import claims, record, util
from .config import merge_update
from .interrupts import Signals, shielded, stop_if_signalled
from .one_run import run_one
from .plan import Run
from .search import parse_search
from .util import ConfigError, Pruned, log

# A RUNNING trial without a claim folder is between ask and claim (milliseconds), unless its process died
# there: after this many seconds it counts as dead.
GRACE = 60


def add_arguments(parser):
    group = parser.add_argument_group("tuning (SEARCH in exp.py, with Optuna)")
    group.add_argument("--tune", type=int, metavar="N", help="add N trials to the experiment's study, each a run "
                       "recorded under tune/ (start it in as many shells as you like)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="with --tune: start no trial after this long")
    group.add_argument("--study", metavar="NAME", help="the study to add to or promote from (default: the experiment's name)")
    group.add_argument("--no-prune", action="store_true", help="with --tune: train every fold of every trial")
    group.add_argument("--storage", metavar="URL", help="an Optuna storage URL instead of tune/journal.log")
    group.add_argument("--promote", action="store_true", help="append the study's best trial to RUNS, then stop")


def tune_dir():
    return util.OUTPUT_DIR / "exp" / util.EXP_NAME / "tune"


def trials_root(study_name):
    """Give the folder of a study's trial records: tune/ for the experiment's own study, tune/NAME/ for another."""
    return tune_dir() if study_name == util.EXP_NAME else tune_dir() / study_name


def trial_name(number):
    return f"trial{number:04d}"


def main(args, base, runs, exp_py, search_text, argv):
    """Run --tune or --promote; give the exit code. Every mistake is a ConfigError before any trial."""
    name = args.study or util.EXP_NAME
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ConfigError(f"--study {name}: a study name is a folder name. Fix: use letters, digits, - _ . only.")
    if args.promote:
        from .promote import promote

        return promote(load_study(args, name), exp_py, runs)
    if args.tune < 1 or args.debug or (args.timeout is not None and args.timeout <= 0):
        raise ConfigError(f"--tune {args.tune}{' --debug' if args.debug else ''}: give a number of trials of at least 1 "
                          "and a positive --timeout; --debug cannot be combined with --tune (trials are full runs).")
    if search_text is None:
        raise ConfigError("exp.py has no SEARCH, so --tune has nothing to sample. Fix: add one beside RUNS, e.g.\n"
                          'SEARCH = """\nmodel:\n  params:\n    num_leaves: int(8, 256, log)\n"""')
    import train
    from . import plan

    space = parse_search(search_text, exp_py.read_text(encoding="utf-8"), base)
    first = merge_update(base, space.update({p.name: p.low if p.kind != "choice" else p.choices[0] for p in space.params}),
                         "SEARCH (exp.py)")
    metric = first["metric"]
    direction = "maximize" if train.higher_is_better(metric) else "minimize"
    train.check_before_training(first, None)  # a missing file or column is reported before any trial
    plan.check_writable(tune_dir())
    study = open_study(args, name, space, metric, direction)
    record.sources()  # read now: each trial's src/ is the code this process runs
    return tune(study, space, base, args, [str(exp_py), *argv], trials_root(name))


def storage_of(args):
    if args.storage:
        return args.storage
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    tune_dir().mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(tune_dir() / "journal.log")))


def open_study(args, name, space, metric, direction):
    """Give the study to add trials to, made now or earlier; refuse one made with another SEARCH or metric."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.NopPruner() if args.no_prune else optuna.pruners.WilcoxonPruner()
    # constant_liar: trials running in other processes count as bad guesses, so processes spread out.
    sampler = optuna.samplers.TPESampler(constant_liar=True)
    study = optuna.create_study(storage=storage_of(args), study_name=name, direction=direction, sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    made = study.user_attrs
    described = space.describe()
    fix = f"Fix: tune under a new study name (--study {name}-2), or restore SEARCH and config.yml's metric as they were."
    if study.direction.name.lower() != direction or made.get("metric", metric) != metric:
        raise ConfigError(f"study {name} was made to {study.direction.name.lower()} {made.get('metric', '?')}, but "
                          f"trials now score {metric} ({direction}): their values cannot be compared. {fix}")
    if "search" in made and made["search"] != described:
        changes = [f"{k}: {made['search'].get(k, '(none)')} -> {described.get(k, '(none)')}"
                   for k in sorted(set(made["search"]) | set(described)) if made["search"].get(k) != described.get(k)]
        raise ConfigError(f"study {name} was made with another SEARCH ({'; '.join(changes)}), so its trials "
                          f"sampled another space. {fix}")
    if "search" not in made:
        study.set_user_attr("search", described)
        study.set_user_attr("metric", metric)
    return study


def load_study(args, name):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not args.storage and not (tune_dir() / "journal.log").is_file():
        raise ConfigError(f"no study yet in {util.rel(tune_dir())}/. Fix: run python exp/{util.EXP_NAME}/exp.py --tune N first.")
    try:
        return optuna.load_study(study_name=name, storage=storage_of(args))
    except KeyError:
        raise ConfigError(f"there is no study {name} in {args.storage or util.rel(tune_dir() / 'journal.log')}. "
                          "Fix: give the name --tune used (--study NAME), or run --tune first.") from None


def distributions(space):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    def one(p):
        if p.kind == "choice":
            return CategoricalDistribution(p.choices)
        return (IntDistribution if p.kind == "int" else FloatDistribution)(p.low, p.high, log=p.log)

    return {p.name: one(p) for p in space.params}


# ---------------------------------------------------------------- the trials of this process

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
            if held is None:  # a leftover claim of the same name: this trial cannot be recorded
                study.tell(trial, state=fail_state())
                raise ConfigError(f"{trial_name(trial.number)} is claimed already ({note}), though Optuna just made "
                                  f"it. Fix: move {util.rel(root)}/ away, or tune under a new --study name.")
            try:
                statuses.append(run_trial(study, trial, space, base, root, f"{i}/{args.tune}", argv, not args.no_prune))
            finally:
                with shielded():
                    held.release()
    except KeyboardInterrupt as e:
        Signals.shielded = True
        show_best(study)
        log.error("interrupted: run the same command again to add more trials")
        return 128 + (getattr(e, "signum", None) or Signals.received or 2)
    show_best(study)
    failed = [s for s in statuses if s["status"] == "failed"]
    if failed:
        log.error(f"failed: {', '.join(s['run'] for s in failed)}; see log.txt in their .failed/ records")
    return 1 if failed and len(failed) == len(statuses) else 0


def fail_state():
    from optuna.trial import TrialState

    return TrialState.FAIL


def run_trial(study, trial, space, base, root, position, argv, prune):
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
    status = run_one(run, position, root, argv, report,
                     {"study": study.study_name, "trial": trial.number, "params": values})
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
    partial = root / f".{name}.partial"
    if partial.is_dir():  # the folds it saved stay readable, as a failed record
        util.write_json(partial / "status.json", {"exp": util.EXP_NAME, "run": name, "status": "failed", "error": why,
                                                  "study": study.study_name, "trial": trial.number, "params": trial.params})
        record.publish(partial, root, name, "failed")
    study._storage.set_trial_user_attr(trial._trial_id, "record", util.rel(root / f"{name}.failed"))
    study._storage.set_trial_user_attr(trial._trial_id, "error", why)
    study.tell(trial.number, state=TrialState.FAIL)
    again = "retry_of" not in trial.user_attrs
    if again:
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    log.info(f"{name}: marked failed, {why}; " + ("its values will be tried once more" if again
                                                  else "it was a retry already, so its values are not tried again"))


def show_best(study, top=5):
    """Log the study's counts and its best trials: value, the values tried, the record."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = collections.Counter(t.state.name.lower() for t in trials)
    done = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value,
                  reverse=study.direction == StudyDirection.MAXIMIZE)
    metric = study.user_attrs.get("metric", "value")
    log.info(f"study {study.study_name}: {len(trials)} trials ({', '.join(f'{n} {s}' for s, n in counts.items())})"
             + (f"; best {min(top, len(done))} by {metric}:" if done else ""))
    for t in done[:top]:
        values = ", ".join(f"{k.rsplit('.', 1)[-1]}={v:.4g}" if isinstance(v, float) else f"{k.rsplit('.', 1)[-1]}={v}"
                           for k, v in t.params.items())
        log.info(f"  {trial_name(t.number)}  {metric}={t.value:.5f}  {values}  {t.user_attrs.get('record', '?')}/")
    if done:
        log.info(f"  python exp/{util.EXP_NAME}/exp.py --promote{'' if study.study_name == util.EXP_NAME else ' --study ' + study.study_name}"
                 "   appends the best trial to RUNS")

