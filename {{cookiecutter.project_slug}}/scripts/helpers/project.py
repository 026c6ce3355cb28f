"""The project's folders, and what every command says and does with them: short paths, the user's errors."""
from pathlib import Path

# scripts/helpers/project.py -> the project root, whatever the current directory is.
ROOT = Path(__file__).resolve().parents[2]
EXP_ROOT = ROOT / "exp"
INPUT_DIR = ROOT / "data" / "input"
OUTPUT_DIR = ROOT / "data" / "output"
RECORDS_ROOT = OUTPUT_DIR / "exp"
BLEND_ROOT = OUTPUT_DIR / "blend"
SUBMISSIONS_CSV = OUTPUT_DIR / "submissions.csv"


class UserError(Exception):
    """A problem the user can fix: printed as a message, exit code 2, no traceback."""


def rel(path):
    """Give `path` relative to the project root when it is inside it, for short messages."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)
