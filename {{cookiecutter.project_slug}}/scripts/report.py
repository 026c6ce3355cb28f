"""Write one HTML file to look at every experiment and run: data/output/report.html.

    python scripts/report.py                 every run, tuning trials included (hidden until ticked)
    python scripts/report.py --out PATH      somewhere else (links to the runs' folders stay relative)
    python scripts/report.py --no-trials     leave --tune's trials out

The page needs no server and no network: open it from disk, from a Kaggle notebook's output, or attached to
a message (the runs' pictures are links into data/output/, so they show only beside the records). It holds:

- every run: its snippet, CV ± the spread of its folds, the public and private score when
  data/output/submissions.csv has them (python scripts/kaggle_cli.py submissions), status, time, kind,
  model; sortable and filterable, the best run of each experiment marked in its metric's direction;
- CV against the public score, for the runs that have both;
- a run's details: fold scores, each fold's learning curves (image runs), feature importance (tabular
  runs), the pictures of its record, and a link to its folder;
- two runs side by side (tick them): the config keys that differ, the code that differs (what
  scripts/diff_runs.py prints), and the correlation of their out-of-fold predictions;
- each tuning study (exp.py --tune): the trials in order, and each sampled value against the score.

exp.py rebuilds it after its runs when project.yml says `report: true` (the default).
It is written under a temporary name and renamed into place, so it is always whole.
"""
import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from helpers.atomic_files import write_atomically
from helpers.project import OUTPUT_DIR, rel
from helpers.report_data import gather, project_title
from helpers.report_page import render


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Write data/output/report.html: every experiment and run, one file.")
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR / "report.html", help="where to write the page")
    parser.add_argument("--no-trials", action="store_true", help="leave exp.py --tune's trials out")
    parser.add_argument("--quiet", action="store_true", help="print nothing when all is well (exp.py uses it)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    out = args.out.resolve()
    try:
        data = gather(out.parent, trials=not args.no_trials)
        name, competition = project_title()
        generated = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")
        page = render(data, name, f"competition {competition}" if competition else "", generated)
    except ImportError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    if not args.quiet:
        runs = sum(not run["trial"] for run in data["runs"])
        print(f"report: {rel(out)} ({runs} runs, {len(data['runs']) - runs} trials, {len(page) / 1e6:.1f} MB, "
              f"{time.perf_counter() - started:.1f} s). Open it in a browser.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
