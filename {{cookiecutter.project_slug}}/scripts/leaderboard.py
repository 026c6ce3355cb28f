"""Show every run of every experiment, best first, rebuilt from the run records on disk.

    python scripts/leaderboard.py                  the whole board
    python scripts/leaderboard.py --exp exp003     only exp003 (also --exp exp003,exp004)
    python scripts/leaderboard.py --top 20         the 20 best runs of each metric
    python scripts/leaderboard.py --metric rmse    only runs scored with rmse
    python scripts/leaderboard.py --no-plot        skip the chart

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
import csv
import json
import os
import re
import sys
import uuid
from datetime import datetime
from pathlib import Path

import yaml

# scripts/leaderboard.py -> the project root, whatever the current directory is.
ROOT = Path(__file__).resolve().parents[1]
OUTPUT_DIR = ROOT / "data" / "output"
RECORDS_ROOT = OUTPUT_DIR / "exp"
SUBMISSIONS_CSV = OUTPUT_DIR / "submissions.csv"

EXP_NAME = re.compile(r"exp(\d{3,})")
# runNNN is a complete run, runNNN.failed a failed or interrupted one; .runNNN.partial (in
# progress) and runNNN.replaced-<time> (kept after --force) are not on the board.
RUN_FOLDER = re.compile(r"(run\d{3,})(\.failed)?")
RUN_REF = re.compile(r"\b(exp\d{3,})/(run\d{3,})\b")

# The C loader is many times faster; it matters with a thousand runs.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

COLUMNS = ["metric", "direction", "rank", "exp", "run", "best", "status", "cv", "cv_std", "oof",
           "public_lb", "private_lb", "changes", "model", "fit_seconds", "commit", "dirty",
           "started", "finished", "error", "path"]


# ---------------------------------------------------------------- reading the records

def read_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_yaml(path):
    try:
        value = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, yaml.YAMLError):
        return {}
    return value if isinstance(value, dict) else {}


def flatten(tree, prefix=""):
    """Give {'model.params.max_depth': 5} for a nested dict, as exp.py prints a run's changes."""
    flat = {}
    for key, value in tree.items():
        dotted = f"{prefix}{str(key).lstrip('+')}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def last_line(text):
    """Give the last line of an error (a traceback ends with the exception itself)."""
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""


def describe_changes(update):
    """Give a snippet's changes on one line: model.params.max_depth=5, seed=7."""
    return ", ".join(f"{k}={v}" for k, v in flatten(update).items()) or "(base config)"


def exp_number(name):
    match = EXP_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def find_run_folders():
    """Give (exp, run, folder, failed) of every complete or failed run record, in number order."""
    found = []
    if not RECORDS_ROOT.is_dir():
        return found
    experiments = [p for p in RECORDS_ROOT.iterdir() if exp_number(p.name) is not None and p.is_dir()]
    for exp_dir in sorted(experiments, key=lambda p: exp_number(p.name)):
        for folder in exp_dir.iterdir():
            match = RUN_FOLDER.fullmatch(folder.name)
            if match:
                found.append((exp_dir.name, match.group(1), folder, bool(match.group(2))))
    found.sort(key=lambda item: (exp_number(item[0]), int(item[1][3:])))
    return found


def read_run(exp, run, folder, failed):
    """Give one board row for a run record, or None when the record is not whole."""
    status = read_json(folder / "status.json")
    if not status:  # status.json is written last: without it the record is incomplete
        return None
    row = dict.fromkeys(COLUMNS, "")
    row.update(exp=exp, run=run, status=status.get("status", "failed" if failed else "done"),
               started=status.get("started", ""), finished=status.get("finished", ""),
               path=str(folder.relative_to(ROOT)))
    row["changes"] = describe_changes(read_yaml(folder / "config_update.yml"))
    if failed or row["status"] != "done":
        # Metrics never came; the merged config still says which metric and model it was for.
        config = read_yaml(folder / "config.yml")
        row.update(metric=config.get("metric", ""), model=(config.get("model") or {}).get("name", ""),
                   error=last_line(status.get("error")))
    else:
        metrics = read_json(folder / "metrics.json")
        row.update(metric=metrics.get("metric", status.get("metric", "")), cv=metrics.get("cv", status.get("cv")),
                   cv_std=metrics.get("cv_std", ""), oof=metrics.get("oof", ""), model=metrics.get("model", ""),
                   fit_seconds=metrics.get("total_seconds", ""),
                   direction=metrics.get("direction") or ("maximize" if metrics.get("higher_is_better", True) else "minimize"))
    git = read_json(folder / "provenance.json").get("git") or {}
    row["commit"] = (git.get("commit") or "")[:7]
    row["dirty"] = git.get("dirty") if git.get("dirty") is not None else ""
    return row


def read_runs():
    """Give a board row for every run record under data/output/exp/."""
    rows = [read_run(*found) for found in find_run_folders()]
    return [row for row in rows if row is not None]


# ---------------------------------------------------------------- public LB

def read_submissions(path=SUBMISSIONS_CSV):
    """Give {(exp, run): (public, private)} from a saved `kaggle competitions submissions -v` CSV.

    A submission belongs to the run named in its description (kaggle_cli.py submit writes
    'expNNN/runNNN cv=...'); when a run was submitted more than once, the newest scored one counts.
    """
    if not path.is_file():
        return {}
    scores = {}
    with open(path, newline="", encoding="utf-8") as f:
        submissions = [s for s in csv.DictReader(f) if score_or_blank(s.get("publicScore")) != ""]
    for sub in sorted(submissions, key=lambda s: s.get("date") or ""):  # newest last, so it wins
        match = RUN_REF.search(sub.get("description") or "")
        if match:
            scores[match.groups()] = (score_or_blank(sub.get("publicScore")), score_or_blank(sub.get("privateScore")))
    return scores


def score_or_blank(text):
    """Give the score as a float, or '' when Kaggle has none yet (blank, None, pending)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return ""


def join_lb(rows, scores):
    for row in rows:
        row["public_lb"], row["private_lb"] = scores.get((row["exp"], row["run"]), ("", ""))


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


# ---------------------------------------------------------------- output

def format_cell(row, column):
    """Give the text of one cell as the terminal and Markdown tables show it."""
    value = row[column]
    if column == "cv":
        if value == "":
            return ""
        std = f" ± {row['cv_std']:.5f}" if isinstance(row["cv_std"], (int, float)) else ""
        return f"{value:.5f}{std}"
    if column == "public_lb":
        return f"{value:.5f}" if value != "" else ""
    if column == "fit_seconds":
        return f"{value:.1f}" if isinstance(value, (int, float)) else ""
    if column == "commit":
        return value + ("-dirty" if row["dirty"] is True else "")
    if column == "finished":
        return (value or row["started"])[:16].replace("T", " ")
    if column == "status" and row["error"]:
        return f"{value}: {shorten(row['error'], 40)}"
    return str(value)


def shorten(text, width):
    return text if len(text) <= width else text[: width - 1] + "…"


def table_columns(rows):
    """Give (column, header) pairs for the printed tables; the LB column only once scores exist."""
    columns = [("rank", "#"), ("best", ""), ("exp", "exp"), ("run", "run"), ("status", "status"), ("cv", "cv"),
               ("public_lb", "public LB"), ("changes", "changes"), ("model", "model"), ("fit_seconds", "fit s"),
               ("commit", "commit"), ("finished", "date")]
    if not any(r["public_lb"] != "" for r in rows):
        columns.remove(("public_lb", "public LB"))
    return columns


def group_title(metric, rows):
    direction = rows[0]["direction"] if rows else ""
    better = {"maximize": "higher is better", "minimize": "lower is better"}.get(direction, "")
    return f"{metric} ({better})" if better else metric


def render_text(groups, changes_width=50):
    """Give the terminal table: one block per metric, columns padded to their widest cell."""
    blocks = []
    for metric, rows in groups.items():
        columns = table_columns(rows)
        cells = [[h for _, h in columns]]
        for row in rows:
            line = [format_cell(row, c) for c, _ in columns]
            changes_at = [c for c, _ in columns].index("changes")
            line[changes_at] = shorten(line[changes_at], changes_width)
            cells.append(line)
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
        text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in cells]
        text.insert(1, "  ".join("-" * w for w in widths))
        blocks.append(f"{group_title(metric, rows)}: {sum(r['status'] == 'done' for r in rows)} done\n" + "\n".join(text))
    return "\n\n".join(blocks)


def render_markdown(groups):
    """Give the board as Markdown tables, one per metric."""
    parts = ["# Leaderboard\n", "Rebuilt by `python scripts/leaderboard.py` from data/output/exp/. `*`: best run of its experiment.\n"]
    for metric, rows in groups.items():
        columns = table_columns(rows)
        parts.append(f"## {group_title(metric, rows)}\n")
        parts.append("| " + " | ".join(h or "best" for _, h in columns) + " |")
        parts.append("|" + "|".join("---" for _ in columns) + "|")
        for row in rows:
            parts.append("| " + " | ".join(format_cell(row, c).replace("|", "\\|") for c, _ in columns) + " |")
        parts.append("")
    return "\n".join(parts)


def write_atomically(path, write):
    """Write a file through a unique temporary name, then rename it into place: readers see all or nothing.

    Many processes can share one project (several exp.py, a leaderboard in each); the name is
    unique per call, so two writers never write into the same temporary file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(path, groups):
    """Write every row with raw numbers (no rounding), for pandas or a spreadsheet."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for rows in groups.values():
            writer.writerows(rows)


def finish_time(row):
    """Give when a run finished as a comparable time (records may carry different UTC offsets)."""
    try:
        return datetime.fromisoformat(row["finished"] or row["started"]).timestamp()
    except ValueError:
        return 0.0


X_AXIS = "runs in the order they finished"
# Beyond this many points per chart, only each experiment's best run is labelled: the rest would overlap.
LABEL_EVERY_RUN_UP_TO = 60


def draw_history(groups):
    """Give a figure with one chart per metric: CV of every run in the order runs finished, by experiment.

    Each dot is coloured by its experiment (see the legend) and labelled with its run number;
    the dashed grey step is the best score so far.
    """
    import matplotlib
    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    plotted = {m: sorted((r for r in rows if r["rank"] != ""), key=finish_time) for m, rows in groups.items()}
    plotted = {m: rows for m, rows in plotted.items() if rows}
    if not plotted:
        return None
    fig, axes = plt.subplots(len(plotted), 1, figsize=(10, 4.2 * len(plotted)), squeeze=False)
    for ax, (metric, rows) in zip(axes[:, 0], plotted.items()):
        draw_metric(ax, metric, rows)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def draw_metric(ax, metric, rows):
    higher = rows[0]["direction"] != "minimize"
    x = list(range(1, len(rows) + 1))
    scores = [r["cv"] for r in rows]
    experiments = list(dict.fromkeys(r["exp"] for r in rows))
    colours = {exp: f"C{i % 10}" for i, exp in enumerate(experiments)}
    for exp in experiments:
        points = [(i, r["cv"]) for i, r in zip(x, rows) if r["exp"] == exp]
        ax.plot(*zip(*points), "o", markersize=5, color=colours[exp], label=exp)
    label_all = len(rows) <= LABEL_EVERY_RUN_UP_TO
    for i, row in zip(x, rows):
        if label_all or row["best"] == "*":
            text = row["run"][3:].lstrip("0") if label_all else f"{row['exp']}/{row['run']}"
            ax.annotate(text, (i, row["cv"]), textcoords="offset points", xytext=(0, 6), ha="center",
                        fontsize=7, color=colours[row["exp"]])
    best, running = [], None
    for s in scores:
        running = s if running is None else (max if higher else min)(running, s)
        best.append(running)
    ax.step(x, best, where="post", color="0.35", linestyle="--", linewidth=1, label="best so far")
    top = rows[scores.index(best[-1])]
    ax.set_title(f"{group_title(metric, rows)}; best {top['exp']}/{top['run']} = {best[-1]:.5f}")
    ax.set_xlabel(X_AXIS + (" (numbers: run of the experiment)" if label_all else ""))
    ax.set_ylabel(f"CV {metric}")
    ax.margins(y=0.15)
    many = len(experiments) > 12
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, ncol=2 if many else 1, borderaxespad=0)


def plot_history(path, groups):
    """Write the chart of draw_history to path; give False when no run has a score yet."""
    fig = draw_history(groups)
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
    rows = read_runs()
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
    print(render_text(shown) if shown else "no run matches --exp / --metric.")
    print(f"\n* best run of its experiment. {len(rows)} runs; written: " + ", ".join(f"data/output/{name}" for name in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
