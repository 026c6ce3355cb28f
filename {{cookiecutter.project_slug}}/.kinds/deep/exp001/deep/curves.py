"""The learning curves of a run: live in W&B while it trains (wandb.enabled), and as a PNG in its record."""
import sys

import numpy as np

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def track_epoch(row):
    """Send one epoch's losses, valid score and lr to W&B, per fold, when the runner started a W&B run."""
    wandb = sys.modules.get("wandb")  # imported by the runner only when wandb.enabled is true
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.log({"epoch": row["epoch"], **{f"fold{row['fold']}/{name}": value for name, value in row.items()
                                             if name not in ("fold", "epoch", "best", "seconds")}})


def plot_curves(history, metric, path):
    """Draw two panels, loss (train thin, valid thick) and the valid metric, one color per fold; save as PNG.

    Pillow, not matplotlib: importing matplotlib costs every run up to half a second.
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    width, height, pad, legend = 420, 300, 44, 22  # pixels per panel; the legend is a strip below both
    image = Image.new("RGB", (2 * width, height + legend), "white")
    draw = ImageDraw.Draw(image)
    panels = [("loss (train thin, valid thick)", ["train_loss", "valid_loss"]), (f"valid {metric}", [metric])]
    epochs = int(history["epoch"].max())
    step = max(1, round(epochs / 8))  # at most about 8 epoch ticks
    for p, (title, columns) in enumerate(panels):
        left = p * width
        values = history[columns].to_numpy(dtype=float)
        low, high = np.nanmin(values), np.nanmax(values)
        high = high if high > low else low + 1
        box = (left + pad, 24, left + width - 12, height - pad + 8)
        draw.rectangle(box, outline="black")
        draw.text((left + pad, 6), title, fill="black", font=font)

        def xy(epoch, value):
            x = box[0] + (box[2] - box[0]) * ((epoch - 1) / max(1, epochs - 1))
            return x, box[3] - (box[3] - box[1]) * (value - low) / (high - low)

        for tick in np.linspace(low, high, 5):  # the value axis: five ticks, low to high
            y = xy(1, tick)[1]
            draw.line((box[0] - 3, y, box[0], y), fill="black")
            draw.text((left + 2, y - 5), f"{tick:.3g}", fill="black", font=font)
        for epoch in range(1, epochs + 1, step):
            x = xy(epoch, low)[0]
            draw.line((x, box[3], x, box[3] + 3), fill="black")
            draw.text((x - 3, box[3] + 5), str(epoch), fill="black", font=font)
        draw.text(((box[0] + box[2]) / 2 - 14, box[3] + 18), "epoch", fill="black", font=font)
        for k, fold in history.groupby("fold"):
            color = COLORS[int(k) % len(COLORS)]
            for column in columns:
                points = [xy(e, v) for e, v in zip(fold["epoch"], fold[column]) if np.isfinite(v)]
                line_width = 1 if column == "train_loss" else 2
                if len(points) > 1:
                    draw.line(points, fill=color, width=line_width)
                for x, y in points:
                    draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=color)
    for i, k in enumerate(sorted(history["fold"].unique())):  # the legend: which colour is which fold
        x = pad + 70 * i
        draw.line((x, height + 10, x + 18, height + 10), fill=COLORS[int(k) % len(COLORS)], width=3)
        draw.text((x + 22, height + 4), f"fold {int(k) + 1}", fill="black", font=font)
    image.save(path)
