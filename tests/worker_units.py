"""How `pytest -n 2 --dist loadfile` (CI, .ci/run) deals the test files to its workers; tests/conftest.py hooks it in.

Each worker process builds the session fixtures its files ask for. Files that share a trained deep-learning project
(half a minute to a minute of training) go to one worker as one unit, so that it is trained once rather than once per
worker; and the units go out longest first, so that the two workers end together rather than one idling while the
other runs a long file dealt to it last (xdist deals the files with the most tests first, the long few-test ones last).
"""
from collections import OrderedDict
from pathlib import PurePosixPath

from xdist.scheduler import LoadFileScheduling

# File -> the unit it runs in: the files sharing image_trained and audio_trained (test_image.py, test_audio.py), and
# the text files (text_baked and the warm Python that imported transformers).
TOGETHER = {
    "test_audio.py": "deep learning: audio_trained, image_trained",
    "test_image.py": "deep learning: audio_trained, image_trained",
    "test_onnx.py": "deep learning: audio_trained, image_trained",
    "test_probe.py": "deep learning: audio_trained, image_trained",
    "test_text.py": "text",
    "test_text_lora.py": "text",
    "test_text_lora_causal.py": "text",
}
# Seconds each of the longest files took (-n 2 on 2 cores, 2026-12-06, --junitxml); another counts 1 s a test.
SECONDS = {
    "test_onnx.py": 225, "test_image.py": 210, "test_audio.py": 190, "test_text.py": 165, "test_text_lora.py": 120,
    "test_kaggle.py": 110, "test_probe.py": 100, "test_parallel.py": 90, "test_resume.py": 85,
    "test_image_resume.py": 80, "test_submit_notebook.py": 75, "test_fencing.py": 65, "test_text_lora_causal.py": 60,
    "test_predict.py": 45, "test_template.py": 45, "test_report.py": 40, "test_tune.py": 30, "test_guards.py": 30,
    "test_runs.py": 25,
}


class SharedFixtureUnits(LoadFileScheduling):
    """--dist loadfile, with TOGETHER's files in one unit each and the longest units dealt first."""

    def _split_scope(self, nodeid):
        path = super()._split_scope(nodeid)
        return TOGETHER.get(PurePosixPath(path).name, path)

    def _assign_work_unit(self, node):
        if not getattr(self, "_longest_first", False):  # once, before the first unit goes out
            self.workqueue = OrderedDict(sorted(self.workqueue.items(), key=lambda unit: -seconds(unit[1])))
            self._longest_first = True
        super()._assign_work_unit(node)


def seconds(unit):
    """Give the seconds a unit ({nodeid: done}) is expected to take, by SECONDS."""
    files = {}
    for nodeid in unit:
        name = PurePosixPath(nodeid.split("::", 1)[0]).name
        files[name] = files.get(name, 0) + 1
    return sum(SECONDS.get(name, count) for name, count in files.items())
