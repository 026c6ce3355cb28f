"""A run's outputs beside its metrics: out-of-fold and test predictions, the checked submission, importance."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from metrics import METRICS
from runner.util import write_json
from diagnostics import plot_diagnostics
from util import write_csv
from tabular.submission import check_submission, make_submission, prediction_frame


def save_predictions(cfg, data, folds, result, run_dir):
    """Write out-of-fold and test predictions, the checked submission, importance and metrics."""
    spec = cfg["data"]
    # The pictures are drawn on a second thread while the CSVs are written: training is over, so a core is free,
    # and pyarrow's writer leaves Python's lock while it formats numbers. A picture that fails still fails the run.
    with ThreadPoolExecutor(max_workers=1) as pictures:
        drawn = pictures.submit(draw_pictures, cfg, data, result, run_dir)
        oof = prediction_frame(data.ids, result["oof"], data.classes, spec["id"])
        target = pd.array(data.classes)[data.y] if data.classes else data.y  # typed labels: written faster
        oof.insert(1, "fold", folds)
        oof.insert(2, spec["target"], target)
        write_csv(oof, run_dir / "oof.csv")
        test_pred = prediction_frame(data.test_ids, result["test_pred"], data.classes, spec["id"])
        write_csv(test_pred, run_dir / "test_pred.csv")

        submitted = to_submitted(cfg, result["test_pred"], data.spec["target_range"])
        submission = make_submission(data, submitted, cfg, METRICS[cfg["metric"]].needs_labels)
        check_submission(submission, data.sample, spec["id"])
        write_csv(submission, run_dir / "submission.csv")
        result["importance"].rename("importance").rename_axis("feature").to_csv(run_dir / "importance.csv")
        drawn.result()
    write_json(run_dir / "metrics.json", result["metrics"])


def draw_pictures(cfg, data, result, run_dir):
    """Draw importance.png and the task's diagnostic pictures (oof_vs_target.png, confusion_matrix.png, ...)."""
    plot_importance(result["importance"], run_dir / "importance.png", cfg["model"]["name"])
    plot_diagnostics(cfg["task"], data.y, result["oof"], data.classes, run_dir)


def to_submitted(cfg, test_pred, target_range):
    """Give the test predictions as the submission takes them; predict.py calls this too, so both agree."""
    if cfg["metric"] == "qwk" and cfg["task"] == "regression":  # scored on whole numbers, so submit those
        return np.clip(np.rint(test_pred), *target_range)
    return test_pred


def plot_importance(importance, path, title):
    """Draw the top 30 features as a horizontal bar chart, each bar with its value.

    Drawn with Pillow (installed with matplotlib), not matplotlib: importing matplotlib takes 0.3 to
    0.5 s in every process and its chart 30 to 100 ms, which on small data is as much as the training.
    """
    from PIL import Image, ImageDraw, ImageFont

    top = importance.head(30)
    values = np.nan_to_num(top.to_numpy(dtype=float))
    font = ImageFont.load_default()  # a TrueType font on Pillow 10.1+, else a bitmap one that knows Latin-1 only
    fit = (lambda text: text) if isinstance(font, ImageFont.FreeTypeFont) else (
        lambda text: text.encode("latin-1", "replace").decode("latin-1"))
    labels = [fit(str(name)[:40]) for name in top.index]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    row, pad, width = 16, 8, 640  # pixels
    label_width = int(max(measure.textlength(label, font=font) for label in labels)) + 2 * pad
    bar_width = width - label_width - 60  # room for the value after the longest bar
    peak = values.max() if values.max() > 0 else 1.0
    image = Image.new("RGB", (width, row * (len(top) + 2)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((pad, 4), fit(f"feature importance ({title}, mean over folds)"), fill="black", font=font)
    for k, (label, value) in enumerate(zip(labels, values)):
        y = row * (k + 1) + 8
        length = max(1, round(bar_width * max(value, 0) / peak))
        draw.text((label_width - pad - measure.textlength(label, font=font), y + 1), label, fill="black", font=font)
        draw.rectangle((label_width, y + 2, label_width + length, y + row - 3), fill=(31, 119, 180))
        draw.text((label_width + length + 4, y + 1), f"{value:.4g}", fill="black", font=font)
    image.save(path, compress_level=1)
