"""The Optuna study of --tune: its storage (tune/journal.log), the checks that it fits SEARCH and the metric, its best
trials.

Optuna is imported inside each function: it imports numpy, which the runner never does at import.
"""
import collections

from . import util
from .util import ConfigError, log


def trial_name(number):
    return f"trial{number:04d}"


def tune_dir():
    return util.OUTPUT_DIR / "exp" / util.EXP_NAME / "tune"


def storage_of(args):
    if args.storage:
        return args.storage
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    tune_dir().mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(tune_dir() / "journal.log")))


def open_study(args, name, space, metric, direction):
    """Give the study to add trials to, made now or earlier; refuse one made with another SEARCH or metric."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # constant_liar (and WilcoxonPruner in some 4.x releases) are marked experimental:
    # a warning per process says nothing.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    pruner = optuna.pruners.NopPruner() if args.no_prune else optuna.pruners.WilcoxonPruner()
    # constant_liar: trials running in other processes count as bad guesses, so processes spread out.
    sampler = optuna.samplers.TPESampler(constant_liar=True)
    study = optuna.create_study(storage=storage_of(args), study_name=name, direction=direction, sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    where = args.storage or util.rel(tune_dir() / "journal.log")
    log.info(f"study {name} in {where}: pruning {'off' if args.no_prune else 'by fold (WilcoxonPruner)'}")
    made = study.user_attrs
    described = space.describe()
    fix = (f"Fix: tune under a new study name (--study {name}-2), "
           "or restore SEARCH and config.yml's metric as they were.")
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
        raise ConfigError(f"no study yet in {util.rel(tune_dir())}/. "
                          f"Fix: run python exp/{util.EXP_NAME}/exp.py --tune N first.")
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


def show_best(study, storage=None, top=5):
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
        options = "" if study.study_name == util.EXP_NAME else f" --study {study.study_name}"
        options += f" --storage {storage}" if storage else ""
        log.info(f"  python exp/{util.EXP_NAME}/exp.py --promote{options}"
                 "   appends the best trial to RUNS")
