"""The leaderboard as text: the terminal table, the Markdown file and the CSV, one block per metric."""
import csv

from .leaderboard_records import COLUMNS

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
    """Give text cut to `width` characters (… marks the cut); all of it when width is None."""
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


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
        done = sum(r["status"] == "done" for r in rows)
        blocks.append(f"{group_title(metric, rows)}: {done} done\n" + "\n".join(text))
    return "\n\n".join(blocks)


def render_markdown(groups):
    """Give the board as Markdown tables, one per metric."""
    parts = ["# Leaderboard\n",
             "Rebuilt by `python scripts/leaderboard.py` from data/output/exp/. `*`: best run of its experiment.\n"]
    for metric, rows in groups.items():
        columns = table_columns(rows)
        parts.append(f"## {group_title(metric, rows)}\n")
        parts.append("| " + " | ".join(h or "best" for _, h in columns) + " |")
        parts.append("|" + "|".join("---" for _ in columns) + "|")
        for row in rows:
            parts.append("| " + " | ".join(format_cell(row, c).replace("|", "\\|") for c, _ in columns) + " |")
        parts.append("")
    return "\n".join(parts)


def write_csv(path, groups):
    """Write every row with raw numbers (no rounding), for pandas or a spreadsheet."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for rows in groups.values():
            writer.writerows(rows)

