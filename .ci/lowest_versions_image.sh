#!/usr/bin/env bash
# The image kind at the LOWEST versions its requirements.txt allows: torch, torchvision and timm lag on
# Kaggle's notebook images by months, and a code competition's notebook has no internet to upgrade them.
# Like lowest_versions.sh: uv, --resolution lowest-direct on the rendered requirements.txt, so the floors
# tested are the ones written there. Then exp001, predict.py and the Kaggle notebook script, offline.
# The first time, uv downloads PyTorch's CUDA wheels from PyPI (about 3 GB; 5.4 GB in uv's cache, which keeps them).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "lowest versions (image): FAILED: $*" >&2; exit 1; }

python3 -m pip install --quiet --disable-pip-version-check uv
python3 -m uv venv --quiet --python "$(python3 -c 'import sys; print(sys.executable)')" "$work/venv"
python="$work/venv/bin/python"
python3 -m cookiecutter --no-input --output-dir "$work/gen" . kind=image verify_example=no git_init=no > /dev/null
project="$work/gen/my-kaggle-competition"
python3 -m uv pip install --quiet --python "$python" --resolution lowest-direct -r "$project/requirements.txt"
installed=$SECONDS
echo "lowest allowed versions, image kind (installed in $((installed - started)) s; CUDA's own packages not shown):"
python3 -m uv pip freeze --python "$python" | grep -v '^nvidia-' | sed 's/^/    /'

# Bytecode in a scratch folder, not in the project: compiled once for all the processes below that import torch.
export OMP_NUM_THREADS=1 MPLBACKEND=Agg PYTHONPYCACHEPREFIX="$work/pycache"
"$python" "$project/exp/exp001/exp.py" || fail "exp001 does not run at the versions above (output above)"
# predict.py from the record (its saved code and fold checkpoints) on the run's own test file.
record="$project/data/output/exp/exp001/run002"
"$python" "$project/exp/exp001/predict.py" run002 --test data/input/test.csv \
    --out "$work/submission.csv" --raw-out "$work/test_pred.csv" > /dev/null \
    || fail "predict.py at the versions above (output above)"
# The code competition's way: package the run, build its notebook, and run the notebook's script offline on
# Kaggle's layout (/kaggle/input/<competition>/ and /kaggle/input/<dataset>/, /kaggle/working/).
(cd "$project" \
    && "$python" scripts/kaggle_cli.py package exp001/run002 --user ci > /dev/null \
    && "$python" scripts/kaggle_cli.py notebook exp001/run002 --user ci > /dev/null) \
    || fail "kaggle_cli.py package / notebook at the versions above (output above)"
competition="$work/kaggle/input/$("$python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["competition"])' "$project/project.yml")"
mkdir -p "$competition" "$work/kaggle/working"
cp -r "$project/data/input/test.csv" "$project/data/input/sample_submission.csv" "$project/data/input/test_images" "$competition/"
cp -r "$project"/data/output/kaggle_datasets/* "$work/kaggle/input/"
"$python" "$project"/data/output/kaggle_notebooks/*/inference.py --input "$work/kaggle/input" \
    --working "$work/kaggle/working" > /dev/null || fail "the notebook's inference.py at the versions above (output above)"

"$python" - "$record" "$work" <<'PY' || fail "predict.py or the notebook does not reproduce run002's own predictions"
import sys
from pathlib import Path

import numpy as np
import pandas as pd

record, work = Path(sys.argv[1]), Path(sys.argv[2])
for made in (work / "submission.csv", work / "kaggle/working/submission.csv"):
    assert made.read_text() == (record / "submission.csv").read_text(), f"{made} differs"
own, again = (pd.read_csv(folder / "test_pred.csv", dtype={"id": str}) for folder in (record, work))
assert own["id"].equals(again["id"]) and np.allclose(own.iloc[:, 1:], again.iloc[:, 1:], rtol=0, atol=1e-6), "test_pred differs"
PY
echo "lowest versions (image): exp001, predict.py and the notebook ran in $((SECONDS - installed)) s"

# package --onnx at the floors: torch 2.3's TorchScript exporter, and the optional onnx and onnxruntime lines' own
# floors; the notebook, on the CPU with ONNX Runtime, must give back run002's submission.
onnx_started=$SECONDS
floors=$(sed -n 's/^# *\(onnx\(runtime\)\{0,1\}\)>=\([0-9.]*\).*/\1==\3/p' "$project/requirements.txt")
[ "$(echo "$floors" | wc -l)" = 2 ] || fail "requirements.txt lost its optional onnx and onnxruntime lines"
# shellcheck disable=SC2086  # with the same resolution as above, so that numpy and the rest stay at their floors
python3 -m uv pip install --quiet --python "$python" --resolution lowest-direct -r "$project/requirements.txt" $floors
python3 -m uv pip freeze --python "$python" | grep -iE '^(onnx|onnxruntime|protobuf|numpy)==' | sed 's/^/    /'
(cd "$project" \
    && "$python" scripts/kaggle_cli.py package exp001/run002 --onnx --user ci > /dev/null \
    && "$python" scripts/kaggle_cli.py notebook exp001/run002 --user ci | grep -q "ONNX Runtime") \
    || fail "package --onnx / notebook at the versions above (output above)"
rm -rf "$work/kaggle/working"/* "$work/kaggle/input/$(basename "$project"/data/output/kaggle_datasets/*)"
cp -r "$project"/data/output/kaggle_datasets/* "$work/kaggle/input/"
"$python" "$project"/data/output/kaggle_notebooks/*/inference.py --input "$work/kaggle/input" \
    --working "$work/kaggle/working" > /dev/null || fail "the ONNX notebook's inference.py at the versions above"
cmp -s "$work/kaggle/working/submission.csv" "$record/submission.csv" \
    || fail "the ONNX notebook does not give back run002's submission"
echo "lowest versions (image, ONNX): package --onnx and the notebook ran in $((SECONDS - onnx_started)) s"

# The audio kind on the same floors, plus its own (soundfile, scipy): exp001, then predict.py on the soundscapes.
audio_started=$SECONDS
python3 -m cookiecutter --no-input --output-dir "$work/gen-audio" . kind=audio verify_example=no git_init=no > /dev/null
audio="$work/gen-audio/my-kaggle-competition"
# --upgrade-package: scipy is installed already (scikit-learn wanted it), above its floor; take it down to it
python3 -m uv pip install --quiet --python "$python" --resolution lowest-direct --upgrade-package scipy \
    -r "$audio/requirements.txt"
python3 -m uv pip freeze --python "$python" | grep -iE '^(soundfile|scipy|numpy)==' | sed 's/^/    /'
"$python" "$audio/exp/exp001/exp.py" > /dev/null || fail "the audio kind's exp001 at the versions above"
(cd "$audio" && "$python" exp/exp001/predict.py run002 --test data/input/test_soundscapes --out "$work/audio.csv" \
    > /dev/null) || fail "the audio kind's predict.py at the versions above"
cmp -s "$work/audio.csv" "$audio/data/output/exp/exp001/run002/submission.csv" \
    || fail "the audio kind's predict.py does not give back run002's submission"
# package --onnx: the folds in ONNX Runtime beside torch's spectrograms, the same windows within 1e-4
(cd "$audio" && "$python" scripts/kaggle_cli.py package exp001/run002 --onnx --user ci > /dev/null \
    && "$python" exp/exp001/predict.py --run-dir data/output/kaggle_datasets/*/run002 --onnx \
        --test data/input/test_soundscapes --out "$work/audio_onnx.csv" > /dev/null) \
    || fail "the audio kind's package --onnx at the versions above"
"$python" - "$work/audio_onnx.csv" "$audio/data/output/exp/exp001/run002/submission.csv" <<'PY' \
    || fail "the audio kind's ONNX predictions differ from run002's submission by more than 1e-4"
import sys

import pandas as pd

onnx, own = (pd.read_csv(path) for path in sys.argv[1:])
assert onnx["row_id"].equals(own["row_id"]) and (onnx.iloc[:, 1:] - own.iloc[:, 1:]).abs().max().max() <= 1e-4
PY
echo "lowest versions (audio): exp001, predict.py and package --onnx ran in $((SECONDS - audio_started)) s"

# The text kind on the same torch floor, plus its own (transformers, tokenizers, peft): exp001, then predict.py on
# its test file, which must give back run002's submission.
text_started=$SECONDS
python3 -m cookiecutter --no-input --output-dir "$work/gen-text" . kind=text verify_example=no git_init=no > /dev/null
text="$work/gen-text/my-kaggle-competition"
python3 -m uv pip install --quiet --python "$python" --resolution lowest-direct -r "$text/requirements.txt"
python3 -m uv pip freeze --python "$python" | grep -iE '^(torch|transformers|tokenizers|peft|huggingface-hub)==' \
    | sed 's/^/    /'
"$python" "$text/exp/exp001/exp.py" > /dev/null || fail "the text kind's exp001 at the versions above"
(cd "$text" && "$python" exp/exp001/predict.py run002 --test data/input/test.csv --out "$work/text.csv" \
    > /dev/null) || fail "the text kind's predict.py at the versions above"
cmp -s "$work/text.csv" "$text/data/output/exp/exp001/run002/submission.csv" \
    || fail "the text kind's predict.py does not give back run002's submission"
# LoRA over pretrained weights: fold checkpoints keep only the adapters; predict.py merges them or not
"$python" .ci/text_lora_floor.py "$text" setup
rm -rf "$text/data/output/exp/exp001"
"$python" "$text/exp/exp001/exp.py" > /dev/null || fail "the text kind's LoRA runs at the versions above"
for run in run001 run002; do
    (cd "$text" && "$python" exp/exp001/predict.py $run --test data/input/test.csv --raw-out "$run.csv" > /dev/null) \
        || fail "the text kind's predict.py of a LoRA run at the versions above"
done
"$python" .ci/text_lora_floor.py "$text" check || fail "LoRA predictions at the versions above"
echo "lowest versions (text): exp001 and predict.py ran in $((SECONDS - text_started)) s"
