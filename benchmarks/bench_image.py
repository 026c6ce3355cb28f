"""images/s of one exp001 run of the image kind vs a hand-written PyTorch loop, side by side.

    python benchmarks/bench_image.py [--repeat 2] [--train 1000] [--size 64] [--epochs 2]

Both sides train the same timm model (test_resnet, from scratch, on the CPU unless there is a GPU) on the same
JPEGs (scikit-learn's digits drawn at --source pixels in colour, with noise, written once to
benchmarks/work/image_data/), resized to the same size, with the same batch size, num_workers, folds
(5, stratified), epochs, optimizer and schedule; both score the valid images after every epoch and predict the
test images with each fold's best weights.
The hand loop (handwritten_image.py) decodes every image each time it reads it. exp001 runs twice: with
dataset.cache false (decodes every epoch too; goal: at least 0.95x the hand loop's images/s) and true (decodes
once per process; goal: at least 1.5x). Times are whole processes: imports, checks and the record included;
images/s is given per wall second and per CPU second (steadier when the machine is shared).
"""
import argparse
import json
import shutil
import subprocess
import sys

import numpy as np

from common import ENV, TEMPLATE, WORK, commit_project, measure, median, set_runs

DATA = WORK / "image_data"


def make_data(n_train, n_test, source):
    """Write train.csv, test.csv, sample_submission.csv and source x source JPEGs once;
    reuse them when they are there."""
    from PIL import Image
    from sklearn.datasets import load_digits

    stamp = DATA / f"done-{n_train}-{n_test}-{source}"
    if stamp.is_file():
        return
    shutil.rmtree(DATA, ignore_errors=True)
    (DATA / "train_images").mkdir(parents=True)
    (DATA / "test_images").mkdir()
    digits, rng = load_digits(), np.random.default_rng(0)
    rows = []
    for k in range(n_train + n_test):
        index = k % len(digits.target)
        gray = np.kron(digits.images[index] * 15, np.ones((source // 8, source // 8)))  # 8x8 -> source x source
        rgb = np.clip(np.stack([gray] * 3, -1) + rng.normal(0, 25, (*gray.shape, 3)), 0, 255).astype(np.uint8)
        folder = "train_images" if k < n_train else "test_images"
        Image.fromarray(rgb).save(DATA / folder / f"img{k:05d}.jpg", quality=90)
        rows.append((f"img{k:05d}", int(digits.target[index])))
    write_csv(DATA / "train.csv", "id,label", [f"{i},{y}" for i, y in rows[:n_train]])
    write_csv(DATA / "test.csv", "id", [i for i, _ in rows[n_train:]])
    write_csv(DATA / "sample_submission.csv", "id,label", [f"{i},0" for i, _ in rows[n_train:]])
    stamp.touch()


def write_csv(path, header, lines):
    path.write_text("\n".join([header, *lines]) + "\n")


def bake(args):
    """Give an image project whose data/input/ is the benchmark's data and whose config matches the hand loop."""
    out = WORK / "image"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(out), str(TEMPLATE),
                    "kind=image", "verify_example=no", "git_init=no"], check=True, capture_output=True, env=ENV)
    project = out / "my-kaggle-competition"
    inputs = project / "data" / "input"
    shutil.rmtree(inputs)
    inputs.mkdir()
    for name in ("train.csv", "test.csv", "sample_submission.csv", "train_images", "test_images"):
        (inputs / name).symlink_to(DATA / name)
    config = project / "exp" / "exp001" / "config.yml"
    text = config.read_text()
    for old, new in (("{id}.png", "{id}.jpg"), ("  size: 32 ", f"  size: {args.size} "),
                     ("  batch_size: 64", f"  batch_size: {args.batch_size}"),
                     ("  epochs: 3\n", f"  epochs: {args.epochs}\n"),
                     ("  num_workers: null ", f"  num_workers: {args.num_workers} ")):
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)
    commit_project(project)
    return project


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--source", type=int, default=384,
                        help="pixels of the JPEGs on disk (Kaggle's are often larger)")
    args = parser.parse_args()
    make_data(args.train, args.train // 5, args.source)
    project = bake(args)
    hand_out = WORK / "image_hand"
    hand = [sys.executable, str(TEMPLATE / "benchmarks" / "handwritten_image.py"), str(DATA), str(hand_out),
            "--size", str(args.size), "--batch-size", str(args.batch_size), "--epochs", str(args.epochs),
            "--model", "test_resnet", "--num-workers", str(args.num_workers)]
    images = args.train * 4 // 5 * args.epochs * 5  # images trained on by one run: 5 folds of 4/5 of train
    sides = ["hand loop (decodes every epoch)", "exp001, dataset.cache: false", "exp001, dataset.cache: true"]
    seconds, cpu = {side: [] for side in sides}, {side: [] for side in sides}
    env = {"OMP_NUM_THREADS": str(ENV.get("OMP_NUM_THREADS", "2"))}
    for r in range(args.repeat):  # sides interleaved, so a drift of the machine's speed hits them alike
        shutil.rmtree(hand_out, ignore_errors=True)
        took = measure(hand, log_path=WORK / "image_hand.log", quiet_limit=30, env=env)
        seconds[sides[0]].append(took.seconds)
        cpu[sides[0]].append(took.cpu)
        for cache in ("false", "true"):
            shutil.rmtree(project / "data" / "output" / "exp", ignore_errors=True)
            set_runs(project, [f"dataset:\n  cache: {cache}"])
            took = measure([sys.executable, str(project / "exp" / "exp001" / "exp.py")], cwd=project,
                           log_path=WORK / f"image_exp_{cache}.log", quiet_limit=30, env=env)
            seconds[f"exp001, dataset.cache: {cache}"].append(took.seconds)
            cpu[f"exp001, dataset.cache: {cache}"].append(took.cpu)
        print(f"repeat {r + 1}/{args.repeat}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in seconds.items()),
              flush=True)
    print(f"\n{args.train} train images ({args.source}x{args.source} JPEGs) at {args.size}x{args.size}, batch "
          f"{args.batch_size}, {args.epochs} epochs x 5 folds, num_workers {args.num_workers}, test_resnet; medians of "
          f"{args.repeat}, whole processes")
    for label, table in (("wall", seconds), ("CPU", cpu)):
        base = images / median(table[sides[0]])
        for side, values in table.items():
            rate = images / median(values)
            print(f"  {label:4s} {side:34s} {median(values):7.1f} s  {rate:8.0f} images/s  {rate / base:5.2f}x the "
                  "hand loop")
    print(json.dumps({"wall": {k: [round(s, 2) for s in v] for k, v in seconds.items()},
                      "cpu": {k: [round(s, 2) for s in v] for k, v in cpu.items()}}))


if __name__ == "__main__":
    main()
