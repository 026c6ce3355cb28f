"""The script of an inference-server competition's notebook: it serves predict(batch) to the competition's
evaluation gateway (its `kaggle_evaluation` package) instead of writing a submission file itself.

`python scripts/kaggle_cli.py notebook exp001/run002 --server [--push]` calls build_notebook(server=True) in
kaggle_notebook.py, which writes the same folder as for any notebook (kernel-metadata.json: the run's dataset, the
competition's files, internet off) with server_script() as its script.
"""
import csv
import json

from .project import RECORDS_ROOT, UserError, rel

# In a record's src/: the module whose load_predictor(run_dir, columns, files) gives predict_rows(frame), and what
# its data.py must define for it (the deep-learning lab serves the kinds whose data.py reads a batch: image).
PREDICTORS = {"tabular/predictor.py": ("tabular.predictor", "def encode_test_rows("),
              "deep/predictor.py": ("deep.predictor", "def read_test_rows(")}

# The script Kaggle runs: standard library only (the run's own code predicts, kaggle_evaluation serves).
# server_script() fills in the __MARKER__ placeholders.
SERVER_SCRIPT = '''"""Serve __NAME__ to the evaluation gateway of the code competition __COMPETITION_NAME__
(built by scripts/helpers/kaggle_server.py).

When Kaggle reruns this notebook on the hidden test set (KAGGLE_IS_COMPETITION_RERUN is set), the competition's
kaggle_evaluation package calls predict() with each batch of test rows: the server must start within its start-up
limit and answer every batch within its deadline. Anywhere else, the same package's local gateway sends the public
test through predict() and writes the submission in --working, so a notebook that breaks fails here first.
Rebuild it with:
    python scripts/kaggle_cli.py notebook __NAME__ --server
"""
import argparse
import importlib
import os
import re
import sys
import time
from pathlib import Path

COMPETITION = __COMPETITION__
DATASET = __DATASET__            # the slug of the dataset made by `kaggle_cli.py package`
RUN_DIR = __RUN_DIR__            # in the dataset: the run record whose fold models predict
PREDICTOR = __PREDICTOR__        # in the record's src/: load_predictor(run_dir, columns, files) gives predict_rows
COLUMNS = __COLUMNS__            # the submission's columns, the id first (the run's submission.csv's)
PACKAGE_FILE = __PACKAGE_FILE__  # at the top of the dataset
# The competition's server class as "module.Class" in its kaggle_evaluation/, e.g.
# "mcts_inference_server.MCTSInferenceServer"; None: the one class named *InferenceServer found there.
SERVER_CLASS = None
# What run_local_gateway() gets: None for the gateway's own default paths (the public test), else a tuple of paths.
GATEWAY_PATHS = None

FOUND = {}                       # main() fills in: the record's folder, the competition's
_predict_rows = []               # the loaded predictor, once: at the first batch, inside the gateway's start-up time


def predict(test, *rest):
    """Give the predictions of one batch of test rows (a pandas or polars DataFrame), in the batch's row order.

    rest: what else the gateway sends with the batch (e.g. the sample submission's rows); the ids come from `test`.
    """
    if not _predict_rows:
        started = time.time()
        sys.path.insert(0, str(FOUND["run_dir"] / "src"))  # the code that trained the run
        predictor = importlib.import_module(PREDICTOR)
        _predict_rows.append(predictor.load_predictor(FOUND["run_dir"], COLUMNS, files=FOUND["data_dir"]))
        print(f"loaded {RUN_DIR}'s models in {time.time() - started:.1f} s", flush=True)
    return _predict_rows[0](as_pandas(test))


def as_pandas(frame):
    """Give `frame` as a pandas DataFrame (polars and Arrow tables have to_pandas; pandas passes as it is)."""
    return frame.to_pandas() if hasattr(frame, "to_pandas") else frame


__FIND_INPUT__


def server_class(package_dir):
    """Give the competition's inference server class: SERVER_CLASS, else the one *InferenceServer in the package."""
    if SERVER_CLASS:
        module, _, name = SERVER_CLASS.rpartition(".")
        return getattr(importlib.import_module(f"kaggle_evaluation.{module}"), name)
    found = [(path.stem, name) for path in sorted(package_dir.glob("*.py"))
             for name in re.findall(r"^class (\\w+InferenceServer)\\b", path.read_text(encoding="utf-8"), re.M)]
    if len(found) != 1:
        sys.exit(f"error: {len(found)} inference server classes in {package_dir} "
                 f"({', '.join(f'{m}.{c}' for m, c in found) or 'none'}). Fix: set SERVER_CLASS at the top of this "
                 "script to the competition's, as module.Class (its starter notebook names it).")
    module, name = found[0]
    return getattr(importlib.import_module(f"kaggle_evaluation.{module}"), name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=Path("/kaggle/input"), help="where Kaggle mounts the inputs")
    parser.add_argument("--working", type=Path, default=Path("/kaggle/working"), help="where the submission goes")
    args, _ = parser.parse_known_args()  # a notebook kernel may add arguments of its own
    data_dir = FOUND["data_dir"] = find_input(args.input, COMPETITION, "kaggle_evaluation")
    FOUND["run_dir"] = find_input(args.input, DATASET, PACKAGE_FILE) / RUN_DIR
    sys.dont_write_bytecode = True  # the inputs are read-only: no __pycache__ beside the code
    sys.path.insert(0, str(data_dir))  # where `import kaggle_evaluation` finds the competition's package
    server = server_class(data_dir / "kaggle_evaluation")(predict)
    os.chdir(args.working)  # a gateway writes its submission in the current folder
    if os.getenv("KAGGLE_IS_COMPETITION_RERUN"):
        server.serve()  # Kaggle's gateway sends the hidden test; this returns when it is done
        return
    started = time.time()
    server.run_local_gateway(*([GATEWAY_PATHS] if GATEWAY_PATHS else []))
    written = [p.name for p in args.working.glob("submission.*")]
    print(f"the local gateway took {time.time() - started:.1f} s and wrote {', '.join(written) or 'no submission'}")


if __name__ == "__main__":
    main()
'''


def record_predictor(name):
    """Give the module of the run's src/ that serves batches, refusing a blend or a run whose code cannot."""
    if "/" not in name:
        raise UserError(f"--server serves one run; a blend ({name}) has no server notebook yet. Fix: build the "
                        "notebook of one of its runs (notebook expNNN/runNNN --server), or drop --server.")
    record = RECORDS_ROOT / name
    data = record / "src" / "data.py"
    for path, (module, needs) in PREDICTORS.items():
        if (record / "src" / path).is_file() and data.is_file() and needs in data.read_text(encoding="utf-8"):
            return module
    exp, run = name.split("/")
    raise UserError(f"{name}'s saved code ({rel(record / 'src')}/) cannot serve a gateway one batch at a time (no "
                    f"{' or '.join(PREDICTORS)} with a data.py that reads a batch): the run was trained before it "
                    "could, or its kind (audio, text) cannot serve yet. Fix: train it again (python exp/"
                    f"{exp}/exp.py --run {run} --force), package it, then run this again.")


def server_script(competition, dataset_slug, name, predicts, package_file, find_input):
    """Give the text of the script that serves the run `name` (values written as Python literals, through JSON);
    find_input: the text of the function both notebook scripts find their inputs with (kaggle_notebook.FIND_INPUT)."""
    predictor = record_predictor(name)
    with (RECORDS_ROOT / name / "submission.csv").open(encoding="utf-8", newline="") as f:
        columns = next(csv.reader(f))
    values = {"__COMPETITION__": competition, "__DATASET__": dataset_slug, "__RUN_DIR__": predicts["run_dir"],
              "__PREDICTOR__": predictor, "__COLUMNS__": columns, "__PACKAGE_FILE__": package_file}
    text = SERVER_SCRIPT.replace("__FIND_INPUT__", find_input)
    text = text.replace("__NAME__", name).replace("__COMPETITION_NAME__", competition)
    for marker, value in values.items():
        text = text.replace(marker, json.dumps(value))
    return text
