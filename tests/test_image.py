"""The image kind: baked, trained on the CPU with a tiny timm model (1 epoch), predicted again from its record."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import EXP, quick_copy, run_exp, run_python
from test_layout import DESIGN_CARD, cycles, import_graph
from test_template import EXPECTED_IMAGE_FILES, files_of, render_hook

def one_run(project, snippet):
    """Replace exp.py's RUNS by one run with `snippet`."""
    exp_py = project / EXP / "exp.py"
    text = exp_py.read_text()
    start = text.index("RUNS = [")
    end = text.index("\n]\n", start) + 1
    body = "\n".join("    " + line for line in snippet.strip().splitlines())
    exp_py.write_text(text[:start] + f'RUNS = [\n    """\n{body}\n    """,\n' + text[end:])


# ---------------------------------------------------------------- layout

def test_the_image_experiment_holds_the_design_card_files_beside_the_same_runner_metrics_and_util(image_baked,
                                                                                                   baked_project):
    entries = sorted(p.name for p in (image_baked / EXP).iterdir())
    assert entries == sorted(DESIGN_CARD | {"augment.py", "config_keys.py", "data.py", "diagnostics.py", "inputs.py",
                                            "metrics.py",
                                            "network.py", "predict.py", "runner", "deep"}), entries
    shared = sorted(p.relative_to(image_baked / EXP) for p in (image_baked / EXP / "runner").rglob("*.py"))
    assert shared == sorted(p.relative_to(baked_project / EXP) for p in (baked_project / EXP / "runner").rglob("*.py"))
    for name in [*shared, "diagnostics.py", "inputs.py", "metrics.py", "util.py"]:  # written once, for every kind
        assert (image_baked / EXP / name).read_bytes() == (baked_project / EXP / name).read_bytes(), name
    long = {str(p.relative_to(image_baked)): n for p in (image_baked / EXP).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}
    assert not (image_baked / ".kinds").exists() and not (baked_project / ".kinds").exists()
    assert cycles(import_graph(image_baked / EXP)) == []


def test_only_the_image_kind_requires_torch_and_timm(image_baked, baked_project):
    image = (image_baked / "requirements.txt").read_text()
    assert re.search(r"^torch>=", image, re.M) and re.search(r"^torchvision>=", image, re.M)
    assert re.search(r"^timm>=", image, re.M)
    assert "torch" not in (baked_project / "requirements.txt").read_text()


# ---------------------------------------------------------------- one trained project

@pytest.mark.slow
def test_each_image_run_writes_its_record_with_a_checked_submission(image_trained):
    project, result = image_trained
    out = project / "data/output/exp/exp001"
    sample = pd.read_csv(project / "data/input/sample_submission.csv", dtype={"id": str})
    for run, size in (("run001", 16), ("run002", 24)):
        for name in ("metrics.json", "oof.csv", "test_pred.csv", "submission.csv", "history.csv", "curves.png",
                     "labels.json", "log.txt", "status.json", "config.yml", "src/train.py", "src/deep/outputs.py",
                     "models/fold0.pt", "models/fold2.pt"):
            assert (out / run / name).is_file(), f"{run}/{name} missing"
        metrics = json.loads((out / run / "metrics.json").read_text())
        assert 0 <= metrics["cv"] <= 1 and metrics["image_size"] == [size, size] and len(metrics["folds"]) == 3
        submission = pd.read_csv(out / run / "submission.csv", dtype={"id": str})
        assert list(submission.columns) == ["id", "label"] and submission["id"].equals(sample["id"])
        assert set(submission["label"]) <= set(range(10))
        history = pd.read_csv(out / run / "history.csv")
        assert list(history.columns) == ["fold", "epoch", "train_loss", "valid_loss", "accuracy", "lr", "seconds",
                                         "best"]
        assert len(history) == 3
        oof = pd.read_csv(out / run / "oof.csv")
        assert list(oof.columns[:3]) == ["id", "fold", "label"] and oof.shape[1] == 13
        assert Image.open(out / run / "curves.png").size[0] > 0
    log = (out / "run002/log.txt").read_text()
    assert re.search(r"fold 1/3 epoch 1/1 train_loss=\S+ valid_loss=\S+ accuracy=\S+ \* lr=\S+ "
                     r"\(\S+s, [\d,]+ images/s; ~\d+s left\)", log), log
    assert "with TTA hflip" in log
    assert "run001  accuracy=" in result.stdout and "<- best" in result.stdout


@pytest.mark.slow
def test_an_image_run_reports_each_class_and_a_second_metric_from_its_out_of_fold_predictions(image_trained):
    project, _ = image_trained
    record = project / "data/output/exp/exp001/run001"
    oof = pd.read_csv(record / "oof.csv")
    picked = oof.filter(like="pred_").to_numpy().argmax(axis=1)
    classes = [c[len("pred_"):] for c in oof.filter(like="pred_").columns]
    truth = oof["label"].astype(str).map({c: k for k, c in enumerate(classes)}).to_numpy()
    report = pd.read_csv(record / "per_class.csv", dtype={"class": str})
    assert report["class"].tolist() == classes
    for k, row in report.iterrows():
        assert row["support"] == (truth == k).sum()
        assert row["recall"] == pytest.approx((picked[truth == k] == k).mean() if (truth == k).any() else 0)
        assert row["precision"] == pytest.approx((truth[picked == k] == k).mean() if (picked == k).any() else 0)
    metrics = json.loads((record / "metrics.json").read_text())
    assert metrics["also"]["f1"] == pytest.approx(report["f1"].mean())  # macro F1 beside accuracy
    from PIL import Image

    with Image.open(record / "confusion_matrix.png") as picture:  # diagnostics.py, the same as a tabular record's
        assert picture.size[0] > 300
    assert not (record / "oof_vs_target.png").exists()


@pytest.mark.slow
def test_predict_gives_back_test_pred_on_a_shuffled_subset_of_the_test_images(image_trained, tmp_path):
    project, _ = image_trained
    record = project / "data/output/exp/exp001/run002"
    test = pd.read_csv(project / "data/input/test.csv", dtype={"id": str}).sample(frac=0.5, random_state=1)
    test.to_csv(tmp_path / "test.csv", index=False)
    test.assign(label=0).to_csv(tmp_path / "sample.csv", index=False)
    result = run_python(project, "exp/exp001/predict.py", "run002", "--test", str(tmp_path / "test.csv"),
                        "--images", "data/input", "--raw-out", str(tmp_path / "pred.csv"), "--out",
                        str(tmp_path / "sub.csv"),
                        "--sample", str(tmp_path / "sample.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    again = pd.read_csv(tmp_path / "pred.csv", dtype={"id": str}).set_index("id")
    own = pd.read_csv(record / "test_pred.csv", dtype={"id": str}).set_index("id").loc[test["id"]]
    assert list(again.index) == list(test["id"]) and list(again.columns) == list(own.columns)
    assert np.allclose(again.to_numpy(), own.to_numpy(), rtol=0, atol=1e-6)
    submitted = pd.read_csv(record / "submission.csv", dtype={"id": str}).set_index("id").loc[test["id"], "label"]
    assert pd.read_csv(tmp_path / "sub.csv", dtype={"id": str})["label"].tolist() == submitted.tolist()


@pytest.mark.slow
def test_predict_takes_a_part_of_the_test_set_without_a_sample_of_its_own(image_trained, tmp_path):
    project, _ = image_trained
    record = project / "data/output/exp/exp001/run002"
    test = pd.read_csv(project / "data/input/test.csv", dtype={"id": str}).sample(frac=0.5, random_state=2)
    test.to_csv(tmp_path / "part.csv", index=False)
    result = run_python(project, "exp/exp001/predict.py", "run002", "--test", str(tmp_path / "part.csv"),
                        "--images", "data/input", "--out", str(tmp_path / "sub.csv"))  # the competition's sample
    assert result.returncode == 0, result.stdout + result.stderr
    assert "holds other ids than data/input/sample_submission.csv (a part of the test set" in result.stdout
    sub = pd.read_csv(tmp_path / "sub.csv", dtype={"id": str})
    assert list(sub.columns) == ["id", "label"] and sub["id"].tolist() == test["id"].tolist()  # its ids, its order
    submitted = pd.read_csv(record / "submission.csv", dtype={"id": str}).set_index("id").loc[test["id"], "label"]
    assert sub["label"].tolist() == submitted.tolist()


@pytest.mark.slow
def test_keep_checkpoints_fp16_halves_the_weights_and_none_keeps_none_and_says_so(image_trained, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(image_trained[0], project)
    full = sum(p.stat().st_size for p in (project / "data/output/exp/exp001/run001/models").glob("fold*.pt"))
    one_run(project, "train:\n  keep_checkpoints: fp16\nimage:\n  size: 16\ndataset:\n  batch_size: 32")
    result = run_exp(project, "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    record = project / "data/output/exp/exp001/run001"
    half = sum(p.stat().st_size for p in (record / "models").glob("fold*.pt"))
    assert half < 0.6 * full and "checkpoints: 3 folds' best weights kept in models/ (fp16" in result.stdout
    again = run_python(project, "exp/exp001/predict.py", "run001", "--test", "data/input/test.csv", "--raw-out",
                       str(tmp_path / "pred.csv"))
    assert again.returncode == 0, again.stdout + again.stderr
    own, pred = (pd.read_csv(f).iloc[:, 1:].to_numpy() for f in (record / "test_pred.csv", tmp_path / "pred.csv"))
    assert np.abs(own - pred).max() < 5e-3  # half precision weights: the same predictions to about 3 digits
    one_run(project, "train:\n  keep_checkpoints: none\nimage:\n  size: 16\ndataset:\n  batch_size: 32")
    result = run_exp(project, "--force")
    assert result.returncode == 0 and not list((record / "models").glob("fold*.pt"))
    refused = run_python(project, "exp/exp001/predict.py", "run001", "--test", "data/input/test.csv", "--raw-out",
                         str(tmp_path / "none.csv"))
    assert refused.returncode == 2 and "run001 has no models/fold0.pt (train.keep_checkpoints: none" in refused.stderr


@pytest.mark.slow
def test_a_run_on_the_cpu_gives_the_same_numbers_when_trained_again(image_trained, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(image_trained[0], project)
    record = project / "data/output/exp/exp001/run001"
    before = {name: (record / name).read_text() for name in ("oof.csv", "test_pred.csv")}
    folds = json.loads((record / "metrics.json").read_text())["folds"]
    result = run_exp(project, "--run", "1", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((record / "metrics.json").read_text())["folds"] == folds
    assert {name: (record / name).read_text() for name in before} == before


# ---------------------------------------------------------------- every task, on images as Kaggle ships them

def kaggle_like_images(project):
    """Rewrite the example's images as competitions ship them: PNG and JPEG, L/RGB/RGBA/P/LA/16-bit, many sizes.

    train.csv and test.csv gain a `file` column naming each image (data.image: train_images/{file}).
    """
    data = project / "data/input"
    for table, folder in (("train.csv", "train_images"), ("test.csv", "test_images")):
        frame = pd.read_csv(data / table, dtype={"id": str})
        files = []
        for k, image_id in enumerate(frame["id"]):
            source = data / folder / f"{image_id}.png"
            image = Image.open(source).convert("L").resize((10 + k % 5 * 7, 12 + k % 3 * 9))
            mode = ["L", "RGB", "RGBA", "P", "LA", "I;16"][k % 6]
            # 16-bit grayscale (medical and satellite images often are): built from its pixels
            image = Image.fromarray(np.asarray(image, dtype=np.uint16) * 257) if mode == "I;16" else image.convert(mode)
            source.unlink()
            if k % 3 == 0 and mode in ("L", "RGB"):
                name = f"{image_id}.jpg"
                image.save(data / folder / name, quality=90)
            else:
                name = f"{image_id}.png"
                image.save(data / folder / name)
            files.append(name)
        frame.insert(1, "file", files)
        frame.to_csv(data / table, index=False)
    return pd.read_csv(data / "train.csv", dtype={"id": str}), pd.read_csv(data / "test.csv", dtype={"id": str})


TASKS = {
    # task: (metric, config.yml's target line, new target columns from the digit, the sample's prediction columns)
    "binary": ("auc", "label", lambda d: {"label": np.where(d % 2 == 0, "even", "odd")}, ["label"]),
    "multilabel": ("auc", "[even, big]", lambda d: {"even": (d % 2 == 0).astype(int), "big": (d >= 5).astype(int)},
                   ["even", "big"]),
    "regression": ("rmse", "label", lambda d: {"label": d * 1.5 + 0.25}, ["label"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_trains_on_mixed_images_and_predicts_again_from_its_record(image_baked, tmp_path, task):
    metric, target, make_target, columns = TASKS[task]
    project = quick_copy(image_baked, tmp_path, n_splits=2)
    train, test = kaggle_like_images(project)
    train = train.head(90)  # quick: what is tested is each task's path, not its score
    digits = train.pop("label").to_numpy()
    train.assign(**make_target(digits)).to_csv(project / "data/input/train.csv", index=False)
    test[["id"]].assign(**{c: 0.5 for c in columns}).to_csv(project / "data/input/sample_submission.csv", index=False)
    config = project / EXP / "config.yml"
    text = config.read_text().replace("  target: label ", f"  target: {target} ", 1)
    text = text.replace("train_images/{id}.png", "train_images/{file}")
    text = text.replace("test_images/{id}.png", "test_images/{file}")
    config.write_text(text.replace("  scheme: stratified ", "  scheme: kfold ", 1))
    # Augmentations, gradient accumulation, [height, width] over config.yml's one number (image.size: 32) and
    # (for one task) a worker process ride along: each path runs once.
    workers = 1 if task == "multilabel" else 0
    one_run(project, f"task: {task}\nmetric: {metric}\nimage:\n  size: [20, 16]\naugment:\n  hflip: 0.5\n  vflip: 0.5\n"
                     f"  random_resized_crop: [0.8, 1.0]\ntrain:\n  accumulate: 2\ndataset:\n  num_workers: {workers}")

    result = run_exp(project)

    assert result.returncode == 0, result.stdout + result.stderr
    record = project / "data/output/exp/exp001/run001"
    assert np.isfinite(json.loads((record / "metrics.json").read_text())["cv"])
    assert yaml.safe_load((record / "config.yml").read_text())["image"]["size"] == [20, 16]
    submission = pd.read_csv(record / "submission.csv", dtype={"id": str})
    assert list(submission.columns) == ["id", *columns] and submission["id"].equals(test["id"])
    values = submission[columns].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    if task != "regression":
        assert ((values >= 0) & (values <= 1)).all()
    predicted = run_python(project, "exp/exp001/predict.py", "run001", "--test", "data/input/test.csv",
                           "--raw-out", str(tmp_path / "pred.csv"), "--out", str(tmp_path / "sub.csv"))
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    own = pd.read_csv(record / "test_pred.csv", dtype={"id": str})
    again = pd.read_csv(tmp_path / "pred.csv", dtype={"id": str})
    assert again["id"].equals(own["id"]) and np.allclose(again.iloc[:, 1:], own.iloc[:, 1:], rtol=0, atol=1e-6)


# ---------------------------------------------------------------- bad images, before training

def test_a_missing_and_a_corrupt_image_are_named_with_their_rows_before_training(image_baked, tmp_path):
    project = quick_copy(image_baked, tmp_path)
    images = project / "data/input/train_images"
    (images / "img0003.png").unlink()
    (images / "img0010.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")

    result = run_exp(project)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "2 of 240 images of train.csv cannot be used" in result.stderr
    assert "data/input/train_images/img0003.png (row 5 of train.csv): file not found" in result.stderr
    assert "data/input/train_images/img0010.png (row 12 of train.csv): cannot be read" in result.stderr
    assert not (project / "data/output/exp").exists()


def test_a_typo_in_an_image_run_is_reported_before_training(image_baked, tmp_path):
    project = quick_copy(image_baked, tmp_path)
    one_run(project, "train:\n  lr: 0.01\n  epoch: 2")
    result = run_exp(project)
    assert (result.returncode == 2
            and "unknown key train.epoch (did you mean train.epochs?)" in result.stderr), result.stderr
    one_run(project, "model:\n  name: not_a_model")
    result = run_exp(project)
    assert result.returncode == 2 and "model.name 'not_a_model' is not a timm model" in result.stderr, result.stderr
    one_run(project, "dataset:\n  num_workers: -1")
    result = run_exp(project)
    assert result.returncode == 2 and "dataset.num_workers" in result.stderr and "null (0 on the CPU" in result.stderr


def test_null_num_workers_decodes_in_the_main_process_on_the_cpu_and_in_workers_beside_a_gpu(image_baked):
    probe = ("import sys, torch; sys.path.insert(0, '.'); from deep import loader as data\n"
             "cfg = {'dataset': {'num_workers': None}}\n"
             "on_cpu = data.worker_count(cfg)\n"
             "torch.cuda.is_available = lambda: True\n"
             "print(on_cpu, data.worker_count(cfg), data.worker_count({'dataset': {'num_workers': 3}}))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=image_baked / EXP, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", str(min(4, os.cpu_count() - 1)), "3"]


# ---------------------------------------------------------------- the hook

@pytest.mark.slow
def test_the_hook_verifies_the_image_example_and_leaves_the_project_clean(cookies, capfd):
    result = cookies.bake(extra_context={"kind": "image"})
    assert result.exit_code == 0, result.exception
    out = capfd.readouterr().out
    assert re.search(r"Checking the digits image example: exp001 trains 2 runs.*\n"
                     r"Digits image example verified: exp001 ran 2 runs in [\d.]+ s", out), out
    assert files_of(Path(result.project_path)) == EXPECTED_IMAGE_FILES


def test_without_torch_the_hook_explains_and_keeps_the_image_project(image_baked, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    bin_dir = bare / ("Scripts" if os.name == "nt" else "bin")
    project = tmp_path / image_baked.name
    shutil.copytree(image_baked, project)
    (tmp_path / "hook.py").write_text(render_hook("post_gen_project.py", project_slug=image_baked.name, kind="image",
                                                  git_init="no", verify_example="yes"))
    result = subprocess.run([str(bin_dir / "python"), str(tmp_path / "hook.py")], cwd=project,
                            env={"PATH": str(bin_dir), "HOME": str(tmp_path)}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "The digits image example was not run: no Python here has the packages it needs" in result.stdout
    assert "torch, torchvision, timm" in result.stdout and "python3 -m pip install -r requirements.txt" in result.stdout
    assert (project / EXP / "train.py").is_file() and (project / "data/input/train_images/img0000.png").is_file()


# ---------------------------------------------------------------- Kaggle code competitions

@pytest.mark.slow
def test_an_image_run_s_notebook_asks_for_a_gpu_and_predicts_offline_from_kaggle_s_mounts(image_trained, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(image_trained[0], project)
    assert run_python(project, "scripts/kaggle_cli.py", "package", "exp001/run002", "--user", "ada").returncode == 0
    built = run_python(project, "scripts/kaggle_cli.py", "notebook", "exp001/run002", "--user", "ada")
    assert built.returncode == 0 and "internet off; GPU" in built.stdout, built.stdout + built.stderr
    notebook = next((project / "data/output/kaggle_notebooks").iterdir())
    metadata = json.loads((notebook / "kernel-metadata.json").read_text())
    assert metadata["enable_gpu"] is True and metadata["enable_internet"] is False
    # Kaggle's mounts: the competition's files and the packaged dataset, read-only. The hidden test set is not the
    # public one: a shuffled part of the public rows, and images the run never predicted, under new ids.
    competition = tmp_path / "input" / "playground-series-s5e1"
    (competition / "test_images").mkdir(parents=True)
    public = pd.read_csv(project / "data/input/test.csv", dtype={"id": str}).sample(n=20, random_state=5)
    unseen = pd.read_csv(project / "data/input/train.csv", dtype={"id": str}).tail(10)
    for image_id in public["id"]:
        shutil.copy(project / f"data/input/test_images/{image_id}.png", competition / f"test_images/{image_id}.png")
    for k, image_id in enumerate(unseen["id"]):
        shutil.copy(project / f"data/input/train_images/{image_id}.png", competition / f"test_images/hidden{k:02d}.png")
    hidden_ids = pd.DataFrame({"id": [f"hidden{k:02d}" for k in range(10)]})
    hidden = pd.concat([public[["id"]], hidden_ids]).sample(frac=1, random_state=6)
    hidden.to_csv(competition / "test.csv", index=False)
    hidden.assign(label=0).to_csv(competition / "sample_submission.csv", index=False)
    shutil.copytree(next((project / "data/output/kaggle_datasets").iterdir()), tmp_path / "input" / "exp001-data")
    (tmp_path / "working").mkdir()
    result = subprocess.run([sys.executable, str(notebook / "inference.py"), "--input", str(tmp_path / "input"),
                             "--working", str(tmp_path / "working")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    submitted = pd.read_csv(tmp_path / "working/submission.csv", dtype={"id": str})
    assert submitted["id"].tolist() == hidden["id"].tolist()
    own = pd.read_csv(project / "data/output/exp/exp001/run002/submission.csv", dtype={"id": str}).set_index("id")
    assert submitted.set_index("id").loc[public["id"], "label"].tolist() == own.loc[public["id"], "label"].tolist()
    # the rows the run never saw: as predict.py predicts them from the record in the project
    local = run_python(project, "exp/exp001/predict.py", "run002", "--test", str(competition / "test.csv"),
                       "--sample", str(competition / "sample_submission.csv"), "--out", str(tmp_path / "local.csv"))
    assert local.returncode == 0, local.stdout + local.stderr
    assert (tmp_path / "working/submission.csv").read_text() == (tmp_path / "local.csv").read_text()


# ---------------------------------------------------------------- the scripts beside image runs

@pytest.mark.slow
def test_a_blend_of_image_runs_predicts_a_shuffled_hidden_test_subset_as_it_filled_its_own_submission(
        image_trained, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(image_trained[0], project)
    result = run_python(project, "scripts/blend.py", "exp001/run001", "exp001/run002")
    assert result.returncode == 0, result.stdout + result.stderr
    blend_dir, records = project / "data/output/blend/blend001", project / "data/output/exp/exp001"
    runs = [pd.read_csv(records / run / "oof.csv", dtype={"id": str}) for run in ("run001", "run002")]
    blended = pd.read_csv(blend_dir / "oof.csv", dtype={"id": str})
    probabilities = [c for c in runs[0].columns if c.startswith("pred_")]
    assert len(probabilities) == 10 and np.allclose(blended[probabilities],
                                                    (runs[0][probabilities] + runs[1][probabilities]) / 2)
    hidden = pd.read_csv(project / "data/input/test.csv", dtype={"id": str}).sample(frac=0.5, random_state=3)
    hidden.to_csv(project / "data/input/hidden_test.csv", index=False)  # beside test_images/, as on Kaggle
    hidden.assign(label=0).to_csv(tmp_path / "hidden_sample.csv", index=False)
    predicted = run_python(project, "scripts/predict_blend.py", "blend001", "--test", "data/input/hidden_test.csv",
                           "--sample", str(tmp_path / "hidden_sample.csv"), "--out", str(tmp_path / "sub.csv"))
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    own = pd.read_csv(blend_dir / "submission.csv", dtype={"id": str}).set_index("id").loc[hidden["id"]].reset_index()
    assert pd.read_csv(tmp_path / "sub.csv", dtype={"id": str}).equals(own)


@pytest.mark.slow
def test_multilabel_image_runs_blend_and_the_blend_s_notebook_asks_for_a_gpu(image_baked, tmp_path):
    project = quick_copy(image_baked, tmp_path, n_splits=2)
    data = project / "data/input"
    train = pd.read_csv(data / "train.csv", dtype={"id": str}).head(60)
    digits = train.pop("label").to_numpy()
    labelled = train.assign(even=(digits % 2 == 0).astype(int), big=(digits >= 5).astype(int))
    labelled.to_csv(data / "train.csv", index=False)
    test = pd.read_csv(data / "test.csv", dtype={"id": str})
    test.assign(even=0.5, big=0.5).to_csv(data / "sample_submission.csv", index=False)
    config = project / EXP / "config.yml"
    text = config.read_text().replace("  target: label ", "  target: [even, big] ", 1)
    config.write_text(text.replace("  scheme: stratified ", "  scheme: kfold ", 1))
    exp_py = project / EXP / "exp.py"
    text = exp_py.read_text()
    start = text.index("RUNS = [")
    end = text.index("\n]\n", start) + 1
    exp_py.write_text(text[:start] + 'RUNS = [\n    "task: multilabel\\nmetric: auc",\n'
                      '    "task: multilabel\\nmetric: auc\\nseed: 7",\n' + text[end:])
    trained = run_exp(project)
    assert trained.returncode == 0, trained.stdout + trained.stderr

    result = run_python(project, "scripts/blend.py", "exp001/run001", "exp001/run002", "--optimize")

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"auc \(higher is better\), out of fold on 60 rows", result.stdout), result.stdout
    blend_dir = project / "data/output/blend/blend001"
    submission = pd.read_csv(blend_dir / "submission.csv", dtype={"id": str})
    assert list(submission.columns) == ["id", "even", "big"] and submission["id"].equals(test["id"])
    assert ((submission[["even", "big"]] >= 0) & (submission[["even", "big"]] <= 1)).all().all()
    predicted = run_python(project, "scripts/predict_blend.py", "blend001", "--test", "data/input/test.csv",
                           "--out", str(tmp_path / "sub.csv"))
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert np.allclose(pd.read_csv(tmp_path / "sub.csv")[["even", "big"]], submission[["even", "big"]], rtol=0,
                       atol=1e-6)
    assert run_python(project, "scripts/kaggle_cli.py", "package", "blend001", "--user", "ada").returncode == 0
    built = run_python(project, "scripts/kaggle_cli.py", "notebook", "blend001", "--user", "ada")
    assert built.returncode == 0 and "internet off; GPU" in built.stdout, built.stdout + built.stderr


def kaggle_layouts(project, multilabel):
    """Lay the example's images out as other competitions do: images/train/<image_id> with image_id 'img0001.png'
    (the file name in the table), or, for multilabel, train/<id>.png with one 0/1 column per label."""
    data = project / "data/input"
    train, test = (pd.read_csv(data / name, dtype={"id": str}) for name in ("train.csv", "test.csv"))
    if multilabel:
        (data / "train_images").rename(data / "train")
        (data / "test_images").rename(data / "test")
        digits = train.pop("label").to_numpy()
        labelled = train.assign(even=(digits % 2 == 0).astype(int), big=(digits >= 5).astype(int))
        labelled.to_csv(data / "train.csv", index=False)
        test.assign(even=0.5, big=0.5).to_csv(data / "sample_submission.csv", index=False)
        return
    (data / "images").mkdir()
    (data / "train_images").rename(data / "images/train")
    (data / "test_images").rename(data / "images/test")
    for frame, name in ((train, "train.csv"), (test, "test.csv")):
        frame.insert(0, "image_id", frame.pop("id") + ".png")
        frame.to_csv(data / name, index=False)
    test.assign(label=0).to_csv(data / "sample_submission.csv", index=False)


@pytest.mark.slow
def test_switch_competition_finds_where_the_images_are_and_a_run_may_give_height_and_width(image_baked, tmp_path):
    project = quick_copy(image_baked, tmp_path)
    kaggle_layouts(project, multilabel=False)
    for name in ("train", "test"):  # a few of the example's own images, still there after the competition's download
        (project / f"data/input/{name}_images").mkdir()
        for path in sorted((project / f"data/input/images/{name}").iterdir())[:3]:
            shutil.copy(path, project / f"data/input/{name}_images" / path.name)

    result = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "data.image: images/train/{image_id}\n" in result.stdout, result.stdout
    config = yaml.safe_load((project / EXP / "config.yml").read_text())
    assert (config["data"]["image"] == "images/train/{image_id}"
            and config["data"]["test_image"] == "images/test/{image_id}")
    assert config["data"]["id"] == "image_id" and config["task"] == "multiclass" and "target_transform" not in config
    assert ("left from the bundled example, read by no run now: data/input/train_images/, data/input/test_images/ "
            "(rm -r data/input/train_images/ data/input/test_images/)") in result.stdout
    one_run(project, "image:\n  size: [24, 16]")
    debug = run_exp(project, "--debug")
    assert debug.returncode == 0, debug.stdout + debug.stderr
    record = project / "data/output/debug/exp001/run001"
    assert yaml.safe_load((record / "config.yml").read_text())["image"]["size"] == [24, 16]
    assert list(pd.read_csv(record / "submission.csv").columns) == ["image_id", "label"]


def test_switch_competition_proposes_multilabel_and_names_images_it_cannot_find(image_baked, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(image_baked, project)
    kaggle_layouts(project, multilabel=True)

    result = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug")

    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((project / EXP / "config.yml").read_text())
    assert config["data"]["target"] == ["even", "big"] and config["task"] == "multilabel" and config["metric"] == "auc"
    assert config["data"]["image"] == "train/{id}.png" and config["data"]["test_image"] == "test/{id}.png"
    assert "  target: [even, big]" in (project / EXP / "config.yml").read_text()  # one line, its comment kept
    shutil.rmtree(project / "data/input/test")
    before = (project / EXP / "config.yml").read_text()
    failed = run_python(project, "scripts/switch_competition.py", "--yes", "--no-debug")
    assert failed.returncode == 1 and "cannot find the images of test.csv's first rows" in failed.stderr, failed.stderr
    assert "--test-image test_images/{id}.png" in failed.stderr
    assert (project / EXP / "config.yml").read_text() == before


@pytest.mark.slow
def test_image_runs_train_in_two_processes_with_live_wandb_curves_and_the_leaderboard_and_new_exp_take_them(
        image_baked, tmp_path):
    pytest.importorskip("wandb")
    project = quick_copy(image_baked, tmp_path, n_splits=2)
    config = project / EXP / "config.yml"
    config.write_text(config.read_text().replace("wandb:                             # optional", "wandb:  # optional",
                                                 1)
                      .replace("  enabled: false\n", "  enabled: true\n", 1))

    result = run_exp(project, "--jobs", "2", env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(set(re.findall(r"run00[12]: running in pid (\d+)", result.stdout))) == 2, result.stdout  # a process each
    for run in ("run001", "run002"):
        record = json.loads((project / "data/output/exp/exp001" / run / "wandb.json").read_text())
        stream = next((project / "data/output/wandb").rglob(f"run-{record['id']}.wandb")).read_bytes()
        assert (b"fold0/valid_loss" in stream
                and b"fold1/accuracy" in stream), "each epoch's curves reach W&B as it trains"
    board = run_python(project, "scripts/leaderboard.py")
    assert board.returncode == 0, board.stdout + board.stderr
    for run in ("run001", "run002"):
        cv = json.loads((project / "data/output/exp/exp001" / run / "metrics.json").read_text())["cv"]
        assert re.search(rf"exp001\s+{run}\s+done\s+{cv:.5f} ± ", board.stdout), board.stdout
    assert re.search(r"run001 .* image\.size=16, dataset\.batch_size=32 +test_resnet", board.stdout), board.stdout
    copied = run_python(project, "scripts/new_exp.py")
    assert copied.returncode == 0, copied.stdout + copied.stderr
    for path in (project / EXP).rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert (project / "exp/exp002" / path.relative_to(project / EXP)).read_bytes() == path.read_bytes(), path
    debug = run_exp(project, "--debug", exp="exp002", env={"WANDB_MODE": "disabled"})
    assert debug.returncode == 0, debug.stdout + debug.stderr


@pytest.mark.slow
def test_tune_samples_the_image_search_space_and_records_each_trial_as_a_run(image_baked, tmp_path):
    pytest.importorskip("optuna")
    project = quick_copy(image_baked, tmp_path, n_splits=2, tta=False)

    result = run_exp(project, "--tune", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    trials = sorted((project / "data/output/exp/exp001/tune").glob("trial*"))
    assert [p.name for p in trials] == ["trial0000", "trial0001"], trials
    for trial in trials:
        status = json.loads((trial / "status.json").read_text())
        config = yaml.safe_load((trial / "config.yml").read_text())
        assert status["status"] == "done" and np.isfinite(json.loads((trial / "metrics.json").read_text())["cv"])
        assert 0.0003 <= config["train"]["lr"] <= 0.01 and config["augment"]["hflip"] in (0.0, 0.5)
        assert (trial / "submission.csv").is_file() and (trial / "models/fold0.pt").is_file()


def test_a_local_weights_file_starts_the_model_from_it_with_a_new_head(image_baked, tmp_path):
    # model.pretrained: path is how a Kaggle dataset of weights is used offline (the hub is unreachable there)
    probe = f"""
import sys, timm, torch
sys.path.insert(0, '.')
import network
from runner.util import DataError
source = timm.create_model('test_resnet', pretrained=False, num_classes=3)
torch.save(source.state_dict(), {str(tmp_path / 'weights.pth')!r})
net = network.create_model(
    {{'model': {{'name': 'test_resnet', 'pretrained': {str(tmp_path / 'weights.pth')!r}, 'params': {{}}}}}}, 10)
mine, theirs = net.state_dict(), source.state_dict()
head = net.get_classifier().weight
body = [k for k in theirs if mine[k].shape == theirs[k].shape]
print(len(body), len(theirs), all(torch.equal(mine[k], theirs[k]) for k in body), head.shape[0])
try:
    network.create_model({{'model': {{'name': 'test_resnet', 'pretrained': 'weights/missing.pth',
                                    'params': {{}}}}}}, 10)
except DataError as e:
    print(e)
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=image_baked / EXP, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1", HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stderr
    counts, message = result.stdout.splitlines()[0].split(), result.stdout.splitlines()[1]
    assert int(counts[0]) == int(counts[1]) - 2 and counts[2] == "True"  # all but the head's weight and bias
    assert counts[3] == "10"  # a new head, for this competition's classes
    assert message.startswith("model.pretrained: weights/missing.pth: file not found. "
                              "Fix: give the path of a weights file")
