"""kaggle_cli.py probe: the notebook's predict.py timed on samples here, its minutes estimated for the hidden test set
and weighed against project.yml's submit.time_limit_minutes; notebook --push refuses a run that will not fit."""
import importlib
import json
import shutil
import sys

import pytest

from conftest import run_python
from test_image import image_trained  # noqa: F401 (a fixture)
from test_kaggle import KERNEL, fake_kaggle, no_real_kaggle_account  # noqa: F401 (fixtures)


def probe_module(project):
    """Import the project's scripts/helpers/kaggle_probe.py (its pure arithmetic)."""
    sys.path.insert(0, str(project / "scripts"))
    try:
        for name in [n for n in sys.modules if n == "helpers" or n.startswith("helpers.")]:
            del sys.modules[name]
        return importlib.import_module("helpers.kaggle_probe")
    finally:
        sys.path.remove(str(project / "scripts"))


def test_the_estimate_is_the_start_once_plus_the_rate_times_the_hidden_size_times_the_margin(baked_project):
    probe = probe_module(baked_project)
    start, rate = probe.fit_time([(500, 2.0 + 0.004 * 500), (2000, 2.0 + 0.004 * 2000)])
    assert start == pytest.approx(2.0) and rate == pytest.approx(0.004)
    minutes = [probe.estimate_minutes(start, rate, n, 1.5) for n in (0, 10_000, 20_000, 30_000, 1_000_000)]
    assert minutes[0] == pytest.approx(2.0 * 1.5 / 60)  # an empty test set still pays the start
    # each 10,000 more rows cost the same: rate x 10,000 x margin
    assert minutes[2] - minutes[1] == pytest.approx(minutes[3] - minutes[2]) == pytest.approx(0.004 * 10_000 * 1.5 / 60)
    assert minutes[4] == pytest.approx((2.0 + 4_000) * 1.5 / 60)
    assert probe.estimate_minutes(start, rate, 10_000, 3.0) == pytest.approx(2 * minutes[1])


def test_a_size_that_cost_nothing_measurable_is_still_charged_and_one_sample_is_all_rate(baked_project):
    probe = probe_module(baked_project)
    start, rate = probe.fit_time([(100, 3.0), (400, 2.9)])  # noise: the larger sample was quicker
    assert rate == pytest.approx(probe.NOISE * 2.9 / 300) and rate > 0
    assert start == pytest.approx(3.0 - rate * 100)
    assert probe.fit_time([(4, 8.0)]) == (0.0, 2.0)  # a test set of 4 rows: no start told apart from the rate


def saved(project):
    return json.loads((project / "data/output/probe/exp001-run002.json").read_text())


def test_probe_of_a_tabular_run_times_two_samples_and_saves_an_estimate_that_follows_from_them(trained):
    result = run_python(trained, "scripts/kaggle_cli.py", "probe", "exp001/run002", "--test-size", "1000000",
                        "--sample-size", "4000")

    assert result.returncode == 0, result.stdout + result.stderr
    probe = probe_module(trained)
    found = saved(trained)
    assert [n for n, _ in found["points"]] == [1000, 4000]  # the 30 test rows copied over, ids made unique
    assert all(seconds > 0 for _, seconds in found["points"])
    start, rate = probe.fit_time(found["points"])
    assert (found["start_seconds"], found["seconds_per_unit"]) == (start, rate)
    assert found["minutes"] == pytest.approx(probe.estimate_minutes(start, rate, 1_000_000, 1.5))
    assert found["limit_minutes"] == 540 and found["fits"] is True and found["device"] == "cpu"
    assert f"{found['minutes']:,.1f} min of the 540-minute limit: fits" in result.stdout


def test_push_refuses_a_run_the_probe_says_will_not_fit_unless_forced(trained, fake_kaggle):  # noqa: F811
    settings = trained / "project.yml"
    settings.write_text(settings.read_text().replace("time_limit_minutes: 540", "time_limit_minutes: 0.001"))
    probed = run_python(trained, "scripts/kaggle_cli.py", "probe", "exp001/run002", "--sample-size", "400")
    assert probed.returncode == 1 and "DOES NOT FIT" in probed.stdout, probed.stdout + probed.stderr
    assert run_python(trained, "scripts/kaggle_cli.py", "package", "exp001/run002", env=fake_kaggle.env).returncode == 0

    refused = run_python(trained, "scripts/kaggle_cli.py", "notebook", "exp001/run002", "--push", env=fake_kaggle.env)

    assert refused.returncode == 2
    assert "over the 0.001-minute limit" in refused.stderr and "--force" in refused.stderr
    assert fake_kaggle.calls() == []  # nothing reached Kaggle
    forced = run_python(trained, "scripts/kaggle_cli.py", "notebook", "exp001/run002", "--push", "--force",
                        env=fake_kaggle.env)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert fake_kaggle.calls() == [["kernels", "push", "-p", f"data/output/kaggle_notebooks/{KERNEL}"]]


@pytest.mark.slow
def test_probe_of_an_image_run_times_it_on_the_cpu_when_this_machine_has_no_gpu(image_trained, tmp_path):  # noqa: F811
    project = tmp_path / "p"
    shutil.copytree(image_trained[0], project)

    result = run_python(project, "scripts/kaggle_cli.py", "probe", "exp001/run002", "--sample-size", "40",
                        "--test-size", "10000")

    assert result.returncode == 0, result.stdout + result.stderr
    found = saved(project)
    assert [n for n, _ in found["points"]] == [10, 40] and found["unit"] == "rows" and found["test_size"] == 10000
    if not shutil.which("nvidia-smi"):  # the notebook asks for a GPU (submit.device: auto); timed on this CPU
        assert found["device"] == "cpu" and "this machine has none" in result.stdout
    start, rate = probe_module(project).fit_time(found["points"])
    assert found["minutes"] == pytest.approx((start + rate * 10000) * 1.5 / 60)
