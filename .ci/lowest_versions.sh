#!/usr/bin/env bash
# The generated project at the LOWEST versions its requirements.txt allows: Kaggle's images lag behind
# PyPI, and pip keeps an installed package that already satisfies the floor. Installs them into a
# scratch environment (uv, --resolution lowest-direct), generates a project and runs its example there.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m pip install --quiet --disable-pip-version-check uv
python3 -m uv venv --quiet --python "$(python3 -c 'import sys; print(sys.executable)')" "$work/venv"
python="$work/venv/bin/python"
# The example check would use this script's Python (the newest versions): skip it, run exp001 ourselves.
python3 -m cookiecutter --no-input --output-dir "$work/gen" . verify_example=no git_init=no > /dev/null
project="$work/gen/my-kaggle-competition"
# The rendered requirements.txt: the template's own lists kind=image's torch too (inside Jinja that pip reads as comments).
python3 -m uv pip install --quiet --python "$python" --resolution lowest-direct -r "$project/requirements.txt"
echo "lowest allowed versions:"
python3 -m uv pip freeze --python "$python" | sed 's/^/    /'

export OMP_NUM_THREADS=1 MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
"$python" "$project/exp/exp001/exp.py" \
    || { echo "lowest versions: FAILED: exp001 does not run at the versions above (output above)" >&2; exit 1; }
# --tune at the lowest optuna: journal file storage, TPE, WilcoxonPruner (which needs optuna 4.2 with SciPy 1.15+).
"$python" "$project/exp/exp001/exp.py" --tune 3 > /dev/null \
    || { echo "lowest versions: FAILED: exp.py --tune at the versions above" >&2; exit 1; }
"$python" "$project/scripts/leaderboard.py" > /dev/null \
    || { echo "lowest versions: FAILED: scripts/leaderboard.py at the versions above" >&2; exit 1; }
rm -f "$project/data/output/report.html"  # exp.py rebuilt it; build it again here, where a failure is an error
"$python" "$project/scripts/report.py" > /dev/null && grep -q '"exp001/run002"' "$project/data/output/report.html" \
    || { echo "lowest versions: FAILED: scripts/report.py at the versions above (plotly's floor)" >&2; exit 1; }
# Inference at these versions: a finished run predicts its own test file with predict.py (from its saved
# code, without training) and must give its own submission.csv and test_pred.csv.
record="$project/data/output/exp/exp001/run002"
"$python" "$project/exp/exp001/predict.py" run002 --test data/input/test.csv \
    --out "$work/submission.csv" --raw-out "$work/test_pred.csv" > /dev/null \
    || { echo "lowest versions: FAILED: predict.py at the versions above (output above)" >&2; exit 1; }
"$python" - "$record" "$work" <<'PY' \
    || { echo "lowest versions: FAILED: predict.py does not reproduce run002's own predictions" >&2; exit 1; }
import sys
from pathlib import Path

import numpy as np
import pandas as pd

record, work = Path(sys.argv[1]), Path(sys.argv[2])
assert (work / "submission.csv").read_text() == (record / "submission.csv").read_text(), "submission.csv differs"
own, again = (pd.read_csv(folder / "test_pred.csv", dtype={"id": str}) for folder in (record, work))
assert own["id"].equals(again["id"]) and np.allclose(own.iloc[:, 1:], again.iloc[:, 1:], rtol=1e-12), "test_pred differs"
PY
echo "lowest versions: the example, --tune, the leaderboard, the report and predict.py ran in $((SECONDS - started)) s"
