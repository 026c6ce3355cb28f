"""Show every run of every experiment, best first, rebuilt from the run records on disk.

    python scripts/leaderboard.py                  the whole board
    python scripts/leaderboard.py --exp exp003     only exp003 (also --exp exp003,exp004)
    python scripts/leaderboard.py --top 20         the 20 best runs of each metric
    python scripts/leaderboard.py --metric rmse    only runs scored with rmse
    python scripts/leaderboard.py --no-plot        skip the chart
    python scripts/leaderboard.py --full-changes   each run's whole change, not cut at 50 characters

Each run shows its status, the keys its snippet changed, CV mean ± std, the public LB score
(when data/output/submissions.csv exists: python scripts/kaggle_cli.py submissions), the model,
the training time, the git commit and the date. Runs are sorted in their metric's own direction;
experiments scored with different metrics are listed in separate groups. `*` marks the best
run of each experiment.

The filters only change what is printed: data/output/leaderboard.csv, leaderboard.md and
leaderboard.png always hold every run. The chart shows each metric's CV for every run in the
order the runs finished, coloured by experiment and labelled with the run number, with the
best-so-far line.

Each file is written under a unique temporary name and renamed into place, so a leaderboard
rebuilt while other processes train or rebuild it too is always whole.
"""
import argparse
import re
import sys

from helpers.atomic_files import write_atomically
from helpers.leaderboard_chart import draw_history
from helpers.leaderboard_records import finish_time, join_lb, read_runs, read_submissions
from helpers.leaderboard_tables import render_markdown, render_text, write_csv
from helpers.project import OUTPUT_DIR, RECORDS_ROOT, ROOT, rel

# This file ranks the runs and writes the board; the jobs around it live in helpers/: leaderboard_records.py
# (reading the run records and LB scores), leaderboard_tables.py (text, Markdown, CSV), leaderboard_chart.py.

# ---------------------------------------------------------------- ranking

def group_by_metric(rows):
    """Give {metric: rows}, the metric with the most runs first; each group best first, failed runs last."""
    groups = {}
    for row in rows:
        groups.setdefault(row["metric"] or "(unknown metric)", []).append(row)
    ordered = {}
    for metric, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        done = [r for r in members if is_scored(r)]
        others = [r for r in members if not is_scored(r)]
        higher = not done or done[0]["direction"] != "minimize"
        done.sort(key=lambda r: (-r["cv"] if higher else r["cv"], finish_time(r)))
        for rank, row in enumerate(done, 1):
            row["rank"] = rank
        for row in others:
            row["direction"] = row["direction"] or ("maximize" if higher else "minimize")
        mark_best(done)
        ordered[metric] = done + others
    return ordered


def is_scored(row):
    return row["status"] == "done" and isinstance(row["cv"], (int, float))


def mark_best(ranked):
    """Mark the first (best) run of each experiment in a ranked list."""
    seen = set()
    for row in ranked:
        row["best"] = "*" if row["exp"] not in seen else ""
        seen.add(row["exp"])


def filter_rows(groups, exps, metric, top):
    """Give the groups limited to --exp, --metric and --top; ranks and best marks stay as on the full board."""
    chosen = {}
    for name, rows in groups.items():
        if metric and name != metric:
            continue
        if exps:
            rows = [r for r in rows if r["exp"] in exps]
        if top:
            rows = rows[:top]
        if rows:
            chosen[name] = rows
    return chosen


def plot_history(path, groups):
    """Write the chart of draw_history to path; give False when no run has a score yet, or no matplotlib."""
    try:
        fig = draw_history(groups)
    except ImportError as e:  # the tables are written all the same
        print(f"{rel(path)} not drawn: {e}. Fix: pip install matplotlib (in requirements.txt), or use --no-plot.",
              file=sys.stderr)
        return False
    if fig is None:
        return False
    import matplotlib.pyplot as plt
    write_atomically(path, lambda temporary: fig.savefig(temporary, dpi=100, format="png", bbox_inches="tight"))
    plt.close(fig)
    return True


# ---------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", type=parse_exps, default=set(), help="only these experiments: exp003 or exp003,exp004")
    parser.add_argument("--top", type=int, help="only the N best runs of each metric")
    parser.add_argument("--metric", help="only runs scored with this metric, e.g. auc")
    parser.add_argument("--no-plot", action="store_true", help="do not draw data/output/leaderboard.png (faster)")
    parser.add_argument("--trials", action="store_true",
                        help="also --tune's trials (exp001/tune/trial0003); off, so they do not flood the board")
    parser.add_argument("--full-changes", action="store_true",
                        help="show each run's whole change, not its first 50 characters")
    return parser.parse_args(argv)


def parse_exps(text):
    """Give the set of experiment names in --exp ('exp3,exp004' -> {'exp003', 'exp004'})."""
    names = set()
    for part in text.split(","):
        number = re.fullmatch(r"(?:exp)?(\d+)", part.strip())
        if not number:
            raise argparse.ArgumentTypeError(f"cannot read {part!r}; write experiment names like exp003,exp004")
        names.add(f"exp{int(number.group(1)):03d}")
    return names


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    rows = read_runs(args.trials)
    if not rows:
        print(f"no run records yet under {RECORDS_ROOT.relative_to(ROOT)}/. Train some: python exp/exp001/exp.py")
        return 0
    join_lb(rows, read_submissions())
    groups = group_by_metric(rows)

    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    write_atomically(OUTPUT_DIR / "leaderboard.csv", lambda temporary: write_csv(temporary, groups))
    markdown = render_markdown(groups)
    write_atomically(OUTPUT_DIR / "leaderboard.md", lambda temporary: temporary.write_text(markdown, encoding="utf-8"))
    written = ["leaderboard.csv", "leaderboard.md"]
    if not args.no_plot and plot_history(OUTPUT_DIR / "leaderboard.png", groups):
        written.append("leaderboard.png")

    shown = filter_rows(groups, args.exp, args.metric, args.top)
    print(render_text(shown, changes_width=None if args.full_changes else 50) if shown
          else "no run matches --exp / --metric.")
    print(f"\n* best run of its experiment. {len(rows)} runs; written: "
          + ", ".join(f"data/output/{name}" for name in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
