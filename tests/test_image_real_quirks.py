"""The image kind on quirks that real image sets showed (benchmarks/real_image.py: emoji of four vendors, and
Debian's icon themes with --dataset icons).

Every image here is a tiny one the test makes; models are timm's test_* ones, from scratch; no network.
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import run_exp, run_python

EXP = Path("exp/exp001")


def read_with_the_lab(project, paths, size, folder):
    """Give each image as the lab's data.read_image decodes it (HxWx3 lists), read in a process of its own
    whose script is written to `folder` (the baked project is shared: read-only)."""
    script = folder / "read_images.py"
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(project / EXP)!r})\n"
        "from data import read_image\n"
        f"print(json.dumps([read_image(p, {tuple(size)!r}).tolist() for p in {[str(p) for p in paths]!r}]))\n")
    result = run_python(project, str(script))
    assert result.returncode == 0, result.stdout + result.stderr
    return [np.array(a) for a in json.loads(result.stdout)]


def test_a_png_s_transparent_colour_is_white_in_grayscale_rgb_and_palette_images_too(image_baked, tmp_path):
    # EmojiOne's grayscale emoji (ruby-gemojione's 1F532.png, 1F533.png) are mode L with a tRNS colour: their
    # transparent corners came out black, where an alpha channel's came out white.
    inside = np.zeros((4, 6), dtype=np.uint8)
    inside[1:3, 2:5] = 100  # a gray square; the rest is the transparent colour 0
    images = {
        "L + tRNS": (Image.fromarray(inside, "L"), {"transparency": 0}),
        "RGB + tRNS": (Image.fromarray(np.stack([inside] * 3, -1), "RGB"), {"transparency": (0, 0, 0)}),
        "P + tRNS": (Image.fromarray(inside, "L").convert("P"), {"transparency": 0}),
        "LA": (Image.fromarray(np.stack([inside, np.where(inside > 0, 255, 0).astype(np.uint8)], -1), "LA"), {}),
        "RGBA": (Image.fromarray(np.stack([inside] * 3 + [np.where(inside > 0, 255, 0).astype(np.uint8)], -1), "RGBA"),
                 {}),
        "L, opaque": (Image.fromarray(inside, "L"), {}),  # black is black when nothing says it is transparent
    }
    paths = []
    for k, (name, (image, options)) in enumerate(images.items()):
        paths.append(tmp_path / f"image{k}.png")
        image.save(paths[-1], **options)
        with Image.open(paths[-1]) as saved:  # the file has what the case names
            assert saved.mode == name.split()[0].rstrip(","), name
            assert ("transparency" in saved.info) == ("tRNS" in name), name

    decoded = read_with_the_lab(image_baked, paths, (4, 6), tmp_path)

    for name, array in zip(images, decoded):
        assert array.shape == (4, 6, 3), name
        assert (array[1:3, 2:5] == 100).all(), name
        corner = 0 if name == "L, opaque" else 255
        assert (array[0] == corner).all() and (array[:, :2] == corner).all(), f"{name}: {array[:, :, 0].tolist()}"



def test_icons_of_mixed_sizes_and_modes_are_read_as_a_viewer_shows_them_then_resized(image_baked, tmp_path):
    # Debian's icon themes (benchmarks/real_image.py --dataset icons) ship 8 to 256 pixels, a few not square
    # (14x16, 48x46), as RGBA, palette + tRNS or LA: each must come out as PIL's composite over white, resized.
    rng = np.random.default_rng(0)
    cases = [((8, 8), "RGBA"), ((16, 14), "P"), ((46, 48), "LA"), ((256, 256), "RGBA"), ((22, 22), "P"),
             ((128, 128), "LA")]
    paths, expected = [], []
    for k, ((height, width), mode) in enumerate(cases):
        gray = rng.integers(0, 256, (height, width), dtype=np.uint8)
        alpha = np.where(rng.random((height, width)) < 0.3, 0, 255).astype(np.uint8)
        if mode == "RGBA":
            image, options = Image.fromarray(np.stack([gray, 255 - gray, gray // 2, alpha], -1), "RGBA"), {}
        elif mode == "LA":
            image, options = Image.fromarray(np.stack([gray, alpha], -1), "LA"), {}
        else:  # a palette whose entry 0 is the transparent colour
            image, options = Image.fromarray(np.where(alpha == 0, 0, gray | 1), "L").convert("P"), {"transparency": 0}
        paths.append(tmp_path / f"icon{k}.png")
        image.save(paths[-1], **options)
        with Image.open(paths[-1]) as saved:
            assert saved.mode == mode and saved.size == (width, height)
            flat = Image.alpha_composite(Image.new("RGBA", saved.size, (255, 255, 255, 255)), saved.convert("RGBA"))
            expected.append(np.asarray(flat.convert("RGB").resize((24, 24), Image.BILINEAR)))

    decoded = read_with_the_lab(image_baked, paths, (24, 24), tmp_path)

    for (size, mode), array, want in zip(cases, decoded, expected):
        assert array.shape == (24, 24, 3), (size, mode)
        assert np.array_equal(array, want), (size, mode)

def emoji_like_competition(folder, n_emojis=36, vendors=("alpha", "beta", "gamma")):
    """Write a competition laid out like benchmarks/real_image.py's: each vendor's PNGs in its own folder tree.

    Every emoji is drawn once per vendor (in its own mode: RGBA, P + tRNS, L + tRNS); train.csv has id, path, vendor,
    emoji, label; the test's ids are another emoji set. Gives (train, test) frames.
    """
    rng = np.random.default_rng(0)
    rows = []
    for e in range(n_emojis):
        label = ["round", "square", "bar"][e % 3]
        for v, vendor in enumerate(vendors):
            size = 12 + 4 * v  # one size per vendor
            canvas = np.zeros((size, size), dtype=np.uint8)
            middle, half = size // 2, size // 4 + rng.integers(0, 2)
            if label == "square":
                canvas[middle - half:middle + half, middle - half:middle + half] = 60 + 3 * e
            elif label == "bar":
                canvas[middle - 1:middle + 1, 1:-1] = 60 + 3 * e
            else:
                yy, xx = np.mgrid[:size, :size]
                canvas[(yy - middle) ** 2 + (xx - middle) ** 2 <= half ** 2] = 60 + 3 * e
            path = Path("images") / vendor / "img" / "64" / f"{e:04x}-fe0f.png"
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            if vendor == "alpha":
                alpha = np.where(canvas > 0, 255, 0).astype(np.uint8)
                Image.fromarray(np.stack([canvas] * 3 + [alpha], -1), "RGBA").save(folder / path)
            elif vendor == "beta":
                Image.fromarray(canvas, "L").convert("P").save(folder / path, transparency=0)
            else:
                Image.fromarray(canvas, "L").save(folder / path, transparency=0)
            rows.append((vendor, f"{e:04X}", label, path.as_posix()))
    images = pd.DataFrame(rows, columns=["vendor", "emoji", "label", "path"]).sample(frac=1, random_state=0)
    images.insert(0, "id", [f"img{k:04d}" for k in range(len(images))])
    in_test = images["emoji"].isin({f"{e:04X}" for e in range(0, n_emojis, 6)})
    train, test = images[~in_test].reset_index(drop=True), images[in_test].reset_index(drop=True)
    train.to_csv(folder / "train.csv", index=False)
    test[["id", "path"]].to_csv(folder / "test.csv", index=False)
    test[["id"]].assign(label="round").to_csv(folder / "sample_submission.csv", index=False)
    return train, test


@pytest.mark.slow
def test_a_competition_outside_the_project_trains_by_config_alone_with_group_folds_by_emoji(image_baked, tmp_path):
    competition = tmp_path / "competition"
    train, test = emoji_like_competition(competition)
    project = tmp_path / image_baked.name
    shutil.copytree(image_baked, project)
    config = project / EXP / "config.yml"
    text = config.read_text()
    for old, new in (("  dir: data/input ", f"  dir: {competition} "),  # an absolute folder outside the project
                     ("  image: train_images/{id}.png", '  image: "{path}"'),  # the path column, sub-folders in it
                     ("  test_image: test_images/{id}.png", '  test_image: "{path}"'),
                     ("  scheme: stratified ", "  scheme: stratified_group "), ("  group: null ", "  group: emoji "),
                     ("  n_splits: 5\n", "  n_splits: 3\n"), ("  epochs: 3\n", "  epochs: 1\n")):
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)
    exp_py = project / EXP / "exp.py"
    source = exp_py.read_text()
    start = source.index("RUNS = [")
    end = source.index("\n]\n", start) + 1  # SEARCH follows RUNS
    exp_py.write_text(source[:start] + 'RUNS = [\n    """\n    image:\n      size: 16\n    """,\n' + source[end:])

    result = run_exp(project)

    assert result.returncode == 0, result.stdout + result.stderr
    record = project / "data/output/exp/exp001/run001"
    oof = pd.read_csv(record / "oof.csv", dtype={"id": str}).merge(train[["id", "emoji"]], on="id")
    assert len(oof) == len(train)
    assert (oof.groupby("emoji")["fold"].nunique() == 1).all()  # an emoji's drawings by every vendor in one fold
    assert oof["fold"].nunique() == 3
    submission = pd.read_csv(record / "submission.csv", dtype={"id": str})
    assert submission["id"].equals(test["id"]) and submission["label"].isin(["round", "square", "bar"]).all()
    # The hidden test's table elsewhere, its images found through --images: the run's own submission again.
    hidden = tmp_path / "hidden" / "test.csv"
    hidden.parent.mkdir()
    test[["id", "path"]].to_csv(hidden, index=False)
    out = tmp_path / "hidden" / "submission.csv"
    predicted = run_python(project, "exp/exp001/predict.py", "run001", "--test", str(hidden), "--images",
                           str(competition),
                           "--out", str(out))
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert pd.read_csv(out, dtype={"id": str}).equals(submission)
