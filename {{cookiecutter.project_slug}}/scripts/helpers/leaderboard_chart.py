"""Draw the leaderboard chart: each metric's CV for every run in the order the runs finished.

leaderboard.py writes it to data/output/leaderboard.png; this file only draws. matplotlib is imported
when a chart is drawn, so `leaderboard.py --no-plot` never loads it.
"""
from .leaderboard_records import finish_time
from .leaderboard_tables import group_title

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

