"""tests/worker_units.py: the files it names exist (a renamed file would silently leave its unit), and it makes one
unit of the files that share a trained project, expected to take the sum of their seconds."""
from pathlib import Path

from worker_units import SECONDS, TOGETHER, SharedFixtureUnits, seconds

TESTS = Path(__file__).parent


def test_every_file_named_exists():
    assert [name for name in {*TOGETHER, *SECONDS} if not (TESTS / name).is_file()] == []


def test_files_sharing_a_trained_project_are_one_unit_whose_seconds_are_its_files_seconds():
    split = SharedFixtureUnits._split_scope.__get__(object.__new__(SharedFixtureUnits))
    assert split("tests/test_onnx.py::test_x") == split("tests/test_audio.py::test_y[a]")
    assert split("tests/test_text_lora.py::x") == split("tests/test_text.py::y") != split("tests/test_onnx.py::x")
    assert split("tests/test_blend.py::test_x") == "tests/test_blend.py"
    deep = {"tests/test_audio.py::a": False, "tests/test_onnx.py::b": False}
    assert seconds(deep) == SECONDS["test_audio.py"] + SECONDS["test_onnx.py"]
    assert seconds({"tests/test_blend.py::a": False, "tests/test_blend.py::b": False}) == 2  # 1 s a test
