"""The image lab is as strict with its inputs as the tabular lab: each bad input is one message before any training.

The table checks are the same code in both kinds (inputs.py); the model checks (deep/model_checks.py) build the
model once on the CPU and try a weights file or the hub before the first fold. Nothing trains: every case stops
where exp.py reads the data, and no run folder is left.
"""
import time

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import run_exp
from test_image import one_run, quick_copy

INPUT = "data/input"


def edit_table(project, name, change):
    path = project / INPUT / name
    frame = change(pd.read_csv(path, dtype={"id": str}))
    frame.to_csv(path, index=False)


def relabel(frame):
    frame["label"] = frame["label"].astype(str).map({"5": "five"}).fillna("other")
    frame.loc[frame.index[frame["label"] == "five"][0], "label"] = "five "
    return frame


def infinite_target(frame):
    frame["label"] = frame["label"].astype(float)
    frame.loc[3, "label"] = np.inf
    return frame


def pickled_weights(project):
    torch.save({"model": torch.nn.Linear(2, 2)}, project / "weights.pth")  # a whole module, not only tensors
    return "model:\n  pretrained: weights.pth"


def duplicated_header(path):
    rows = path.read_text().splitlines()
    path.write_text("\n".join(["id,id"] + [f"{row},{row}" for row in rows[1:]]) + "\n")


CASES = {
    # case: (how to break the project, what the message must say)
    "labels spelled two ways": (
        lambda p: edit_table(p, "train.csv", relabel),
        "has labels that differ only by spaces or case ('five ' and 'five')"),
    "a train id twice": (
        lambda p: edit_table(p, "train.csv", lambda f: pd.concat([f, f.head(1)])),
        "data/input/train.csv: 1 ids in column 'id' are on more than one row (e.g. 'img0000', 2 times)"),
    "a test id twice": (
        lambda p: edit_table(p, "test.csv", lambda f: pd.concat([f, f.tail(1)])),
        "data/input/test.csv: 1 ids in column 'id' are on more than one row"),
    "an empty test file": (
        lambda p: edit_table(p, "test.csv", lambda f: f.head(0)),
        "data/input/test.csv has no rows, only the header"),
    "a sample id not in the test file": (
        lambda p: edit_table(p, "sample_submission.csv", lambda f: f.replace({"id": {"img0240": "img9999"}})),
        "data/input/sample_submission.csv: 1 of its 60 ids are not in data/input/test.csv (e.g. 'img9999')"),
    "an infinite regression target": (
        lambda p: (edit_table(p, "train.csv", infinite_target), one_run(p, "task: regression\nmetric: rmse")),
        "data/input/train.csv: target 'label' has 1 infinite values (e.g. on row 5 of the file)"),
    "a zero std": (
        lambda p: one_run(p, "image:\n  std: [0, 0.2, 0.2]"),
        "image.std is [0, 0.2, 0.2], which cannot work. Fix: three numbers above 0"),
    "a model.params key the model does not take": (
        lambda p: one_run(p, "model:\n  params:\n    +not_a_param: 1"),
        "model.params: 'not_a_param' is not a parameter of test_resnet"),
    "a weights file that is a pickled model": (
        lambda p: one_run(p, pickled_weights(p)),
        "model.pretrained: weights.pth holds pickled Python objects besides tensors"),
    "a duplicated header": (
        lambda p: duplicated_header(p / INPUT / "test.csv"),
        "data/input/test.csv: its header names column 'id' more than once"),
}


@pytest.mark.parametrize("case", list(CASES), ids=lambda case: case.replace(" ", "_"))
def test_a_bad_image_input_is_one_message_before_training(image_baked, tmp_path, case):
    project = quick_copy(image_baked, tmp_path)
    break_it, message = CASES[case]
    break_it(project)
    result = run_exp(project, "--run", "1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "data/output/exp/exp001/run001").exists()


def test_pretrained_without_the_hub_is_one_message_within_seconds(image_baked, tmp_path):
    project = quick_copy(image_baked, tmp_path)
    one_run(project, "model:\n  pretrained: true")
    started = time.perf_counter()
    # A port nothing listens on stands for a machine without internet; an empty cache holds no weights.
    result = run_exp(project, "--run", "1", env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")})
    seconds = time.perf_counter() - started
    assert result.returncode == 2, result.stdout + result.stderr
    assert "model.pretrained: true, but the Hugging Face hub (http://127.0.0.1:9) cannot be reached" in result.stderr
    assert "no weights of test_resnet are cached" in result.stderr and "model.pretrained: path/to/" in result.stderr
    assert seconds < 30, f"{seconds:.1f} s: the hub was retried inside the run"
    assert not (project / "data/output/exp/exp001/run001").exists()


def test_a_weights_file_of_tensors_only_is_taken(image_baked, tmp_path):
    import timm

    project = quick_copy(image_baked, tmp_path)
    torch.save(timm.create_model("test_resnet", pretrained=False).state_dict(), project / "weights.pth")
    one_run(project, "model:\n  pretrained: weights.pth")
    result = run_exp(project, "--run", "1", "--debug")
    assert result.returncode == 0, result.stdout + result.stderr
