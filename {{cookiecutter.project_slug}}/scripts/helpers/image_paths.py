"""Where an image competition keeps its images: the data.image and data.test_image patterns to propose.

Kaggle ships them in many ways: train_images/<id>.png, train/<image_id>.jpg, a file_name column holding
'images/abc.jpg', or a column with the file name and its suffix. Rather than guessing from names, each
candidate pattern is tried on the table's first rows, and only one whose files all exist is proposed.
"""
import os
import re
from collections import Counter

from .project import INPUT_DIR, UserError, rel

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".dcm")
ROWS_TRIED = 30  # enough to rule out a pattern that fits by chance; the lab checks every file before training
FILES_LOOKED_AT = 1000  # per folder: its common suffix shows in the first files, and a huge folder stays quick


def first_rows(path):
    """Give the first rows of a CSV or Parquet table with every value as text (ids like 0001 keep their zeros)."""
    import pandas as pd  # here, so that importing this module costs nothing

    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path).head(ROWS_TRIED).astype(str)
    return pd.read_csv(path, nrows=ROWS_TRIED, dtype=str, keep_default_na=False)


def image_folders(input_dir, depth=2):
    """Give {folder relative to input_dir ('' for itself): its most common image suffix}, `depth` levels down."""
    found, level = {}, [input_dir]
    for _ in range(depth + 1):
        below = []
        for folder in level:
            with os.scandir(folder) as entries:
                names = [(e.name, e.is_dir()) for _, e in zip(range(FILES_LOOKED_AT), entries)]
            suffixes = Counter(os.path.splitext(n)[1] for n, is_dir in names if not is_dir
                               and os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES)
            if suffixes:
                relative = "" if folder == input_dir else folder.relative_to(input_dir).as_posix()
                found[relative] = suffixes.most_common(1)[0][0]
            below += [folder / n for n, is_dir in names if is_dir and not n.startswith(".")]
        level = below
    return found


def propose_pattern(table_path, input_dir, role):
    """Give the pattern (like 'train_images/{id}.png') under which the first rows of table_path find their
    images in input_dir; among several, the one whose folder's name says `role` ('train' or 'test')."""
    rows = first_rows(table_path)
    if rows.empty:
        return None
    fitting = []
    for folder, suffix in image_folders(input_dir).items():
        for column in rows.columns:
            for ending in ("", suffix):  # a column holding 'abc.jpg', or 'abc' with the suffix added
                field = "{" + column + "}"  # filled with the row's value by str.format, as the lab does
                pattern = f"{folder}/{field}{ending}" if folder else field + ending
                try:
                    if all((input_dir / pattern.format(**row)).is_file() for row in rows.to_dict("records")):
                        fitting.append(pattern)
                except (KeyError, AttributeError, IndexError, ValueError):  # a column name format() cannot take
                    continue
    named = [p for p in fitting if role in p.split("{")[0].lower()]
    return (named or fitting or [None])[0]


def propose_images(train_path, test_path, image=None, test_image=None, input_dir=INPUT_DIR):
    """Give data.image and data.test_image: the patterns given, or those under which the first rows' images exist."""
    found = {"image": image or propose_pattern(train_path, input_dir, "train"),
             "test_image": test_image or propose_pattern(test_path, input_dir, "test")}
    for key, path in (("image", train_path), ("test_image", test_path)):
        if found[key] is None:
            option = "--" + key.replace("_", "-")
            folder = "test" if "test" in key else "train"
            raise UserError(f"cannot find the images of {path.name}'s first rows in data/input/ (tried each image "
                            "folder with each column, with and without the folder's suffix). Fix: unzip the images "
                            f"into data/input/, or give {option} PATTERN, relative to data/input/ and filled with "
                            f"the row's columns, e.g. {option} {folder}_images/" + "{id}.png.")
    return found


def multilabel_columns(train, sample):
    """Give the sample submission's label columns when they are several 0/1 columns of train (multilabel), else None."""
    labels = [c for c in sample.columns[1:] if c in train.columns]
    if len(labels) < 2 or len(labels) != len(sample.columns) - 1:
        return None
    zero_one = all(set(train[c].dropna().unique()) <= {0, 1} for c in labels)
    return labels if zero_one else None


# The digits example a kind=image project starts with: train_images/img0000.png ... test_images/img0299.png.
EXAMPLE_FOLDERS, EXAMPLE_FILE = ("train_images", "test_images"), re.compile(r"img\d{4}\.png")


def example_leftovers(settings, input_dir=INPUT_DIR):
    """Give the bundled example's image folders that the switched config no longer reads (data/input/train_images/)."""
    read = [str(settings.get(key) or "") for key in ("image", "test_image")]
    found = []
    for name in EXAMPLE_FOLDERS:
        folder = input_dir / name
        if not folder.is_dir() or any(pattern.startswith(name + "/") for pattern in read):
            continue
        with os.scandir(folder) as entries:
            names = [entry.name for entry in entries]
        if names and all(EXAMPLE_FILE.fullmatch(n) for n in names):
            found.append(rel(folder) + "/")
    return found
