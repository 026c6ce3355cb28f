"""Point an experiment at your competition's files in data/input/, then check it with --debug.

    python scripts/switch_competition.py                  propose, ask, apply to exp001, run --debug
    python scripts/switch_competition.py --yes            apply without asking (e.g. in a script)
    python scripts/switch_competition.py --target price --task regression --metric rmse
    python scripts/switch_competition.py --exp exp003 --no-debug

It reads the train, test and sample submission files in data/input/ (CSV or Parquet) and
proposes the id column (the sample's first), the target (the train column that test lacks),
the task (from the target's values) and a metric (check it on the competition's Evaluation
page). For an image experiment, also where each row's image is (data.image, data.test_image:
tried on the first rows, e.g. train_images/{id}.png), and multilabel when the sample submission
has several 0/1 label columns of train. Then, in exp/<exp>/:
  - config.yml: the data file names, data.id, data.target, (data.image, data.test_image,) task and metric are rewritten;
    comments and every other key stay as they are;
  - exp.py: RUNS becomes one base run (the example's runs were tuned for iris);
  - the experiment's old records (data/output/exp/<exp>/, data/output/debug/<exp>/) are moved
    aside: they were made with the old config, and exp.py refuses to mix them with new ones.
Nothing is lost: the old config.yml and exp.py go to data/output/switched-<time>/code/<exp>/,
the old records to data/output/switched-<time>/records/.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
from datetime import datetime

import pandas as pd
import yaml

from helpers.image_paths import example_leftovers, multilabel_columns, propose_images
from helpers.project import INPUT_DIR, OUTPUT_DIR, ROOT, UserError, read_table
from helpers.stale import print_stale

DATA_SUFFIXES = (".csv", ".parquet")
TASKS = ("binary", "multiclass", "regression", "multilabel")  # multilabel: image experiments
# The experiment's metric table (your own metrics included), read by the experiment's own code in a child
# process: scripts never import experiment code. metrics.py holds it; experiments made before it, train.py.
READ_METRICS = """
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
try:
    from metrics import METRICS
except ImportError:
    from train import METRICS
print(json.dumps(sorted(METRICS)))
"""
RUNS_BLOCK = re.compile(r"^RUNS = \[\n.*?^\]\n", re.DOTALL | re.MULTILINE)
BASE_RUNS = 'RUNS = [\n    """\n    # run001: config.yml as it is. Append one snippet per idea below.\n    """,\n]\n'


class SwitchError(Exception):
    """A problem the user can fix: shown as one message, nothing written."""


def check_metric(metric, exp_dir):
    """Raise SwitchError unless `metric` is None or a name in the experiment's own metric table."""
    if metric is None:
        return
    read = subprocess.run([sys.executable, "-c", READ_METRICS, str(exp_dir)], capture_output=True, text=True)
    if read.returncode != 0:
        raise SwitchError(f"could not read the metrics of exp/{exp_dir.name}/ "
                          f"({read.stderr.strip().splitlines()[-1:]}). "
                          "Fix: python exp/" + exp_dir.name + "/exp.py --list shows what is wrong.")
    names = json.loads(read.stdout.strip().splitlines()[-1])
    if metric not in names:
        raise SwitchError(f"--metric {metric} is not a metric of exp/{exp_dir.name}/: {', '.join(names)}. "
                          f"Fix: choose one of these, or add yours at the bottom of exp/{exp_dir.name}/metrics.py.")


def find_file(role, given):
    """Give the path of the train, test or sample submission file in data/input/."""
    if given:
        path = INPUT_DIR / given
        if not path.is_file():
            raise SwitchError(f"--{role} {given}: no such file in data/input/. Files there: {listing()}")
        return path
    word = role  # the file's name says train, test or sample
    found = [p for p in sorted(INPUT_DIR.iterdir()) if p.suffix in DATA_SUFFIXES and word in p.stem.lower()]
    if role == "test":  # sample_submission_test.csv and the like are samples, not the test set
        found = [p for p in found if "sample" not in p.stem.lower()] or found
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files ({', '.join(p.name for p in found)})"
        raise SwitchError(f"data/input/ has {what} whose name says {word!r}. Files there: {listing()}. "
                          f"Fix: download the competition's files (python scripts/kaggle_cli.py download), "
                          f"or name the file with --{role} FILE.")
    return found[0]


def listing():
    names = [p.name for p in sorted(INPUT_DIR.iterdir()) if p.name != ".gitkeep"] if INPUT_DIR.is_dir() else []
    return ", ".join(names) or "(none)"


def propose(train_path, test_path, sample_path, args, image_exp=False):
    """Give the proposed settings: id, target, task, metric (and image paths), each from the files unless given."""
    train = read_text_table(train_path)
    test_columns = list(read_text_table(test_path, nrows=5).columns)
    sample = read_text_table(sample_path)
    id_column = args.id or sample.columns[0]
    if id_column not in train.columns or id_column not in test_columns:
        raise SwitchError(f"id column {id_column!r} (the first column of {sample_path.name}) is not in both "
                          f"{train_path.name} and {test_path.name}. Fix: give it with --id COLUMN.")
    only_in_train = [c for c in train.columns if c not in test_columns]
    # multilabel: one 0/1 column per label in train, one probability column each in the sample submission
    wants_labels = image_exp and not args.target and args.task in (None, "multilabel")
    labels = multilabel_columns(train, sample) if wants_labels else None
    if args.task == "multilabel" and not labels:
        raise SwitchError("--task multilabel needs an image experiment and a sample submission whose columns after "
                          "the id are 0/1 columns of train, one per label. Fix: choose another --task.")
    target = labels or args.target or (only_in_train[0] if len(only_in_train) == 1 else None)
    if not labels and (target is None or target not in train.columns):
        raise SwitchError(f"cannot tell the target: columns only in {train_path.name}: {only_in_train or 'none'}. "
                          f"Fix: give it with --target COLUMN (one of {list(train.columns)}).")
    task = "multilabel" if labels else args.task or guess_task(train[target])
    metric = args.metric or ("auc" if labels else guess_metric(task, sample))
    settings = {"train": train_path.name, "test": test_path.name, "sample_submission": sample_path.name,
                "id": str(id_column), "target": labels or str(target), "task": task, "metric": metric,
                "only_in_train": [c for c in only_in_train if c not in (labels or [target])], "rows": len(train),
                **(propose_images(train_path, test_path, args.image, args.test_image) if image_exp else {})}
    if metric == "rmsle":  # rmse on log(1 + y): the model learns that scale
        settings["target_transform"] = "log1p"
    elif task != "regression":  # transforms are for regression only
        settings["target_transform"] = None
    return settings


def read_text_table(path, nrows=None):
    """Give the table at `path`, or raise SwitchError for a file that is not UTF-8 text (a latin-1 export)."""
    try:
        return read_table(path, nrows=nrows)
    except UnicodeDecodeError as e:
        raise SwitchError(f"data/input/{path.name} is not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at "
                          f"position {e.start:,}; a latin-1 or Windows export?). Fix: save it as UTF-8, e.g. "
                          f"iconv -f latin1 -t utf-8 {path.name} > utf8.csv, "
                          f"then move utf8.csv to {path.name}.") from None


def guess_task(target):
    values = target.dropna()
    if values.nunique() == 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(values)
    whole = numeric and bool((values == values.round()).all())
    if not numeric or (whole and values.nunique() <= 20):
        return "multiclass"
    return "regression"


def guess_metric(task, sample):
    if task == "regression":
        return "rmse"
    labels = len(sample.columns) == 2 and not pd.api.types.is_float_dtype(sample[sample.columns[1]])
    if task == "binary":
        return "accuracy" if labels else "auc"
    return "accuracy" if labels else "logloss"


def rewrite_config(text, settings):
    """Give config.yml's text with the data files, id, target, task and metric replaced; comments kept."""
    section = None
    lines = []
    for line in text.splitlines(keepends=True):
        top = re.match(r"^([A-Za-z_+][\w+]*):", line)
        if top:
            section = top.group(1)
        key = re.match(r"^(\s*)([\w+]+)(:[ \t]*)([^#\n]*?)([ \t]*#.*)?(\n?)$", line)
        if key:
            indent, name = key.group(1), key.group(2)
            nested = section == "data" and indent and name in ("train", "test", "sample_submission", "id", "target",
                                                                 "image", "test_image") and name in settings
            if nested or (not indent and name in ("task", "metric", "target_transform") and name in settings):
                dumped = yaml.safe_dump(settings[name], width=1000, default_flow_style=True)
                value = dumped.removesuffix("...\n").strip()
                line = f"{indent}{name}{key.group(3)}{value}"
                if key.group(5):  # keep the comment, in its column when the new value fits
                    comment = key.group(5).lstrip()
                    line = line.ljust(key.end(4) + len(key.group(5)) - len(comment) - 1) + " " + comment
                line += key.group(6)
        lines.append(line)
    new = "".join(lines)
    config = yaml.safe_load(new)
    data_keys = [k for k in ("train", "test", "sample_submission", "id", "target", "image", "test_image")
                 if k in settings]
    got = {**{k: config["data"].get(k) for k in data_keys},
           "task": config["task"], "metric": config["metric"],
           **({"target_transform": config.get("target_transform")} if "target_transform" in settings else {})}
    wanted = {k: settings[k] for k in got}
    if got != wanted:
        raise SwitchError(f"could not rewrite config.yml safely (got {got}, wanted {wanted}). Nothing was changed: "
                          "edit the data section, task and metric by hand.")
    return new


def reset_runs(text, exp_py):
    if len(RUNS_BLOCK.findall(text)) != 1:
        raise SwitchError(f"{exp_py.relative_to(ROOT)}: cannot find one 'RUNS = [' ... ']' block to reset. "
                          "Nothing was changed: replace RUNS by hand.")
    return RUNS_BLOCK.sub(lambda _: BASE_RUNS, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", default="exp001", help="the experiment to switch (default exp001)")
    parser.add_argument("--train", help="train file name in data/input/")
    parser.add_argument("--test", help="test file name in data/input/")
    parser.add_argument("--sample", help="sample submission file name in data/input/")
    parser.add_argument("--id", help="id column (default: the sample submission's first column)")
    parser.add_argument("--target", help="target column (default: the one train column that test lacks)")
    parser.add_argument("--task", choices=TASKS)
    parser.add_argument("--metric", help="a metric of the experiment's metrics.py (your own ones too)")
    parser.add_argument("--image", help="image experiments: data.image, e.g. train_images/{id}.png (default: found)")
    parser.add_argument("--test-image", help="image experiments: data.test_image (default: found)")
    parser.add_argument("--yes", action="store_true", help="apply without asking")
    parser.add_argument("--no-debug", action="store_true", help="do not run exp.py --debug afterwards")
    args = parser.parse_args(argv)

    exp_dir = ROOT / "exp" / args.exp
    config_path, exp_py = exp_dir / "config.yml", exp_dir / "exp.py"
    try:
        if not config_path.is_file() or not exp_py.is_file():
            raise SwitchError(f"exp/{args.exp}/ has no config.yml and exp.py. Fix: name an experiment with --exp.")
        check_metric(args.metric, exp_dir)
        files = [find_file(role, getattr(args, role)) for role in ("train", "test", "sample")]
        print("reading " + ", ".join(f"{p.name} ({p.stat().st_size / 2**20:,.1f} MB)" for p in files) + " ...",
              flush=True)
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        settings = propose(*files, args, image_exp="image" in (config.get("data") or {}))
        if "target_transform" not in config:  # the image lab has none: rmsle there is scored on log1p already
            settings.pop("target_transform", None)
        new_config = rewrite_config(config_path.read_text(encoding="utf-8"), settings)
        new_exp_py = reset_runs(exp_py.read_text(encoding="utf-8"), exp_py)
    except (SwitchError, UserError) as e:  # UserError: from the helpers, e.g. no images found
        print(f"Error: {e}", file=sys.stderr)
        return 1

    records = [p for p in (OUTPUT_DIR / "exp" / args.exp, OUTPUT_DIR / "debug" / args.exp) if p.exists()]
    print(f"exp/{args.exp}/config.yml will read:")
    for key in ("train", "test", "sample_submission", "id", "target", "image", "test_image"):
        if key in settings:
            print(f"  data.{key}: {settings[key]}")
    print(f"  task: {settings['task']}\n  metric: {settings['metric']}   (check the competition's Evaluation page)")
    if "target_transform" in settings:
        print(f"  target_transform: {settings['target_transform'] or 'null'}"
              + ("   (rmsle is rmse on log(1 + y): the model learns that scale)"
                 if settings["target_transform"] else ""))
    if settings["only_in_train"]:
        print(f"  note: {', '.join(settings['only_in_train'])} are in train but not in test: list them in data.drop.")
    print(f"exp/{args.exp}/exp.py: RUNS becomes one base run.")
    if records:
        print("moved aside: " + ", ".join(str(p.relative_to(ROOT)) + "/" for p in records))
    if leftovers := example_leftovers(settings):
        print(f"left from the bundled example, read by no run now: {', '.join(leftovers)} "
              f"(rm -r {' '.join(leftovers)})")
    if not args.yes:
        if not sys.stdin.isatty():
            print("Nothing changed: the input is not a terminal (piped or a script), so there was no one to ask. "
                  "Run again with --yes to apply (or change a guess with --target, --task, --metric).")
            return 1
        if input("Apply? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 1

    backup = OUTPUT_DIR / f"switched-{datetime.now():%Y%m%d-%H%M%S}"
    code_backup = backup / "code" / args.exp
    code_backup.mkdir(parents=True)  # fails rather than mixing two backups made in the same second
    shutil.copy2(config_path, code_backup / "config.yml")
    shutil.copy2(exp_py, code_backup / "exp.py")
    for path in records:
        print(f"moving {path.relative_to(ROOT)}/ aside ...", flush=True)
        destination = backup / "records" / path.relative_to(OUTPUT_DIR)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(destination))
    config_path.write_text(new_config, encoding="utf-8")
    exp_py.write_text(new_exp_py, encoding="utf-8")
    print(f"Done. The old config.yml, exp.py and records are in {backup.relative_to(ROOT)}/")
    print_stale(skip=(args.exp,))
    if args.no_debug:
        print(f"Check it: python exp/{args.exp}/exp.py --debug")
        return 0
    print(f"Checking it: python exp/{args.exp}/exp.py --debug", flush=True)
    result = subprocess.run([sys.executable, str(exp_py), "--debug"], cwd=ROOT)
    if result.returncode == 0:
        print(f"Next: python exp/{args.exp}/exp.py   (then append your ideas to RUNS)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
