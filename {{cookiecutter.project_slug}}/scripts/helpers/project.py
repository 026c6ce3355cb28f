"""The project's folders and files, and what every command does with them: short paths, errors, reading tables."""
import os
import re
from pathlib import Path

# scripts/helpers/project.py -> the project root, whatever the current directory is.
ROOT = Path(__file__).resolve().parents[2]
EXP_ROOT = ROOT / "exp"
INPUT_DIR = ROOT / "data" / "input"
OUTPUT_DIR = ROOT / "data" / "output"
RECORDS_ROOT = OUTPUT_DIR / "exp"
BLEND_ROOT = OUTPUT_DIR / "blend"
SUBMISSIONS_CSV = OUTPUT_DIR / "submissions.csv"
# Experiment code reads the competition's files from here when it is set (a Kaggle notebook sets it to its input).
DATA_DIR_VARIABLE = "KAGGLE_EXP_DATA_DIR"


class UserError(Exception):
    """A problem the user can fix: printed as a message, exit code 2, no traceback."""


def rel(path):
    """Give `path` relative to the project root when it is inside it, for short messages."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def data_dir(data):
    """Give the folder of the competition's files: $KAGGLE_EXP_DATA_DIR when set, else data.dir of config.yml.

    `data` is the data section of a run's config. A relative $KAGGLE_EXP_DATA_DIR is read from the project
    root, as the experiment's data.py reads it, so a command looks where the runs looked.
    """
    folder = os.environ.get(DATA_DIR_VARIABLE)
    return ROOT / folder if folder else ROOT / data.get("dir", "data/input")


def read_table(path, id_col=None, nrows=None):
    """Give the CSV or Parquet file at `path` as a DataFrame (its first nrows rows when given).

    A CSV's id_col is read as text: 001 and 1 are different ids to Kaggle.
    """
    import pandas as pd  # here, so that the commands that never read a table start without it

    if path.suffix in (".parquet", ".pq"):
        table = pd.read_parquet(path)
        return table.head(nrows) if nrows else table
    return pd.read_csv(path, nrows=nrows, dtype={id_col: str} if id_col else None)


# A run of RUNS (exp001/run002) or a --tune trial (exp001/tune/trial0003): the record's path under data/output/exp/.
RUN_REF = re.compile(r"exp(\d+)/(?:run(\d+)|(?:tune/)?trial(\d+))/?")


def parse_run_ref(text):
    """Give (exp, run) for 'exp001/run002' or a trial's 'exp001/tune/trial0003' (run: 'tune/trial0003'), else None."""
    match = RUN_REF.fullmatch(text.strip())
    if not match:
        return None
    exp = f"exp{int(match.group(1)):03d}"
    return exp, f"run{int(match.group(2)):03d}" if match.group(2) else f"tune/trial{int(match.group(3)):04d}"
