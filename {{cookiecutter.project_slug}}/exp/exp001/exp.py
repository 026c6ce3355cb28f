"""LightGBM baseline: describe here what this experiment tries.

Each snippet in RUNS (just below the imports) is one run: run001, run002, ... in order. A run is
config.yml with its snippet merged in, and writes its record to data/output/exp/<this exp>/runNNN/.
Append new runs at the end: a run that has results keeps its number and its snippet.

    python exp/expNNN/exp.py              train every run that has no result yet
    python exp/expNNN/exp.py --run 2,3    only these runs (also --run run002, --run 1-3)
    python exp/expNNN/exp.py --list       each run with its snippet and status
    python exp/expNNN/exp.py --dry-run    what each run changes; writes nothing
    python exp/expNNN/exp.py --debug      quick smoke test on a sample, under data/output/debug/
    python exp/expNNN/exp.py --force      redo runs that have results (the old record is kept)
"""
import argparse
import sys
import textwrap
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import data
import record
import train
import util
from util import ConfigError, DataError, log

# What this experiment tries: one YAML snippet per run (run001, run002, ...), merged over config.yml.
# Append new runs at the end; never insert, reorder or edit one that has results.
RUNS = [
    """
    model:
      params:
        num_leaves: 4
    """,
    """
    model:
      params:
        min_child_samples: 30
    """,
    """
    model:
      params:
        +lambda_l1: 5  # '+' adds a key that config.yml does not have
    """,
]


@dataclass
class Run:
    name: str        # run001
    snippet: str     # the YAML text from RUNS, dedented
    update: dict     # the snippet parsed
    config: dict     # config.yml with the snippet merged in
    debug: bool = False  # --debug: a scratch record, on a sample of rows
    n_rows: int = None   # --debug: train on a sample of this many rows


def plan_runs(base, debug=False):
    """Give every run in RUNS parsed, merged and checked, so a typo stops us before any training."""
    source = Path(__file__).read_text(encoding="utf-8")
    try:  # a mistake in config.yml itself is blamed on config.yml, not on run001
        check_config(base, "config.yml")
        base_problem = None
    except ConfigError as e:
        base_problem = e
    runs = []
    for i, raw in enumerate(RUNS, 1):
        name = f"run{i:03d}"
        start = source.find(raw)  # where the snippet sits in this file, for error line numbers
        first_line = source.count("\n", 0, start) + 1 if start >= 0 else 1
        where = f"{name} (exp.py)" if start >= 0 else f"{name} (its snippet)"
        snippet = textwrap.dedent(raw).strip("\n")
        update = util.parse_yaml(snippet, where, first_line=first_line if start >= 0 else 1)
        config = util.merge_update(base, update, name)
        if debug:  # quick and untracked
            config["model"]["num_boost_round"] = min(config["model"]["num_boost_round"], config["debug"]["num_boost_round"])
            config["wandb"]["enabled"] = False
        try:
            check_config(config, name)
        except ConfigError as problem:
            raise (base_problem or problem) from None
        runs.append(Run(name, snippet, update, config, debug, config["debug"]["n_rows"] if debug else None))
    return runs


def check_config(config, where):
    try:
        train.check_config(config, where)
    except KeyError as e:  # a key the code reads was deleted from config.yml
        raise ConfigError(f"{where}: no key {e.args[0]!r}, which the code reads. "
                          "Fix: add it back to config.yml (see the config.yml of an earlier experiment).") from None


def select_runs(runs, spec):
    """Give the runs named by --run: '2,3', 'run002', '1-3'; all runs when spec is None."""
    if not spec:
        return runs
    by_number = {i: run for i, run in enumerate(runs, 1)}
    chosen = []
    for part in spec.split(","):
        part = part.strip().lower().replace("run", "")
        try:
            low, _, high = part.partition("-")
            numbers = range(int(low), int(high or low) + 1)
        except ValueError:
            raise ConfigError(f"--run {spec}: cannot read {part!r}. Write numbers like 2,3 or run002 or 1-3.") from None
        for n in numbers:
            if n not in by_number:
                raise ConfigError(f"--run {spec}: there is no run{n:03d}; RUNS has run001 to run{len(runs):03d}.")
            if by_number[n] not in chosen:
                chosen.append(by_number[n])
    return chosen


def check_unchanged(out_root, states, force):
    """Refuse to go on when a finished run no longer matches its snippet or config.yml: its record would lie."""
    changed = [name for name, state in states.items() if state == "changed"]
    stale = [name for name, state in states.items() if state == "stale"]
    if force or not (changed or stale):
        return
    if changed:
        raise ConfigError(
            f"{', '.join(changed)}: the snippet in RUNS differs from the one saved in {util.rel(out_root)}/<run>/config_update.yml "
            "(the RUNS list was edited or reordered). Fix: restore the old snippet and append the new one at the end of RUNS, "
            f"or redo it with --force --run {changed[0]} (the old record is kept as {changed[0]}.replaced-<time>)."
        )
    raise ConfigError(
        f"{', '.join(stale)}: config.yml has changed since these runs were made (compare it with "
        f"{util.rel(out_root)}/{stale[0]}/config.yml), so their records no longer match. Fix: start a new experiment for the "
        f"change (python scripts/new_exp.py), or redo them with --force (old records are kept as <run>.replaced-<time>), "
        f"or move {util.rel(out_root)}/ away if those results are not worth keeping."
    )


def run_one(run, position, out_root, argv):
    """Train one run into a hidden folder, then publish it: runNNN/ when done, runNNN.failed/ if not."""
    partial = record.start(out_root, run.name)
    (partial / "config_update.yml").write_text(run.snippet + "\n", encoding="utf-8")
    util.write_yaml(partial / "config.yml", run.config)
    record.snapshot_sources(partial / "src")
    handler = util.add_log_file(partial / "log.txt")
    log.info(f"{util.EXP_NAME}/{run.name} ({position}): {describe_update(run)}")
    started, clock = util.now(), time.perf_counter()
    status = {"exp": util.EXP_NAME, "run": run.name, "metric": run.config["metric"], "started": started}
    tracker = metrics = None
    try:
        util.seed_everything(run.config["seed"])
        tracker = record.start_tracking(run.config, run.name)
        metrics = train.run(run.config, partial, run.n_rows)
        status.update(status="done", cv=metrics["cv"])
    except (ConfigError, DataError) as e:
        log.error(f"{run.name} failed: {e}")
        status.update(status="failed", error=str(e))
    except KeyboardInterrupt:
        log.error(f"{run.name} interrupted")
        status.update(status="interrupted", error="KeyboardInterrupt")
    except Exception as e:  # the user's training code: keep the whole traceback
        log.error(f"{run.name} failed:\n{traceback.format_exc()}")
        status.update(status="failed", error=f"{type(e).__name__}: {e}")
    finally:
        record.finish_tracking(tracker, metrics, partial)
        status.update(finished=util.now(), seconds=round(time.perf_counter() - clock, 3))
        record.write_provenance(partial, run.config, started, argv)
        log.info(f"{run.name} {status['status']} in {status['seconds']:.1f}s")
        util.remove_log_file(handler)
        util.write_json(partial / "status.json", status)  # last: its presence marks the record whole
        record.publish(partial, out_root, run.name, status["status"], keep_old=not run.debug)
    return status


def describe_update(run):
    """Give a run's changes on one line, e.g. model.params.num_leaves=4."""
    return ", ".join(f"{k}={v}" for k, v in util.flatten(run.update).items()) or "(base config)"


def show_list(runs, out_root):
    for run in runs:
        status, detail = record.status_of(out_root, run.name, run.update, run.config)
        score = f" {detail['metric']}={detail['cv']:.5f}" if status == "done" else ""
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


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=f"python exp/{util.EXP_NAME}/exp.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="runs to train: 2,3 or run002 or 1-3 (default: all)")
    parser.add_argument("--force", action="store_true", help="redo runs that already have a record (the old one is kept)")
    parser.add_argument("--list", action="store_true", help="show each run with its snippet and status, then stop")
    parser.add_argument("--dry-run", action="store_true", help="show what each run changes, then stop; writes nothing")
    parser.add_argument("--debug", action="store_true", help="quick smoke test on a sample, written under data/output/debug/")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failed run")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    util.setup_logging()
    out_root = util.OUTPUT_DIR / ("debug" if args.debug else "exp") / util.EXP_NAME
    try:
        base = util.load_config(util.EXP_DIR / "config.yml")
        runs = plan_runs(base, debug=args.debug)
        selected = select_runs(runs, args.run)
        if args.list:
            return show_list(runs, out_root) or 0
        if args.dry_run:
            return show_dry_run(selected, base) or 0
        if not args.debug:  # debug records are scratch: always redone
            states = {run.name: record.status_of(out_root, run.name, run.update, run.config)[0] for run in selected}
            check_unchanged(out_root, states, args.force)
            skipped = [run for run in selected if states[run.name] == "done" and not args.force]
            selected = [run for run in selected if run not in skipped]
            if skipped:
                log.info(f"skipping {', '.join(r.name for r in skipped)}: already done (--force to redo)")
        record.check_tracking(base)
        for run in selected:  # read the data now, so a missing file or column is reported before any training
            data.load_data(run.config, run.n_rows)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    failures, finished = [], []
    clock = time.perf_counter()
    try:
        for i, run in enumerate(selected, 1):
            status = run_one(run, f"{i}/{len(selected)}", out_root, [__file__, *argv])
            finished.append(status)
            if status["status"] == "interrupted":
                raise KeyboardInterrupt
            left = (time.perf_counter() - clock) / i * (len(selected) - i)
            if left >= 1:
                log.info(f"~{left:.0f}s left for {len(selected) - i} more run(s)")
            if status["status"] != "done":
                failures.append(run.name)
                if args.fail_fast:
                    break
    except KeyboardInterrupt:  # Ctrl-C: no traceback, finished runs stay finished
        show_summary(finished, out_root)
        log.error("interrupted: run the same command again to go on from where it stopped")
        return 130
    show_summary(finished, out_root)
    if failures:
        log.error(f"failed: {', '.join(failures)}; see log.txt in {util.rel(out_root)}/<run>.failed/")
        return 1
    return 0


def show_summary(statuses, out_root):
    """Log one line per run of this call, best score marked, so the end of the console says it all."""
    done = [s for s in statuses if s["status"] == "done"]
    if not statuses:
        log.info("nothing to run: every run is done (append a snippet to RUNS, or use --force)")
        return
    best = max(done, key=lambda s: s["cv"] * (1 if train.METRICS[s["metric"]].higher_is_better else -1), default=None)
    log.info(f"summary ({util.rel(out_root)}):")
    for s in statuses:
        score = f"{s['metric']}={s['cv']:.5f}" if s["status"] == "done" else s["status"]
        log.info(f"  {s['run']}  {score}{'  <- best' if s is best and len(done) > 1 else ''}")


if __name__ == "__main__":
    sys.exit(main())
