"""Experiments gone stale: their config.yml reads data files that no longer exist, or that no longer hold
their target (the competition's files were replaced). new_exp.py and switch_competition.py name them."""
import yaml

from .project import EXP_ROOT, data_dir, rel

DATA_FILES = ("train", "test", "sample_submission")


def stale_experiments(skip=()):
    """Give [(experiment name, why it is stale)] of exp/expNNN, in name order, leaving out the names in `skip`."""
    found = []
    for config in sorted(EXP_ROOT.glob("exp*/config.yml")):
        name = config.parent.name
        if name in skip:
            continue
        why = stale_reason(config)
        if why:
            found.append((name, why))
    return found


def stale_reason(config_path):
    """Give why the experiment of `config_path` cannot train on the files it names, or None when it can."""
    try:
        data = (yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}).get("data") or {}
    except (OSError, yaml.YAMLError):
        return None  # a broken config.yml is exp.py's to report, with its line
    folder = data_dir(data)
    for key in DATA_FILES:
        if data.get(key) and not (folder / data[key]).is_file():
            return f"data.{key} {rel(folder / data[key])} no longer exists"
    train, target = folder / data.get("train", ""), data.get("target")
    if target and train.is_file() and target not in columns_of(train):
        return f"{rel(train)} no longer has its target column {target!r}"
    return None


def columns_of(path):
    """Give the column names of a CSV or Parquet file, reading only its header."""
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_schema(path).names
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return next(csv.reader(f), [])


def print_stale(skip=()):
    """Print one line per stale experiment and how to point it at the current files; nothing when none is."""
    found = stale_experiments(skip)
    if not found:
        return
    print("\nstale experiments (their config.yml reads files that changed; their runs would fail):")
    for name, why in found:
        print(f"  {name}: {why}. Fix: python scripts/switch_competition.py --exp {name}, or keep it as a record")
