"""The image kind on real images no one on the project made: emoji of four vendors, their category as the label.

    python benchmarks/real_image.py [--size 32] [--model resnet10t] [--epochs 8] [--n-splits 2]
    python benchmarks/real_image.py --dataset icons [--names 120] [--sizes 4]   # Debian's icon themes: real_icons.py

1. Fetches, with the ordinary clients and pinned versions, into benchmarks/work/real_image/ (git-ignored):
   npm's emoji-datasource-google, -twitter and -facebook 16.0.0 (Noto, Twemoji, Facebook's emoji, each one
   PNG per emoji, with emoji.json giving its Unicode category) and Debian's ruby-gemojione 3.3.0-1 (EmojiOne 2
   PNGs, CC BY-SA 4.0, named by code point; left out when apt-get cannot fetch it).
2. Lays out a Kaggle-style competition in benchmarks/work/real_image/competition/ from the images AS THEY SHIP
   (extracted from the archives, never re-encoded or resized): train.csv (id, path, vendor, emoji, label),
   test.csv (id, path), sample_submission.csv (id, label). About 20% of the emojis, all their vendors' drawings,
   are the hidden test; their labels go to benchmarks/work/real_image/hidden/test_labels.csv, outside the
   competition's folder. The sizes and modes found are printed (PIL).
3. Bakes a kind=image project, edits only its config.yml and RUNS (data.dir, the path pattern, id, target,
   task, metric, group CV by emoji, image size, model, epochs, batch, augmentations), runs exp/exp001/exp.py,
   then predict.py run001 --test on the hidden test from the record.
4. Scores that submission against the hidden labels (accuracy, macro F1), beside the majority class and
   logistic regression on 16x16 pixels (gray and RGB, transparency over white) on the same split.

Skin-tone variants are left out. Needs npm, torch, timm, scikit-learn; `--skip-train` stops after the baselines.
"""
import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from collections import Counter

import numpy as np
import pandas as pd

from common import ENV, TEMPLATE, WORK, commit_project, machine_report, measure, set_runs, table

HOME = WORK / "real_image"
ARCHIVES, COMPETITION, HIDDEN = HOME / "archives", HOME / "competition", HOME / "hidden"
NPM = {"google": "emoji-datasource-google@16.0.0", "twitter": "emoji-datasource-twitter@16.0.0",
       "facebook": "emoji-datasource-facebook@16.0.0"}
DEB = ("ruby-gemojione", "3.3.0-1")
EMOJIONE_PNG = "usr/share/rubygems-integration/all/gems/gemojione-3.3.0/assets/png"
SKIP_CATEGORIES = {"Component"}  # 5 skin-tone and hair swatches, not emoji of their own


# ---------------------------------------------------------------- fetching and laying out

def fetch():
    """Give {vendor: archive path}: the npm tarballs and the Debian package, fetched once."""
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    found = {}
    for vendor, spec in NPM.items():
        name, version = spec.split("@")
        path = ARCHIVES / f"{name}-{version}.tgz"
        if not path.is_file():
            print(f"npm pack {spec} ...", flush=True)
            subprocess.run(["npm", "pack", spec, "--silent"], cwd=ARCHIVES, check=True, capture_output=True)
        found[vendor] = path
    name, version = DEB
    path = ARCHIVES / f"{name}_{version}_all.deb"
    if not path.is_file():
        print(f"apt-get download {name}={version} ...", flush=True)
        got = subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=ARCHIVES, capture_output=True, text=True)
        if got.returncode != 0:
            print(f"  left out: {got.stderr.strip().splitlines()[-1:]} (run apt-get update first?)")
    if path.is_file():
        found["emojione"] = path
    return found


def extract(archives):
    """Extract each vendor's PNGs (and emoji.json) byte for byte under competition/images/<vendor>/, once."""
    for vendor, archive in archives.items():
        into = COMPETITION / "images" / vendor
        if (into / ".done").is_file():
            continue
        shutil.rmtree(into, ignore_errors=True)
        into.mkdir(parents=True)
        if archive.suffix == ".deb":  # a .deb's files are a tar inside; dpkg-deb gives it as it is
            data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(archive)], check=True, capture_output=True).stdout
            tar, keep = tarfile.open(fileobj=io.BytesIO(data)), lambda n: n.lstrip("./").startswith(EMOJIONE_PNG + "/")
        else:
            tar = tarfile.open(archive)

            def keep(n):
                return n == "package/emoji.json" or n.startswith(f"package/img/{vendor}/64/")

        with tar:
            members = [m for m in tar.getmembers() if m.isfile() and keep(m.name)]
            tar.extractall(into, members=members, filter="data")
        (into / ".done").touch()


def emoji_table():
    """Give one row per emoji of emoji.json: key (code points, no FE0F), category, and each vendor's file name."""
    rows = []
    for entry in json.loads((COMPETITION / "images/google/package/emoji.json").read_text(encoding="utf-8")):
        if entry["category"] in SKIP_CATEGORIES:
            continue
        rows.append({"emoji": entry["unified"].upper().replace("-FE0F", ""), "category": entry["category"],
                     "image": entry["image"], "non_qualified": (entry["non_qualified"] or "").upper()})
    return pd.DataFrame(rows)


def image_rows(emojis, vendors):
    """Give one row per image found: vendor, emoji, label and its path relative to the competition folder."""
    rows = []
    for vendor in vendors:
        folder = COMPETITION / "images" / vendor
        if vendor == "emojione":
            png = folder / EMOJIONE_PNG
            for e in emojis.itertuples():
                for name in dict.fromkeys([e.emoji, e.non_qualified.replace("-FE0F", "")]):
                    if name and (png / f"{name}.png").is_file():
                        rows.append((vendor, e.emoji, e.category,
                                     (png / f"{name}.png").relative_to(COMPETITION).as_posix()))
                        break
        else:
            has = {e["image"] for e in json.loads((folder / "package/emoji.json").read_text())
                   if e[f"has_img_{vendor}"]}
            for e in emojis.itertuples():
                path = folder / "package/img" / vendor / "64" / e.image
                if e.image in has and path.is_file():
                    rows.append((vendor, e.emoji, e.category, path.relative_to(COMPETITION).as_posix()))
    return pd.DataFrame(rows, columns=["vendor", "emoji", "label", "path"])


def lay_out(images, test_share, seed):
    """Write train.csv, test.csv, sample_submission.csv and the hidden labels; split by emoji, stratified by label."""
    rng = np.random.default_rng(seed)
    emojis = images.drop_duplicates("emoji")[["emoji", "label"]]
    hidden = set()
    for _, group in emojis.groupby("label"):  # about test_share of each category's emojis, every vendor's drawing
        hidden |= set(rng.choice(group["emoji"].to_numpy(), size=round(len(group) * test_share), replace=False))
    images = images.sample(frac=1, random_state=seed).reset_index(drop=True)  # ids say nothing of vendor or label
    images.insert(0, "id", [f"img{k:05d}" for k in range(len(images))])
    in_test = images["emoji"].isin(hidden)
    train, test = images[~in_test], images[in_test]
    train[["id", "path", "vendor", "emoji", "label"]].to_csv(COMPETITION / "train.csv", index=False)
    test[["id", "path"]].to_csv(COMPETITION / "test.csv", index=False)
    majority = train["label"].mode()[0]
    pd.DataFrame({"id": test["id"], "label": majority}).to_csv(COMPETITION / "sample_submission.csv", index=False)
    HIDDEN.mkdir(parents=True, exist_ok=True)
    test[["id", "label", "vendor", "emoji", "path"]].to_csv(HIDDEN / "test_labels.csv", index=False)
    assert not set(train["emoji"]) & set(test["emoji"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def describe(images):
    """Print the images per vendor and label, and the sizes and modes PIL finds in the files."""
    from PIL import Image

    print(f"\n{len(images)} images of {images['emoji'].nunique()} emojis")
    print(pd.crosstab(images["label"], images["vendor"], margins=True).to_string())
    found = Counter()
    for row in images.itertuples():
        with Image.open(COMPETITION / row.path) as image:
            alpha = " + tRNS" if "transparency" in image.info else ""
            found[(row.vendor, f"{image.size[0]}x{image.size[1]}", image.mode + alpha)] += 1
    print("\nsizes and modes as shipped (PIL):")
    print(table([[v, s, m, n] for (v, s, m), n in sorted(found.items())], ["vendor", "size", "mode", "images"]))
    return found


# ---------------------------------------------------------------- scoring

def pixels(paths, size, gray, folder):
    """Give flattened size x size pixels in 0..1, transparency composited over white (for the baselines)."""
    from PIL import Image

    out = []
    for path in paths:
        with Image.open(folder / path) as image:
            image = image.convert("RGBA")
            flat = Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image)
            flat = flat.convert("L" if gray else "RGB").resize((size, size), Image.BILINEAR)
            out.append(np.asarray(flat, dtype=np.float32).ravel() / 255)
    return np.stack(out)


def scores(truth, predicted):
    from sklearn.metrics import accuracy_score, f1_score

    return accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro")


def baselines(train, test, seed, folder):
    """Give {name: predicted labels of the test rows} for the majority class and logistic regression on pixels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = {"majority class": np.full(len(test), train["label"].mode()[0], dtype=object)}
    for gray in (True, False):
        started = time.perf_counter()
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000, random_state=seed))
        model.fit(pixels(train["path"], 16, gray, folder), train["label"])
        out[f"logistic regression, 16x16 {'gray' if gray else 'RGB'}"] = model.predict(
            pixels(test["path"], 16, gray, folder))
        print(f"  baseline 16x16 {'gray' if gray else 'RGB'}: {time.perf_counter() - started:.0f} s", flush=True)
    return out


# ---------------------------------------------------------------- the project

def bake(args, home, competition, group):
    """Give a kind=image project pointed at the competition by its config.yml and RUNS only."""
    out = home / "project"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(out), str(TEMPLATE),
                    "kind=image", "verify_example=no", "git_init=no"], check=True, capture_output=True, env=ENV)
    project = out / "my-kaggle-competition"
    config = project / "exp" / "exp001" / "config.yml"
    text = config.read_text()
    for old, new in (("  dir: data/input ", f"  dir: {competition} "),
                     ("  image: train_images/{id}.png", "  image: \"{path}\""),
                     ("  test_image: test_images/{id}.png", "  test_image: \"{path}\""),
                     ("  scheme: stratified ", "  scheme: stratified_group "),
                     ("  group: null ", f"  group: {group} "),
                     ("  name: test_resnet ", f"  name: {args.model} ")):
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)
    set_runs(project, [f"""
task: multiclass
metric: accuracy
image:
  size: {args.size}
cv:
  n_splits: {args.n_splits}
dataset:
  batch_size: {args.batch_size}
train:
  epochs: {args.epochs}
  lr: {args.lr}
  warmup_epochs: 1
augment:
  random_resized_crop: [0.8, 1.0]
"""])
    commit_project(project)
    return project


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("emoji", "icons"), default="emoji")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--model", default="resnet10t")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--n-splits", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--names", type=int, default=120, help="icons: at most this many icon names per context")
    parser.add_argument("--sizes", type=int, default=4, help="icons: at most this many sizes per theme and icon name")
    parser.add_argument("--test-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-train", action="store_true", help="stop after the layout and the baselines")
    args = parser.parse_args()
    print(machine_report(("numpy", "pandas", "scikit-learn", "Pillow", "torch", "torchvision", "timm", "cookiecutter")))
    if args.dataset == "icons":  # Debian's icon themes, mixed sizes and modes: real_icons.py
        import real_icons
        (train, test), home, competition = real_icons.prepare(args), real_icons.HOME, real_icons.COMPETITION
        group, things, by = "icon", "icon names", ["theme", "size"]
    else:
        home, competition, group, things, by = HOME, COMPETITION, "emoji", "emojis", ["vendor"]
        extract(archives := fetch())
        describe(images := image_rows(emoji_table(), list(archives)))
        train, test = lay_out(images, args.test_share, args.seed)
    print(f"\ntrain: {len(train)} images of {train[group].nunique()} {things}; hidden test: {len(test)} images of "
          f"{test[group].nunique()} {things} (none on both sides)")
    predictions = baselines(train, test, args.seed, competition)
    if not args.skip_train:
        project = bake(args, home, competition, group)
        log = home / "exp.log"
        print(f"\ntraining {args.model} from scratch at {args.size}x{args.size}, {args.epochs} epochs x "
              f"{args.n_splits} folds (log: {log}) ...", flush=True)
        took = measure([sys.executable, "exp/exp001/exp.py"], cwd=project, log_path=log, quiet_limit=10)
        record = project / "data/output/exp/exp001/run001"
        submission = home / "hidden_submission.csv"
        predicted = measure([sys.executable, "exp/exp001/predict.py", "run001", "--test", str(competition / "test.csv"),
                             "--images", str(competition), "--out", str(submission)], cwd=project,
                            log_path=home / "predict.log", quiet_limit=0)
        sub = pd.read_csv(submission)
        assert sub["id"].equals(test["id"]) and sub.equals(pd.read_csv(record / "submission.csv"))
        predictions[f"exp001 ({args.model}, {args.size}px), predict.py from the record"] = sub["label"].to_numpy()
        cv = json.loads((record / "metrics.json").read_text())
        print(f"exp.py: {took.seconds / 60:.1f} min wall, {took.cpu / 60:.1f} min CPU, peak {took.peak_mib:.0f} MiB"
              f"{' (disturbed by other processes)' if took.disturbed() else ''}; predict.py {predicted.seconds:.0f} s; "
              f"CV accuracy (group folds by {group}) {cv.get('cv', float('nan')):.4f}")
    truth = test["label"].to_numpy()
    rows = [[name, f"{a:.4f}", f"{f:.4f}"] for name, p in predictions.items() for a, f in [scores(truth, p)]]
    print(f"\nhidden test: {len(test)} images of {test[group].nunique()} {things} never seen in training, "
          f"{test['label'].nunique()} classes")
    print(table(rows, ["predictor", "accuracy", "macro F1"]))
    mine = list(predictions)[-1]
    for column in by if not args.skip_train else []:
        print(f"\nexp001's accuracy per {column}:")
        masks = {v: (test[column] == v).to_numpy() for v in sorted(test[column].unique(), key=lambda v: (len(v), v))}
        print(table([[v, int(m.sum()), *(f"{x:.4f}" for x in scores(truth[m], predictions[mine][m]))]
                     for v, m in masks.items()], [column, "images", "accuracy", "macro F1"]))


if __name__ == "__main__":
    main()
