"""Diagnostic pictures of a run's out-of-fold predictions, in its record (every kind: the same file in each).

    regression       oof_vs_target.png      each row's out-of-fold prediction against its target
    classification   confusion_matrix.png   counts of (true class, predicted class), shaded by row share
    binary           calibration.png        mean P(positive) against the share of positives, in ten bins

Drawn with Pillow into pixel arrays, as plot_importance is: a few milliseconds on small data, where
matplotlib's import alone would cost more than the training.
"""
import numpy as np

from metrics import predicted_codes

SIZE, MARGIN = 360, 48  # the plot's square and the room around it for labels, in pixels
MAX_POINTS = 20_000     # a scatter of more rows shows nothing more
MAX_CLASSES = 30
# Palette images (one byte a pixel) encode as PNG three times faster than RGB ones: colors are indices.
WHITE, BLACK, GRAY, BLUE, SHADES = 0, 1, 2, 3, 4  # SHADES..SHADES+99: white to dark blue
PALETTE = bytes([255, 255, 255, 0, 0, 0, 170, 170, 170, 31, 119, 180] + [
    v for k in range(100) for v in (int(255 - 2 * k), int(255 - 2 * k), 255)])  # bytes: a list is converted slowly


def plot_diagnostics(task, y, oof, classes, run_dir):
    """Write the pictures that fit the task into run_dir; give their file names."""
    if task == "regression":
        return [plot_oof_vs_target(y, oof, run_dir / "oof_vs_target.png")]
    written = []
    if len(classes) <= MAX_CLASSES:
        written.append(plot_confusion(y, predicted_codes(oof), classes, run_dir / "confusion_matrix.png"))
    if task == "binary":
        written.append(plot_calibration(y, oof, run_dir / "calibration.png"))
    return written


def canvas(title):
    """Give (image, draw, font) of an empty plot with its title."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("P", (SIZE + 2 * MARGIN, SIZE + 2 * MARGIN), WHITE)
    image.putpalette(PALETTE)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((MARGIN, 8), title, fill=BLACK, font=font)
    return image, draw, font


def axes(draw, font, low, high, x_label, y_label):
    """Draw the plot's frame, the diagonal, and the range of both axes (the same on both)."""
    draw.rectangle((MARGIN, MARGIN, MARGIN + SIZE, MARGIN + SIZE), outline=BLACK)
    draw.line((MARGIN, MARGIN + SIZE, MARGIN + SIZE, MARGIN), fill=GRAY)
    draw.text((MARGIN, MARGIN + SIZE + 4), f"{low:.4g}", fill=BLACK, font=font)
    draw.text((MARGIN + SIZE - 6 * len(f"{high:.4g}"), MARGIN + SIZE + 4), f"{high:.4g}", fill=BLACK, font=font)
    draw.text((MARGIN + SIZE // 2 - 30, MARGIN + SIZE + 18), x_label, fill=BLACK, font=font)
    draw.text((4, MARGIN - 14), y_label, fill=BLACK, font=font)
    draw.text((4, MARGIN + SIZE - 12), f"{low:.4g}", fill=BLACK, font=font)
    draw.text((4, MARGIN + 2), f"{high:.4g}", fill=BLACK, font=font)


def to_pixels(values, low, high):
    """Give the pixel offsets (0 to SIZE - 1) of values on an axis from low to high."""
    span = (high - low) or 1.0
    return np.clip(((values - low) / span * (SIZE - 1)).round(), 0, SIZE - 1).astype(int)


def plot_oof_vs_target(y, oof, path):
    """Draw out-of-fold predictions (vertical) against the target (horizontal), the diagonal for reference."""
    from PIL import Image

    y, oof = np.asarray(y, dtype=float), np.asarray(oof, dtype=float)
    if len(y) > MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(y), MAX_POINTS, replace=False)
        y, oof = y[keep], oof[keep]
    finite = np.isfinite(y) & np.isfinite(oof)
    y, oof = y[finite], oof[finite]
    low, high = (float(min(y.min(), oof.min())), float(max(y.max(), oof.max()))) if len(y) else (0.0, 1.0)
    image, draw, font = canvas("out-of-fold prediction vs target")
    axes(draw, font, low, high, "target", "oof")
    pixels = np.array(image)  # the palette's indices
    xs, ys = MARGIN + to_pixels(y, low, high), MARGIN + SIZE - 1 - to_pixels(oof, low, high)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):  # 2x2 dots
        pixels[np.minimum(ys + dy, MARGIN + SIZE), np.minimum(xs + dx, MARGIN + SIZE)] = BLUE
    picture = Image.fromarray(pixels, "P")
    picture.putpalette(PALETTE)
    picture.save(path, compress_level=1)
    return path.name


def plot_confusion(y, predicted, classes, path):
    """Draw the confusion matrix: true classes down, predicted across, each cell's count, shaded by its row's share."""
    n = len(classes)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (np.asarray(y, dtype=int), np.asarray(predicted, dtype=int)), 1)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    image, draw, font = canvas("confusion matrix (rows: true class, columns: predicted)")
    cell = SIZE // n
    for i in range(n):
        draw.text((4, MARGIN + i * cell + cell // 2 - 6), str(classes[i])[:7], fill=BLACK, font=font)
        draw.text((MARGIN + i * cell + 2, MARGIN + SIZE + 4), str(classes[i])[:max(2, cell // 7)], fill=BLACK,
                  font=font)
        for j in range(n):
            box = (MARGIN + j * cell, MARGIN + i * cell, MARGIN + (j + 1) * cell - 1, MARGIN + (i + 1) * cell - 1)
            draw.rectangle(box, fill=SHADES + int(99 * share[i, j]), outline=GRAY)
            if cell >= 16:
                draw.text((box[0] + 3, box[1] + cell // 2 - 6), str(counts[i, j]),
                          fill=WHITE if share[i, j] > 0.6 else BLACK, font=font)
    image.save(path, compress_level=1)
    return path.name


def plot_calibration(y, oof, path, bins=10):
    """Draw the mean predicted P(positive) of each tenth against the share of positives in it."""
    y, oof = np.asarray(y, dtype=float), np.clip(np.asarray(oof, dtype=float), 0, 1)
    which = np.minimum((oof * bins).astype(int), bins - 1)
    image, draw, font = canvas("calibration: share of positives vs mean P(positive), 10 bins")
    axes(draw, font, 0.0, 1.0, "mean predicted P(positive)", "share of positives")
    points = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            x, v = float(oof[inside].mean()), float(y[inside].mean())
            points.append((MARGIN + to_pixels(np.array([x]), 0, 1)[0],
                           MARGIN + SIZE - 1 - to_pixels(np.array([v]), 0, 1)[0]))
    if len(points) > 1:
        draw.line(points, fill=BLUE, width=2)
    for px, py in points:
        draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=BLUE)
    image.save(path, compress_level=1)
    return path.name
