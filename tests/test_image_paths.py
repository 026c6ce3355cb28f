"""Image paths stay inside the data folder: a hostile id, an absolute path or a symlink out is one message before
any image is opened, unless data.allow_outside names the folder."""
import os
import shutil

import pandas as pd
import pytest
from PIL import Image

from conftest import run_exp
from test_image import EXP, quick_copy


@pytest.fixture
def image_project(image_baked, tmp_path):
    project = quick_copy(image_baked, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (8, 8), "red").save(outside / "secret.png")  # a real image: read, it would train silently
    return project, outside


def put_train_row(project, **row):
    """Make the first train row name its image as `row` says (with a path column when given)."""
    train = pd.read_csv(project / "data/input/train.csv", dtype=str)
    for column, value in row.items():
        if column not in train.columns:
            train[column] = train["id"].map(lambda i: f"train_images/{i}.png")
        train.loc[0, column] = value
    train.to_csv(project / "data/input/train.csv", index=False)


def set_pattern(project, pattern):
    config = project / EXP / "config.yml"
    config.write_text(config.read_text().replace("image: train_images/{id}.png", f'image: "{pattern}"', 1))


@pytest.mark.parametrize("how", ["id with ../", pytest.param("absolute path column", marks=pytest.mark.slow),
                                 pytest.param("symlink out", marks=pytest.mark.slow)])
def test_an_image_path_leading_outside_the_data_folder_is_refused_before_any_image_is_read(image_project, how):
    project, outside = image_project
    if how == "id with ../":
        put_train_row(project, id=os.path.relpath(outside / "secret", project / "data/input/train_images"))
    elif how == "absolute path column":
        set_pattern(project, "{path}")
        put_train_row(project, path=str(outside / "secret.png"))
    else:
        target = project / "data/input/train_images" / pd.read_csv(project / "data/input/train.csv")["id"][0]
        target.with_suffix(".png").unlink()
        target.with_suffix(".png").symlink_to(outside / "secret.png")
    result = run_exp(project, "--run", "1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "1 path(s) of train.csv lead outside data/input" in result.stderr and "row 2:" in result.stderr
    assert "list it in data.allow_outside" in result.stderr and "Traceback" not in result.stderr
    assert not (project / "data/output/exp/exp001/run001").exists()


@pytest.mark.slow
def test_a_folder_in_allow_outside_may_hold_images(image_project):
    project, outside = image_project
    shutil.copy(outside / "secret.png", outside / "extra.png")
    put_train_row(project, id=os.path.relpath(outside / "extra", project / "data/input/train_images"))
    config = project / EXP / "config.yml"
    config.write_text(config.read_text().replace("allow_outside: []", f"allow_outside: [{outside}]", 1))
    result = run_exp(project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
