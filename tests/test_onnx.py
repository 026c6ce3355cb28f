"""package --onnx: each fold of an image or audio run exported to ONNX, checked against PyTorch on the run's own test
rows; the notebook then predicts with ONNX Runtime on the CPU. A planted export bug must stop the package."""
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import run_python

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow  # each test exports and predicts a trained deep-learning run several times
TOLERANCE = 1e-4  # what deep/onnx_export.py promises: ONNX Runtime's predictions within it of PyTorch's
DATASET = "data/output/kaggle_datasets/playground-series-s5e1-exp001"
RECORD = "data/output/exp/exp001"


def copy_of(trained, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(trained[0], project)
    return project


def largest_difference(a, b):
    """Give the largest absolute difference between two prediction files, over their numeric columns."""
    a, b = pd.read_csv(a), pd.read_csv(b)
    assert list(a.columns) == list(b.columns) and a.iloc[:, 0].tolist() == b.iloc[:, 0].tolist()
    numbers = a.select_dtypes("number").columns
    assert len(numbers) > 0
    return float((a[numbers] - b[numbers]).abs().max().max())


def package_onnx(project):
    return run_python(project, "scripts/kaggle_cli.py", "package", "exp001/run002", "--onnx", "--user", "ada")


def notebook_of_run002_on_kaggles_mounts(project, tmp_path, engine, exact=True):
    """Build run002's notebook, check it runs on the CPU with `engine` (as kaggle_cli prints it), run it on Kaggle's
    mounts (the competition's files and the dataset under --input), check it wrote the run's own submission (byte for
    byte, or within TOLERANCE when not `exact`: an audio run's probabilities), and give its process."""
    built = run_python(project, "scripts/kaggle_cli.py", "notebook", "exp001/run002", "--user", "ada")
    assert built.returncode == 0 and f"CPU; {engine}" in built.stdout, built.stdout + built.stderr
    notebook = next((project / "data/output/kaggle_notebooks").iterdir())
    assert json.loads((notebook / "kernel-metadata.json").read_text())["enable_gpu"] is False
    shutil.copytree(project / "data/input", tmp_path / "input" / "playground-series-s5e1")
    shutil.copytree(project / DATASET, tmp_path / "input" / "exp001-data")
    (tmp_path / "working").mkdir()
    ran = subprocess.run([sys.executable, str(notebook / "inference.py"), "--input", str(tmp_path / "input"),
                          "--working", str(tmp_path / "working")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    own, written = project / RECORD / "run002" / "submission.csv", tmp_path / "working" / "submission.csv"
    assert written.read_text() == own.read_text() if exact else largest_difference(written, own) <= TOLERANCE
    return ran


def packaged_predicts_as_the_record(project, tmp_path, options, engine, test="data/input/test.csv"):
    """Predict every row of `test` with run002's packaged copy given `options` (run by `engine`, as predict.py names
    it) on the CPU; give the largest difference from the run's own test predictions, PyTorch's (test_pred.csv: what
    the record's predict.py gives too, to the last digit)."""
    done = run_python(project, f"{DATASET}/run002/src/predict.py", "--run-dir", f"{DATASET}/run002", "--test", test,
                      "--raw-out", str(tmp_path / "packaged.csv"), "--device", "cpu", *options)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"({engine}) on cpu" in done.stderr + done.stdout
    assert len(pd.read_csv(tmp_path / "packaged.csv")) > 4
    return largest_difference(project / RECORD / "run002/test_pred.csv", tmp_path / "packaged.csv")


def test_an_image_run_packaged_as_onnx_predicts_as_pytorch_does_and_its_notebook_gives_back_its_submission(
        image_trained, tmp_path):
    project = copy_of(image_trained, tmp_path)

    packaged = package_onnx(project)

    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    models = project / DATASET / "run002" / "models"
    assert sorted(p.name for p in models.glob("fold*.onnx")) == ["fold0.onnx", "fold1.onnx", "fold2.onnx"]
    check = json.loads((models / "onnx_check.json").read_text())
    assert check["rows"] == 60 and check["opset"] == 17 and 0 <= check["max_difference"] <= TOLERANCE
    assert json.loads((project / DATASET / "kaggle_package.json").read_text())["onnx"] == ["run002"]
    # Our own look at the numbers: every test row, PyTorch's (the run's own) against ONNX Runtime from the dataset.
    assert packaged_predicts_as_the_record(project, tmp_path, ["--onnx"], "ONNX Runtime") <= TOLERANCE
    # The notebook: on the CPU, with ONNX Runtime, on Kaggle's mounts; it gives back the run's own submission.
    ran = notebook_of_run002_on_kaggles_mounts(project, tmp_path, "ONNX Runtime")
    assert "--onnx" in ran.stdout and "(ONNX Runtime)" in ran.stderr + ran.stdout


PLANTED = {
    # exported with its batch-norm layers in training mode: each batch normalized by its own statistics
    "training mode": ("do_constant_folding=True,",
                      "do_constant_folding=True, training=torch.onnx.TrainingMode.TRAINING,"),
    # ONNX Runtime handed the image with its height and width swapped (a layout mix-up)
    "input layout": ("x.detach().cpu().float().contiguous()", "x.detach().cpu().float().transpose(2, 3).contiguous()"),
}


@pytest.mark.parametrize("bug", list(PLANTED))
def test_a_planted_export_bug_stops_the_package_and_ships_no_onnx(image_trained, tmp_path, bug):
    project = copy_of(image_trained, tmp_path)
    code = project / RECORD / "run002" / "src" / "deep" / "onnx_export.py"
    old, new = PLANTED[bug]
    assert old in code.read_text()
    code.write_text(code.read_text().replace(old, new))

    packaged = package_onnx(project)

    assert packaged.returncode == 2, packaged.stdout + packaged.stderr
    assert "over the tolerance of 0.0001, so no fold is exported" in packaged.stderr
    assert list((project / DATASET / "run002" / "models").glob("*.onnx")) == []
    assert "onnx" not in json.loads((project / DATASET / "kaggle_package.json").read_text())


def test_a_tabular_run_keeps_its_native_models(trained):
    result = run_python(trained, "scripts/kaggle_cli.py", "package", "exp001/run002", "--onnx", "--user", "ada")
    assert result.returncode == 2 and "is a tabular run" in result.stderr and "without --onnx" in result.stderr


def test_a_blend_of_tabular_runs_has_nothing_to_export_and_predict_blend_onnx_says_so(trained, tmp_path):
    made = run_python(trained, "scripts/blend.py", "exp001/run001", "exp001/run003")
    assert made.returncode == 0, made.stdout + made.stderr
    packaged = run_python(trained, "scripts/kaggle_cli.py", "package", "blend001", "--onnx", "--user", "ada")
    assert packaged.returncode == 2 and "every run of this blend (exp001/run001, exp001/run003) is a tabular run" \
        in packaged.stderr and "without --onnx" in packaged.stderr, packaged.stdout + packaged.stderr
    predicted = run_python(trained, "scripts/predict_blend.py", "blend001", "--onnx", "--test", "data/input/test.csv",
                           "--out", str(tmp_path / "sub.csv"))
    assert predicted.returncode == 2 and "--onnx: no run of blend001 has ONNX models" in predicted.stderr
    assert not (tmp_path / "sub.csv").exists()


def test_an_audio_run_as_onnx_beside_its_torch_spectrograms_predicts_the_soundscapes_as_pytorch_does(
        audio_trained, tmp_path):
    project = copy_of(audio_trained, tmp_path)

    packaged = package_onnx(project)

    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    models = project / DATASET / "run002" / "models"
    assert len(list(models.glob("fold*.onnx"))) == len(list(models.glob("fold*.pt"))) > 1
    check = json.loads((models / "onnx_check.json").read_text())
    assert check["rows"] > 0 and 0 <= check["max_difference"] <= TOLERANCE
    # every window of every public soundscape, PyTorch's (the run's own) against ONNX Runtime from the dataset
    assert packaged_predicts_as_the_record(project, tmp_path, ["--onnx"], "ONNX Runtime",
                                           test="data/input/test_soundscapes") <= TOLERANCE
    # The notebook on Kaggle's mounts, on the CPU with ONNX Runtime: the run's own submission, within the tolerance.
    notebook_of_run002_on_kaggles_mounts(project, tmp_path, "ONNX Runtime", exact=False)
    # The probe times what the notebook runs: the packaged folds in ONNX Runtime, on the CPU, in hours of audio.
    probed = run_python(project, "scripts/kaggle_cli.py", "probe", "exp001/run002", "--test-size", "10")
    assert probed.returncode == 0, probed.stdout + probed.stderr
    found = json.loads((project / "data/output/probe/exp001-run002.json").read_text())
    assert found["unit"] == "hours of audio" and found["onnx"] is True and found["device"] == "cpu"
    # the public soundscapes last 40 s: one of them played over and over, for 1 and 4 minutes
    assert [n for n, _ in found["points"]] == pytest.approx([60 / 3600, 240 / 3600])
    assert found["minutes"] == pytest.approx((found["start_seconds"] + found["seconds_per_unit"] * 10) * 1.5 / 60)


BLEND_DATASET = "data/output/kaggle_datasets/playground-series-s5e1-blend001"


def test_a_blend_of_image_runs_packaged_as_onnx_gives_back_the_blends_submission_on_the_cpu(
        image_trained, tmp_path):
    project = copy_of(image_trained, tmp_path)
    blended = run_python(project, "scripts/blend.py", "exp001/run001", "exp001/run002", "--weights", "0.6,0.4")
    assert blended.returncode == 0, blended.stdout + blended.stderr

    packaged = run_python(project, "scripts/kaggle_cli.py", "package", "blend001", "--onnx", "--user", "ada")

    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    dataset = project / BLEND_DATASET
    assert json.loads((dataset / "kaggle_package.json").read_text())["onnx"] == ["exp001/run001", "exp001/run002"]
    for run in ("run001", "run002"):  # each run of the blend exported where the blend's dataset holds it
        models = dataset / RECORD / run / "models"
        assert len(list(models.glob("fold*.onnx"))) == len(list(models.glob("fold*.pt"))) == 3
        assert 0 <= json.loads((models / "onnx_check.json").read_text())["max_difference"] <= TOLERANCE
    # Our own look at the numbers: each run's ONNX Runtime predictions of every test row, blended with the weights,
    # against the blend's own test predictions (the runs' PyTorch ones, blended by blend.py).
    raw = []
    for run in ("run001", "run002"):
        done = run_python(project, f"{BLEND_DATASET}/{RECORD}/{run}/src/predict.py", "--run-dir",
                          f"{BLEND_DATASET}/{RECORD}/{run}", "--test", "data/input/test.csv", "--raw-out",
                          str(tmp_path / f"{run}.csv"), "--onnx")
        assert done.returncode == 0, done.stdout + done.stderr
        raw.append(pd.read_csv(tmp_path / f"{run}.csv", dtype={"id": str}))
    own = pd.read_csv(project / "data/output/blend/blend001/test_pred.csv", dtype={"id": str})
    columns = [c for c in own.columns if c.startswith("pred_")]
    assert len(columns) == 10 and raw[0]["id"].equals(own["id"])
    assert float((0.6 * raw[0][columns] + 0.4 * raw[1][columns] - own[columns]).abs().max().max()) <= TOLERANCE
    # The notebook: on the CPU, predict_blend.py --onnx on Kaggle's mounts; it gives back the blend's own submission.
    built = run_python(project, "scripts/kaggle_cli.py", "notebook", "blend001", "--user", "ada")
    assert built.returncode == 0 and "CPU; ONNX Runtime" in built.stdout, built.stdout + built.stderr
    notebook = project / "data/output/kaggle_notebooks/playground-series-s5e1-blend001"
    assert json.loads((notebook / "kernel-metadata.json").read_text())["enable_gpu"] is False
    shutil.copytree(project / "data/input", tmp_path / "input" / "playground-series-s5e1")
    shutil.copytree(dataset, tmp_path / "input" / "blend001-data")
    (tmp_path / "working").mkdir()
    ran = subprocess.run([sys.executable, str(notebook / "inference.py"), "--input", str(tmp_path / "input"),
                          "--working", str(tmp_path / "working")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "--onnx" in ran.stdout and (ran.stdout + ran.stderr).count("(ONNX Runtime) on cpu") == 2
    own_submission = project / "data/output/blend/blend001/submission.csv"
    assert (tmp_path / "working" / "submission.csv").read_text() == own_submission.read_text()


def test_an_image_run_packaged_for_openvino_predicts_as_pytorch_does_in_it_and_its_notebook_runs_it(
        image_trained, tmp_path):
    pytest.importorskip("openvino", reason="package --onnx --openvino needs OpenVINO's runtime: pip install openvino")
    project = copy_of(image_trained, tmp_path)

    packaged = run_python(project, "scripts/kaggle_cli.py", "package", "exp001/run002", "--onnx", "--openvino",
                          "--user", "ada")

    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    models = project / DATASET / "run002" / "models"
    check = json.loads((models / "onnx_check.json").read_text())
    assert check["rows"] == 60 and 0 <= check["max_difference"] <= TOLERANCE  # ONNX Runtime's, checked as before
    assert len(check["openvino"]["differences"]) == 3 and 0 <= check["openvino"]["max_difference"] <= TOLERANCE
    assert json.loads((project / DATASET / "kaggle_package.json").read_text())["onnx_runtime"] == "openvino"
    # Our own look: every test row, PyTorch's (the run's own) against OpenVINO from the dataset.
    assert packaged_predicts_as_the_record(project, tmp_path, ["--onnx", "--openvino"], "OpenVINO") <= TOLERANCE
    # The notebook on Kaggle's mounts runs predict.py --onnx --openvino on the CPU: the run's own submission.
    ran = notebook_of_run002_on_kaggles_mounts(project, tmp_path, "OpenVINO")
    assert "--onnx --openvino" in ran.stdout and "(OpenVINO) on cpu" in ran.stderr + ran.stdout
    # The probe times what that notebook runs: the packaged folds in OpenVINO, on the CPU.
    probed = run_python(project, "scripts/kaggle_cli.py", "probe", "exp001/run002", "--sample-size", "8",
                        "--test-size", "1000")
    assert probed.returncode == 0 and "(ONNX in OpenVINO) on cpu" in probed.stdout, probed.stdout + probed.stderr
    found = json.loads((project / "data/output/probe/exp001-run002.json").read_text())
    assert found["onnx"] is True and found["openvino"] is True and found["device"] == "cpu"
