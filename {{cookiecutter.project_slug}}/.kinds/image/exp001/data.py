"""Reading the competition's table and images: ids, the target, each row's image file, batches with augmentations.

data.image and data.test_image are path patterns relative to data.dir, filled with each row's columns
(train_images/{id}.png, or {path} when a column holds the file name). Images may come in any size,
mode (grayscale, RGB, RGBA, palette) and format Pillow reads (PNG, JPEG, ...): each is decoded to RGB
and resized to image.size. With dataset.cache, that happens once per process and is shared by every
fold and by every run with the same image.size.
"""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from deep.paths import check_inside, read_every_file
from deep.table import DATA_DIR_ENV, data_dir, encode_target, read_csv, read_tables, require_columns, standardizing  # noqa: F401 (predict.py)
from runner.util import DataError

_CACHE = {}  # (path, height, width) -> HxWx3 uint8 array: decoded and resized once per process


# ---------------------------------------------------------------- the table

def load_table(cfg, n_rows=None):
    """Give train and test ids, the target (class codes, 0/1 columns or values), classes and every image's path."""
    spec, task = cfg["data"], cfg["task"]
    folder = data_dir(cfg)
    train, test, sample = read_tables(cfg, n_rows, [], [])
    targets = spec["target"] if isinstance(spec["target"], list) else [spec["target"]]
    group = cfg["cv"]["group"]
    y, classes = encode_target(train, targets, task, folder / spec["train"])
    return SimpleNamespace(
        ids=train[spec["id"]].reset_index(drop=True), test_ids=test[spec["id"]].reset_index(drop=True),
        y=y, classes=classes, sample=sample,
        paths=image_paths(train, spec["image"], folder, spec["train"], "data.image", spec["allow_outside"]),
        test_paths=image_paths(test, spec["test_image"], folder, spec["test"], "data.test_image",
                               spec["allow_outside"]),
        target_stats=standardizing(y) if task == "regression" else None,
        groups=train[group].to_numpy() if group else None,
    )


def image_paths(frame, pattern, folder, table, key="data.test_image", allowed=()):
    """Give each row's image path: `pattern` filled with the row's columns, under `folder` (and never outside it)."""
    try:
        paths = [folder / pattern.format(**row) for row in frame.astype(str).to_dict("records")]
    except KeyError as e:
        raise DataError(f"{key} pattern {pattern!r} names column {e.args[0]!r}, which {table} lacks; its columns: "
                        f"{', '.join(map(str, frame.columns))}. Fix: write the pattern with those, e.g. "
                        f"train_images/{{id}}.png.") from None
    check_inside(paths, folder, allowed, table, key, pattern)
    return paths


# ---------------------------------------------------------------- the images

class ImageSize(tuple):
    """(height, width) of the images a run trains on, and how each image gets there: `mode`, image.resize."""

    def __new__(cls, height, width, mode="squash"):
        size = super().__new__(cls, (height, width))
        size.mode = mode
        return size


def image_size(cfg):
    """Give image.size as (height, width), with image.resize as its mode (squash for records made before it)."""
    size = cfg["image"]["size"]
    height, width = (size, size) if isinstance(size, int) else size
    return ImageSize(height, width, cfg["image"].get("resize", "squash"))


def fit(image, size):
    """Give a PIL image at size (height, width): squash (stretched), pad (whole, centred on white) or crop (centre)."""
    from PIL import Image

    mode, target = getattr(size, "mode", "squash"), (size[1], size[0])  # PIL counts width first
    if image.size == target:
        return image
    if mode == "squash":
        return image.resize(target, Image.BILINEAR)
    scale = (min if mode == "pad" else max)(target[0] / image.width, target[1] / image.height)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR)
    if mode == "crop":
        left, top = (image.width - target[0]) // 2, (image.height - target[1]) // 2
        return image.crop((left, top, left + target[0], top + target[1]))
    canvas = Image.new("RGB", target, (255, 255, 255))  # white, as transparent pixels are
    canvas.paste(image, ((target[0] - image.width) // 2, (target[1] - image.height) // 2))
    return canvas


def read_image(path, size):
    """Give the image at `path` as RGB, resized to size (height, width): an HxWx3 uint8 array."""
    from PIL import Image

    with Image.open(path) as image:
        # A JPEG much larger than the target decodes at 1/2, 1/4 or 1/8 of its size (still at least the target):
        # several times faster, and the resize below smooths it the same way.
        image.draft(None, (size[1], size[0]))
        if image.mode in ("I", "I;16", "I;16B", "F"):  # 16-bit or float pixels: each image stretched into 0..255
            pixels = np.asarray(image, dtype=np.float32)
            span = float(pixels.max() - pixels.min()) or 1.0
            image = Image.fromarray(((pixels - pixels.min()) * (255 / span)).astype(np.uint8))
        # Transparent pixels over white, as a viewer shows them: an alpha channel, or a PNG's transparent colour
        # (tRNS) in a palette, grayscale or RGB image (EmojiOne's grayscale emoji have one).
        if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image)
        # a writable copy: torch refuses read-only arrays
        return np.array(fit(image.convert("RGB"), size), dtype=np.uint8)


def load_images(paths, size, cache=True, table="train.csv", threads=8):
    """Give every image decoded and resized (a list of arrays), or raise one DataError naming each bad file and its row.

    With cache, arrays are kept for the rest of the process; without it they are only checked here.
    """
    def one(path):
        key = (str(path), *size, getattr(size, "mode", "squash"))
        if key in _CACHE:
            return _CACHE[key], None
        try:
            array = read_image(path, size)
        except FileNotFoundError:
            return None, "file not found"
        except Exception as e:  # truncated, not an image, an unknown mode: Pillow's own words
            return None, f"cannot be read ({type(e).__name__}: {e})"
        if cache:
            _CACHE[key] = array
        return array, None

    arrays = read_every_file(one, paths, paths, table, "images", "data.image", threads)
    return arrays if cache else None


class ImageDataset(torch.utils.data.Dataset):
    """Give (image as a 3xHxW uint8 tensor, target) pairs; images from memory (cache) or decoded from disk."""

    def __init__(self, paths, size, arrays=None, targets=None, augment=None):
        self.paths, self.size, self.arrays, self.targets, self.augment = paths, size, arrays, targets, augment

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        array = self.arrays[i] if self.arrays is not None else read_image(self.paths[i], self.size)
        image = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
        if self.augment is not None:
            image = self.augment(image)
        target = self.targets[i] if self.targets is not None else 0
        return image, torch.as_tensor(target)


# ---------------------------------------------------------------- what the shared lab (train.py) asks of the inputs

UNIT = "images"  # what the log counts per second


def load_inputs(cfg, paths, table):
    """Give every image decoded and resized (with dataset.cache), or None; raise DataError naming any bad file."""
    return load_images(paths, image_size(cfg), cfg["dataset"]["cache"], table)


def describe_inputs(cfg, table):
    size = image_size(cfg)
    return (f"train {len(table.paths):,} images, test {len(table.test_paths):,}, resized to {size[0]}x{size[1]}"
            + ("" if cfg["dataset"]["cache"] else "; images decoded every epoch (dataset.cache: false)"))


def input_record(cfg):
    """Give what metrics.json says of the inputs a run trained on."""
    return {"image_size": list(image_size(cfg))}


def make_dataset(cfg, paths, arrays, targets=None, rows=None, augment=None, train=False):
    """Give the Dataset of `rows` (all when None) of paths / decoded arrays; `augment` transforms each train image
    (`train`: what the audio kind cuts at random; an image is taken whole)."""
    if rows is not None:
        paths, arrays = [paths[i] for i in rows], [arrays[i] for i in rows] if arrays is not None else None
        targets = targets[rows]
    return ImageDataset(paths, image_size(cfg), arrays, targets, augment)


def to_input(images, cfg, device):
    """Give a batch of uint8 images as the model's input: on the device, normalized, channels_last when asked."""
    x = normalize(images.to(device, non_blocking=True), cfg)
    return x.contiguous(memory_format=torch.channels_last) if cfg["train"]["channels_last"] else x


def normalize(images, cfg):
    """Give uint8 images (N, 3, H, W) as floats scaled by image.mean and image.std (ImageNet's by default)."""
    mean = torch.tensor(cfg["image"]["mean"], device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(cfg["image"]["std"], device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def tta_views(cfg):
    """Give the names of the TTA views (tta.hflip, tta.vflip) predictions are averaged over, beside the image."""
    return [name for name in ("hflip", "vflip") if cfg["tta"][name]]


def tta_view(x, name):
    return x.flip(3) if name == "hflip" else x.flip(2)  # (N, C, H, W): width is the last axis


def read_test(cfg, test, files=None):
    """Give (ids, dataset) of another test table whose rows name images under `files` (default: its folder)."""
    return read_test_rows(cfg, read_csv(test, cfg["data"]["id"]), files or test.parent, test)


def read_test_rows(cfg, table, files, where, cache=True):
    """Give (ids, dataset) of a table of test rows naming images under `files`, as read_test does for a file (an
    inference server's batch too: cache=False decodes its images as they are predicted, and keeps none)."""
    spec = cfg["data"]
    require_columns(table, [spec["id"]], where)
    paths = image_paths(table, spec["test_image"], Path(files), Path(where).name, "data.test_image",
                        spec.get("allow_outside") or ())
    arrays = load_images(paths, image_size(cfg), cache, Path(where).name)
    return table[spec["id"]], make_dataset(cfg, paths, arrays)


def speed(dataset, seconds):
    """Give how fast `dataset` was predicted, for predict.py's log."""
    return f"{len(dataset) / max(seconds, 1e-9):,.0f} images/s"
