"""Shared fixtures: bake the template once per session, hand each test its own copy."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zygote import IMAGE_PRELOAD, PRELOAD, TEXT_PRELOAD, Zygote

TEMPLATE = Path(__file__).resolve().parents[1]
# The environment every project script runs with, on top of this process's.
# One thread: on data this small LightGBM is faster alone, and stays fast when other jobs share the cores.
SCRIPT_ENV = {"MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
_zygotes = {}  # warm Pythons by the kind of project they serve
_SESSION_ENV = dict(os.environ)  # before any test's monkeypatch


def pytest_configure(config):
    # Tests never need a screen; keep matplotlib quiet and fast.
    os.environ.setdefault("MPLBACKEND", "Agg")
    # `pytest -m "not slow"` is the quick subset for the edit-test loop; CI (.ci/run) runs everything.
    config.addinivalue_line("markers", "slow: trains many runs, starts many processes or runs the kaggle, cruft or "
                                       "git+cookiecutter CLIs; left out by -m \"not slow\"")


@pytest.fixture(scope="session")
def baked_project(cookies_session):
    """Give the path of a project baked with defaults, the example check skipped (read-only by convention)."""
    result = cookies_session.bake(extra_context={"verify_example": "no"})
    assert result.exit_code == 0, result.exception
    return without_report(Path(result.project_path))


@pytest.fixture(scope="session")
def image_baked(cookies_session):
    """Give a project baked with kind=image, the example check skipped (read-only by convention)."""
    result = cookies_session.bake(extra_context={"kind": "image", "verify_example": "no"})
    assert result.exit_code == 0, result.exception
    return without_report(Path(result.project_path))


@pytest.fixture(scope="session")
def audio_baked(cookies_session):
    """Give a project baked with kind=audio, the example check skipped (read-only by convention)."""
    result = cookies_session.bake(extra_context={"kind": "audio", "verify_example": "no"})
    assert result.exit_code == 0, result.exception
    return without_report(Path(result.project_path))


@pytest.fixture(scope="session")
def text_baked(cookies_session):
    """Give a project baked with kind=text, the example check skipped (read-only by convention)."""
    result = cookies_session.bake(extra_context={"kind": "text", "verify_example": "no"})
    assert result.exit_code == 0, result.exception
    return without_report(Path(result.project_path))


EXP = Path("exp/exp001")


def quick_copy(image_baked, folder, epochs=1, n_splits=3, tta=True):
    """Give a copy of the image project whose config trains quickly: one epoch, few folds, hflip TTA."""
    project = folder / image_baked.name
    shutil.copytree(image_baked, project)
    config = project / EXP / "config.yml"
    text = config.read_text()
    for old, new in (("  epochs: 3\n", f"  epochs: {epochs}\n"), ("  n_splits: 5\n", f"  n_splits: {n_splits}\n"),
                     ("  hflip: false\n", f"  hflip: {str(tta).lower()}\n")):
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)
    return project


# The trained deep-learning projects live here, not in their test files: a fixture imported into another file is
# another fixture there, with its own session cache, and trained again (test_onnx, test_probe).
@pytest.fixture(scope="session")
def image_trained(image_baked, tmp_path_factory):
    """Give an image project whose exp001 ran its two runs (16 and 24 pixels) for one epoch; read-only by convention."""
    return ran_example(quick_copy(image_baked, tmp_path_factory.mktemp("image-trained")))


@pytest.fixture(scope="session")
def audio_trained(audio_baked, tmp_path_factory):
    """Give an audio project whose exp001 ran its example's two runs; read-only by convention."""
    project = tmp_path_factory.mktemp("audio-trained") / audio_baked.name
    shutil.copytree(audio_baked, project)
    return ran_example(project)


def ran_example(project):
    """Run exp001's example runs in `project`; give (project, result), the fixture failing with their output."""
    result = run_exp(project)
    assert result.returncode == 0, result.stdout + result.stderr
    return project, result


def without_report(project):
    """Give `project` with project.yml's `report: false`: rebuilding the HTML report after every exp.py would add
    half a second to each of the suite's hundreds of runs. tests/test_report.py turns it on where it tests it."""
    project_yml = project / "project.yml"
    text = project_yml.read_text(encoding="utf-8")
    assert "\nreport: true" in text, "project.yml lost its report key"
    project_yml.write_text(text.replace("\nreport: true", "\nreport: false"), encoding="utf-8")
    return project


@pytest.fixture
def project(baked_project, tmp_path):
    """Give a fresh copy of the baked project that a test may change freely."""
    copy = tmp_path / baked_project.name
    shutil.copytree(baked_project, copy)
    return copy


@pytest.fixture(scope="session")
def trained_project(baked_project, tmp_path_factory):
    """Give a project whose exp001 has been trained once (the example's three runs); read-only by convention."""
    copy = tmp_path_factory.mktemp("trained") / baked_project.name
    shutil.copytree(baked_project, copy)
    result = run_exp(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    return copy


@pytest.fixture
def trained(trained_project, tmp_path):
    """Give a fresh copy of the trained project that a test may change freely."""
    copy = tmp_path / "trained" / trained_project.name
    shutil.copytree(trained_project, copy)
    return copy


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook
def pytest_xdist_make_scheduler(config, log):
    """`-n 2 --dist loadfile` (CI): deal the files to the workers as tests/worker_units.py says."""
    if config.getvalue("dist") != "loadfile":
        return None
    from worker_units import SharedFixtureUnits
    return SharedFixtureUnits(config, log)


def pytest_unconfigure(config):
    for zygote in _zygotes.values():
        zygote.close()


def run_python(project, script, *args, cwd=None, env=None, timeout=300):
    """Run a script of the project with this Python; give the CompletedProcess (text output).

    It is forked from a Python that imported pandas, scikit-learn and LightGBM once (PyTorch and timm too for a
    kind=image project); tests/zygote.py says what that keeps and what starts a fresh Python instead.
    KAGGLE_EXP_TESTS_FRESH_PYTHON=1: always a fresh Python, as before.
    """
    full_env = dict(os.environ, **SCRIPT_ENV, **(env or {}))
    if os.environ.get("KAGGLE_EXP_TESTS_FRESH_PYTHON") != "1":
        kind = zygote_kind(project)
        if kind not in _zygotes:
            preload = {"image": IMAGE_PRELOAD, "text": TEXT_PRELOAD}.get(kind, PRELOAD)
            _zygotes[kind] = Zygote(dict(_SESSION_ENV, **SCRIPT_ENV), preload)
        forked = _zygotes[kind].run([str(project / script), *args], cwd or project, full_env, timeout)
        if forked is not None:
            return forked
    return subprocess.run(
        [sys.executable, str(project / script), *args], cwd=cwd or project, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )


def zygote_kind(project):
    """Give which warm Python serves `project`: text (transformers), image (PyTorch and timm: image, audio), tabular."""
    network = project / "exp/exp001/network.py"
    if network.is_file() and "transformers" in network.read_text(encoding="utf-8"):
        return "text"
    return "image" if (project / "exp/exp001/deep").is_dir() else "tabular"


def run_exp(project, *args, exp="exp001", **kwargs):
    """Run exp/<exp>/exp.py of the project; give the CompletedProcess."""
    return run_python(project, f"exp/{exp}/exp.py", *args, **kwargs)


def edited_copies(baked, folder, names, edits, exp="exp001"):
    """Give a copy of the baked project per name, each with exp/<exp>/config.yml's lines `edits` (old: new) changed."""
    projects = []
    for name in names:
        project = folder / name / baked.name
        shutil.copytree(baked, project)
        config = project / "exp" / exp / "config.yml"
        text = config.read_text()
        for old, new in edits.items():
            assert old in text, old
            text = text.replace(old, new, 1)
        config.write_text(text)
        projects.append(project)
    return projects
