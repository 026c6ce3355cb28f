"""The icon data set of benchmarks/real_image.py (--dataset icons): Debian's icon themes, their context folder as the
label.

Oxygen (oxygen-icon-theme 5:5.103.0-1) and Tango (tango-icon-theme 0.8.90-11), fetched once with `apt-get download`
and unpacked with `dpkg-deb -x` into benchmarks/work/real_icons/unpacked/ (git-ignored). Their PNGs come at many
sizes (8 to 256 pixels, a few not square) and modes (RGBA, palette with a transparent colour, LA, ...).

- The label is the icon's context folder (actions, apps, devices, ...); contexts with fewer than MIN_NAMES icon
  names are left out, as are the few names filed under two contexts.
- Only regular files: a symbolic link is another name or size for a file already there. Files with the same bytes
  as one kept already are left out, so no picture is on both sides under two names.
- An icon is its name, across sizes and themes (Oxygen's and Tango's "edit-copy" are one icon): `icon` is the
  group column, and about test_share of each context's icon names, with every file of theirs, are the hidden test.
- At most `names` icon names per context and `sizes` sizes per theme and name are sampled (seeded), to bound the
  training time; the files kept are copied byte for byte to competition/images/<id>.png (the folder names would
  tell the label).
"""
import hashlib
import shutil
import subprocess
from collections import Counter

import numpy as np
import pandas as pd

from common import WORK, table

HOME = WORK / "real_icons"
ARCHIVES, UNPACKED, COMPETITION, HIDDEN = HOME / "archives", HOME / "unpacked", HOME / "competition", HOME / "hidden"
DEBS = {"oxygen": ("oxygen-icon-theme", "5:5.103.0-1", "usr/share/icons/oxygen/base"),
        "tango": ("tango-icon-theme", "0.8.90-11", "usr/share/icons/Tango")}
MIN_NAMES = 45  # contexts with fewer icon names are left out (emblems 34, categories 30, Oxygen's 256-only applets 40)


def fetch():
    """Give {theme: unpacked folder}: each package downloaded and unpacked once."""
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    found = {}
    for theme, (name, version, inside) in DEBS.items():
        into = UNPACKED / theme
        if not (into / ".done").is_file():
            debs = list(ARCHIVES.glob(f"{name}_*.deb"))
            if not debs:
                print(f"apt-get download {name}={version} ...", flush=True)
                subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=ARCHIVES, check=True,
                               capture_output=True)
                debs = list(ARCHIVES.glob(f"{name}_*.deb"))
            shutil.rmtree(into, ignore_errors=True)
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(into)], check=True)
            (into / ".done").touch()
        found[theme] = into / inside
    return found


def icon_rows(themes):
    """Give one row per regular PNG file: theme, folder size, context, icon name, source path, its bytes' digest."""
    rows = []
    for theme, base in themes.items():
        for path in sorted(base.glob("*/*/*.png")):
            if not path.is_symlink():
                rows.append((theme, path.parent.parent.name, path.parent.name, path.stem, path,
                             hashlib.sha1(path.read_bytes()).hexdigest()))
    return pd.DataFrame(rows, columns=["theme", "folder", "label", "icon", "source", "digest"])


def choose(rows, names, sizes, seed):
    """Give the files kept: no repeated bytes, one context per name, big enough contexts, names and sizes sampled."""
    rng = np.random.default_rng(seed)
    rows = rows.drop_duplicates("digest")
    contexts = rows.groupby("icon")["label"].nunique()
    rows = rows[rows["icon"].isin(contexts.index[contexts == 1])]
    per_context = rows.drop_duplicates("icon").groupby("label")["icon"].apply(list)
    kept = [n for label, icons in per_context.items() if len(icons) >= MIN_NAMES
            for n in rng.choice(sorted(icons), size=min(names, len(icons)), replace=False)]
    rows = rows[rows["icon"].isin(set(kept))]
    rows = rows.sample(frac=1, random_state=seed)  # then the first `sizes` of each theme's sizes of the icon
    kept = rows[rows.groupby(["theme", "icon"]).cumcount() < sizes]
    return kept.sort_values(["theme", "icon", "folder"]).reset_index(drop=True)


def describe(rows):
    """Print the images per context and theme, and the sizes and modes PIL finds in the files; give those counts."""
    from PIL import Image

    print(f"\n{len(rows)} images of {rows['icon'].nunique()} icon names")
    print(pd.crosstab(rows["label"], rows["theme"], margins=True).to_string())
    sizes, modes = Counter(), Counter()
    for row in rows.itertuples():
        with Image.open(row.source) as image:
            sizes[f"{image.size[0]}x{image.size[1]}"] += 1
            modes[image.mode + (" + tRNS" if "transparency" in image.info else "")] += 1
    print("\nsizes as shipped (PIL):")
    print(table([[s, n] for s, n in sorted(sizes.items(), key=lambda kv: -kv[1])], ["size", "images"]))
    print("\nmodes as shipped (PIL):")
    print(table([[m, n] for m, n in modes.most_common()], ["mode", "images"]))
    return sizes, modes


def lay_out(rows, test_share, seed):
    """Write the competition (images by id, train.csv, test.csv, sample_submission.csv) and the hidden labels."""
    rng = np.random.default_rng(seed)
    hidden = set()
    for _, group in rows.drop_duplicates("icon").groupby("label"):
        hidden |= set(rng.choice(group["icon"].to_numpy(), size=round(len(group) * test_share), replace=False))
    rows = rows.sample(frac=1, random_state=seed).reset_index(drop=True)  # ids say nothing of theme, size or label
    rows.insert(0, "id", [f"icon{k:05d}" for k in range(len(rows))])
    rows["path"] = "images/" + rows["id"] + ".png"
    shutil.rmtree(COMPETITION, ignore_errors=True)
    (COMPETITION / "images").mkdir(parents=True)
    for row in rows.itertuples():
        shutil.copyfile(row.source, COMPETITION / row.path)  # byte for byte
    rows["size"] = rows["folder"]
    in_test = rows["icon"].isin(hidden)
    train, test = rows[~in_test], rows[in_test]
    train[["id", "path", "theme", "icon", "label"]].to_csv(COMPETITION / "train.csv", index=False)
    test[["id", "path"]].to_csv(COMPETITION / "test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"], "label": train["label"].mode()[0]})
    sample.to_csv(COMPETITION / "sample_submission.csv", index=False)
    HIDDEN.mkdir(parents=True, exist_ok=True)
    test[["id", "label", "theme", "icon", "size", "source"]].to_csv(HIDDEN / "test_labels.csv", index=False)
    assert not set(train["icon"]) & set(test["icon"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def prepare(args):
    """Fetch, choose, describe and lay out; give (train, test)."""
    rows = choose(icon_rows(fetch()), args.names, args.sizes, args.seed)
    describe(rows)
    return lay_out(rows, args.test_share, args.seed)
