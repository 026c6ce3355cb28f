"""Write the image kind's example into the template: scikit-learn's digits as a Kaggle image competition.

    python3 tools/make_image_example.py      (needs scikit-learn and Pillow; run from the template's root)

It writes {{cookiecutter.project_slug}}/.kinds/image/input/: train.csv (id,label), test.csv (id),
sample_submission.csv (id,label), train_images/<id>.png and test_images/<id>.png. The images are laid out as
Kaggle ships them: mostly 16x16 grayscale, some 8x8, some 20x24 RGB, some RGBA, so the example proves the lab
reads mixed sizes and modes. Seeded: running it again writes the same files.
"""
import csv
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parents[1] / "{{cookiecutter.project_slug}}" / ".kinds" / "image" / "input"
N_TRAIN, N_TEST = 240, 60


def to_image(pixels, k, rng):
    """Give the 8x8 digit (values 0..16) as a PIL image of a size and mode picked by its position k."""
    gray = Image.fromarray((255 - pixels * 255 / 16).astype(np.uint8), "L")  # dark ink on white
    if k % 7 == 3:
        return gray  # 8x8, as small as it comes
    if k % 7 == 5:
        tint = rng.integers(0, 60, size=3)
        rgb = np.stack([np.asarray(gray.resize((20, 24), Image.BILINEAR))] * 3, axis=-1).astype(int)
        return Image.fromarray(np.clip(rgb - tint, 0, 255).astype(np.uint8), "RGB")
    image = gray.resize((16, 16), Image.BILINEAR)
    if k % 7 == 6:
        image = image.convert("RGBA")
    return image


def main():
    digits = load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(digits.target))[: N_TRAIN + N_TEST]
    shutil.rmtree(OUT, ignore_errors=True)
    for folder in ("train_images", "test_images"):
        (OUT / folder).mkdir(parents=True)
    rows = []
    for k, index in enumerate(order):
        image_id = f"img{k:04d}"
        folder = "train_images" if k < N_TRAIN else "test_images"
        to_image(digits.images[index], k, rng).save(OUT / folder / f"{image_id}.png", optimize=True)
        rows.append((image_id, int(digits.target[index])))
    write(OUT / "train.csv", ["id", "label"], rows[:N_TRAIN])
    write(OUT / "test.csv", ["id"], [(i,) for i, _ in rows[N_TRAIN:]])
    write(OUT / "sample_submission.csv", ["id", "label"], [(i, 0) for i, _ in rows[N_TRAIN:]])
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {N_TRAIN} train and {N_TEST} test images ({size / 1024:.0f} KB) into {OUT}")


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])


if __name__ == "__main__":
    main()
