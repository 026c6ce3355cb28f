"""The run machinery: exp.py's command line, RUNS checks, claims, --jobs, signals, the record, tracking.

You rarely need to open this folder. It knows nothing about data or models: none of its files imports
numpy, pandas, scikit-learn or a model library. It reaches the experiment's lab (the files beside this
folder) only through this contract, which any kind of experiment (tabular, image, ...) fulfils:

    train.check_config(cfg, where)            raise ConfigError for a value no run could train with;
                                              called for config.yml and every run before any training
    train.check_before_training(cfg, n_rows)  read the data and raise DataError for what would fail only
                                              after training, or ConfigError for a value the model library
                                              refuses (the runner names the run); called for every run
                                              before the first trains
    train.run(cfg, run_dir, n_rows, resume=folder, report=callable) -> dict
                                              train one run, write its outputs into run_dir, give its
                                              metrics: {"cv": float, ...}; keep in `resume` what going on
                                              after a stop needs (see below)
        report                                only with --tune: call report(fold, score) after each fold
                                              (fold from 0, score in the metric's own direction); it
                                              raises runner.util.Pruned to stop a hopeless trial, so let
                                              it through. A lab without a fold loop may ignore report,
                                              but must accept the keyword when it is to be tuned.
    train.higher_is_better(metric) -> bool    the direction of a metric name (KeyError when unknown)
    train.neutral_values() -> dict            optional: {dotted key: the value that keeps its old behaviour},
                                              e.g. {"augment.mixup": 0}; a key added to config.yml with that
                                              value (or null) leaves finished runs done (staleness.py)

cfg is config.yml with the run's snippet merged in (a dict); n_rows is None, or the sample size of
--debug (config.yml's debug.n_rows). The lab raises ConfigError and DataError (from runner.util) for
mistakes in the config or the data: they are shown as one message, and any other exception keeps its
traceback. Errors of the file system (a full disk) fail only the run they hit.

resume is the run's hidden .runNNN.resume/ folder. It is empty on a clean start; when an earlier
process of the same run (same config, same code) was stopped or killed, it holds what that process
saved there, and the lab goes on from it, so the record equals an uninterrupted run's. The lab writes
each step whole (a hidden name, then a rename) and says how far it got in resume/progress.json,
{"unit": "fold", "done": 2, "of": 5}, which the log and --list show. The runner keeps the folder when
a run is stopped, sets it aside when the config or code changed, removes it when the run is published.
A train.run without the resume argument still works: its runs start anew each time.

What each file does:
    cli.py         the command line of exp.py, and the loop that claims and trains each run
    one_run.py     one run's life: its partial folder, training, provenance, status, publishing
    summary.py     the closing summary, one line per run with the best marked
    plan.py        RUNS parsed, merged over config.yml and checked; --run, each run's status, --list, --dry-run
    config.py      reading config.yml and snippets, the strict merge, the messages for bad keys and values
    record.py      a run's folder (partial, done, failed) and its provenance (git, versions, src/)
    claims.py      one process per run, across shells, GPUs and machines
    resume.py      a stopped run goes on where it stopped: its resumable state, checked against config and code
    staleness.py   what makes a finished run no longer match: config that trains otherwise (stale), other code
    jobs.py        --jobs N and --gpus 0,1: worker processes over the same claims
    interrupts.py  Ctrl-C, SIGTERM and SIGUSR1: the run ends as interrupted, without a traceback
    search.py      SEARCH, the space --tune samples: parsed, checked like a snippet, turned into snippets
    tune.py        --tune: Optuna trials that are runs, recorded under tune/, shared by processes
    study.py       the Optuna study of --tune: its journal file, its checks, its best trials
    promote.py     --promote: the best trial appended to RUNS
    tracking.py    optional W&B tracking
    leaks.py       credentials by what a file holds: exp.py and the Kaggle package refuse code that holds one
    report.py      the project's HTML report (scripts/report.py), rebuilt after runs when project.yml says so
    util.py        paths, files, logging, and the two errors shown as messages
"""
import sys

# Records and Kaggle's read-only datasets keep code only: no __pycache__ beside the experiment's files.
sys.dont_write_bytecode = True

# Ctrl-C or SIGTERM from exp.py's first line on leave without a traceback; main() then takes them over.
from .interrupts import catch_signals_early  # noqa: E402

catch_signals_early(getattr(sys.modules.get("__main__"), "__file__", None))

from .util import ConfigError, DataError  # noqa: E402, F401  (the errors the lab raises, for runner.DataError)


def main(runs):
    """Run exp.py's command line over RUNS and exit; the last line of exp.py."""
    from .cli import main as run_main

    run_main(runs, sys._getframe(1).f_globals)
