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
    train.run(cfg, run_dir, n_rows) -> dict   train one run, write its outputs into run_dir, give its
                                              metrics: {"cv": float, ...}
    train.higher_is_better(metric) -> bool    the direction of a metric name (KeyError when unknown)

cfg is config.yml with the run's snippet merged in (a dict); n_rows is None, or the sample size of
--debug (config.yml's debug.n_rows). The lab raises ConfigError and DataError (from runner.util) for
mistakes in the config or the data: they are shown as one message, and any other exception keeps its
traceback. Errors of the file system (a full disk) fail only the run they hit.

What each file does:
    cli.py         the command line of exp.py, and the loop that claims and trains each run
    one_run.py     one run's life: its partial folder, training, provenance, status, publishing
    summary.py     the closing summary, one line per run with the best marked
    plan.py        RUNS parsed, merged over config.yml and checked; --run, each run's status, --list, --dry-run
    config.py      reading config.yml and snippets, the strict merge, the messages for bad keys and values
    record.py      a run's folder (partial, done, failed) and its provenance (git, versions, src/)
    claims.py      one process per run, across shells, GPUs and machines
    jobs.py        --jobs N: worker processes over the same claims
    interrupts.py  Ctrl-C and SIGTERM: the run ends as interrupted, without a traceback
    tracking.py    optional W&B tracking
    util.py        paths, files, logging, and the two errors shown as messages
"""
import sys

# Records and Kaggle's read-only datasets keep code only: no __pycache__ beside the experiment's files.
sys.dont_write_bytecode = True

# Ctrl-C or SIGTERM from exp.py's first line on leave without a traceback; main() then takes them over.
from .interrupts import catch_signals_early  # noqa: E402

catch_signals_early(getattr(sys.modules.get("__main__"), "__file__", None))

from .util import ConfigError, DataError  # noqa: E402  (the errors the lab raises)


def main(runs):
    """Run exp.py's command line over RUNS and exit; the last line of exp.py."""
    from .cli import main as run_main

    run_main(runs, sys._getframe(1).f_globals)
