"""texts/s of one exp001 run of the text kind vs a hand-written transformers loop (no Trainer), side by side; and
what the tokenization cache saves a second run.

    python benchmarks/bench_text.py [--repeat 2] [--copies 4] [--epochs 2] [--max-length 64]

Both sides train the example's tiny BERT (its config.json, random weights, on the CPU) on the example's texts
repeated --copies times under new ids, with the same max_length, batch size, folds (3, stratified), epochs,
optimizer and schedule; both pad each batch to its longest text, score the valid texts after every epoch and
predict the test texts with each fold's best weights (handwritten_text.py). Goal: exp001 at least 0.95x the hand
loop's texts/s. Times are whole processes: imports, checks and the record included; per wall second and per CPU
second (steadier when the machine is shared).
Then, in one process, data.tokenize on every train and test text of the data, first and again (a second run with
the same tokenizer and max_length): goal, the second at least 1.5x faster.
"""
import argparse
import json
import shutil
import subprocess
import sys

import pandas as pd

from common import ENV, TEMPLATE, WORK, commit_project, measure, median, set_runs

DATA = WORK / "text_data"
EXAMPLE = TEMPLATE / "{{cookiecutter.project_slug}}" / ".kinds" / "text" / "input"


def make_data(copies):
    """Write the example's tables repeated `copies` times under new ids, and its model folder."""
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        frame = pd.read_csv(EXAMPLE / name)
        pd.concat([frame.assign(id=frame["id"] + f"c{k}") for k in range(copies)]).to_csv(DATA / name, index=False)
    shutil.copytree(EXAMPLE / "tiny-bert", DATA / "tiny-bert")


def bake(args):
    """Give a text project whose data/input/ is the benchmark's data and whose config matches the hand loop."""
    out = WORK / "text"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(out), str(TEMPLATE),
                    "kind=text", "verify_example=no", "git_init=no"], check=True, capture_output=True, env=ENV)
    project = out / "my-kaggle-competition"
    inputs = project / "data" / "input"
    shutil.rmtree(inputs)
    inputs.mkdir()
    for name in ("train.csv", "test.csv", "sample_submission.csv", "tiny-bert"):
        (inputs / name).symlink_to(DATA / name)
    config = project / "exp" / "exp001" / "config.yml"
    text = config.read_text()
    for old, new in (("  epochs: 4\n", f"  epochs: {args.epochs}\n"),
                     ("  max_length: 64 ", f"  max_length: {args.max_length} "),
                     ("  batch_size: 32\n", f"  batch_size: {args.batch_size}\n")):
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)
    commit_project(project)
    return project


TOKENIZE_PROBE = """
import json, sys, time
sys.path.insert(0, "exp/exp001")
import data, network, train
from runner.config import parse_yaml
cfg = parse_yaml(open("exp/exp001/config.yml").read(), "config.yml")
table = data.load_table(cfg)
network.load_tokenizer(cfg)  # read once per process either way: only the tokenizing is timed
times = []
for _ in range(2):
    started = time.perf_counter()
    data.load_inputs(cfg, table.paths, "train"), data.load_inputs(cfg, table.test_paths, "test")
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    make_data(args.copies)
    project = bake(args)
    set_runs(project, ["seed: 42"])
    hand_out = WORK / "text_hand"
    hand = [sys.executable, str(TEMPLATE / "benchmarks" / "handwritten_text.py"), str(DATA), str(DATA / "tiny-bert"),
            str(hand_out), "--max-length", str(args.max_length), "--batch-size", str(args.batch_size),
            "--epochs", str(args.epochs), "--folds", "3", "--lr", "0.002"]
    texts = len(pd.read_csv(DATA / "train.csv")) * 2 // 3 * args.epochs * 3  # texts one run trains on
    sides = ["hand loop", "exp001 (one run)"]
    seconds, cpu = {side: [] for side in sides}, {side: [] for side in sides}
    env = {"OMP_NUM_THREADS": str(ENV.get("OMP_NUM_THREADS", "2"))}
    for r in range(args.repeat):  # sides interleaved, so a drift of the machine's speed hits them alike
        shutil.rmtree(hand_out, ignore_errors=True)
        took = measure(hand, log_path=WORK / "text_hand.log", quiet_limit=30, env=env)
        seconds[sides[0]].append(took.seconds)
        cpu[sides[0]].append(took.cpu)
        shutil.rmtree(project / "data" / "output" / "exp", ignore_errors=True)
        took = measure([sys.executable, str(project / "exp" / "exp001" / "exp.py")], cwd=project,
                       log_path=WORK / "text_exp.log", quiet_limit=30, env=env)
        seconds[sides[1]].append(took.seconds)
        cpu[sides[1]].append(took.cpu)
        print(f"repeat {r + 1}/{args.repeat}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in seconds.items()),
              flush=True)
    print(f"\n{texts // (args.epochs * 3) * 3 // 2:,} train texts, max_length {args.max_length}, batch "
          f"{args.batch_size}, {args.epochs} epochs x 3 folds, the example's tiny BERT; medians of {args.repeat}, "
          "whole processes")
    for label, table in (("wall", seconds), ("CPU", cpu)):
        base = texts / median(table[sides[0]])
        for side, values in table.items():
            rate = texts / median(values)
            print(f"  {label:4s} {side:20s} {median(values):7.1f} s  {rate:8.0f} texts/s  {rate / base:5.2f}x the "
                  "hand loop")
    probe = subprocess.run([sys.executable, "-c", TOKENIZE_PROBE], cwd=project, capture_output=True, text=True,
                           env=dict(ENV, **env), check=True)
    first, again = json.loads(probe.stdout.strip().splitlines()[-1])
    print(f"  tokenizing every text: first {first * 1000:.1f} ms, a second run's {again * 1000:.2f} ms "
          f"({first / max(again, 1e-9):,.0f}x)")
    print(json.dumps({"wall": seconds, "cpu": cpu, "tokenize": [first, again]}))


if __name__ == "__main__":
    main()
