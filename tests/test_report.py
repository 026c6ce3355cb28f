"""scripts/report.py: one HTML file of every run, built from the records alone and checked in headless Chromium."""
import base64
import csv
import importlib
import json
import os
import shutil
import sys
from array import array
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import run_exp, run_python
from report_browser import browser, console_errors, load_seconds  # noqa: F401  (browser is a fixture)

ARTIFACTS = Path(__file__).resolve().parent / ".artifacts"  # screenshots kept for a person to look at


def load_helpers(project, module):
    """Give a module of the project's scripts/helpers, its paths resolved from that project."""
    for name in [name for name in sys.modules if name == "helpers" or name.startswith("helpers.")]:
        del sys.modules[name]
    sys.path.insert(0, str(project / "scripts"))
    try:
        return importlib.import_module(f"helpers.{module}")
    finally:
        sys.path.remove(str(project / "scripts"))


def set_metric(folder, metric, direction, cv):
    """Make a copied run record say it was scored with `metric` in `direction`, with CV `cv`."""
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.update(metric=metric, direction=direction, higher_is_better=direction == "maximize", cv=cv)
    (folder / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture(scope="module")
def report_project(trained_project, tmp_path_factory):
    """Give a trained project with 3 runs and 3 tuning trials in exp001, an rmse-scored exp002, a run with learning
    curves, public scores for two runs and a run in progress; read-only by convention."""
    project = tmp_path_factory.mktemp("report") / trained_project.name
    shutil.copytree(trained_project, project)
    result = run_exp(project, "--tune", "3", "--no-prune")
    assert result.returncode == 0, result.stdout + result.stderr
    records = project / "data/output/exp"
    for run, cv in (("run001", 0.30), ("run002", 0.10), ("run003", 0.20)):  # lower is better: run002 is best
        shutil.copytree(records / "exp001" / run, records / "exp002" / run)
        set_metric(records / "exp002" / run, "rmse", "minimize", cv)
    config = yaml.safe_load((records / "exp002/run003/config.yml").read_text())
    del config["debug"]  # made before config.yml had a debug section
    (records / "exp002/run003/config.yml").write_text(yaml.safe_dump(config))
    with open(records / "exp001/run002/history.csv", "w", newline="") as f:  # as the image lab writes it
        writer = csv.writer(f)
        writer.writerow(["fold", "epoch", "train_loss", "valid_loss", "accuracy", "lr", "seconds", "best"])
        for fold in range(2):
            for epoch in range(1, 4):
                writer.writerow([fold, epoch, 1 / epoch, 1.2 / epoch, 0.5 + epoch / 10, 0.001, 1.0, True])
    (project / "data/output/submissions.csv").write_text(
        "date,description,status,publicScore,privateScore\n"
        "2025-01-01T10:00:00Z,exp001/run001 cv=0.95,COMPLETE,0.91,\n"
        "2025-01-02T10:00:00Z,exp001/run003 cv=0.96,COMPLETE,0.93,\n")
    (records / "exp001/.run004.claim").mkdir()
    result = run_python(project, "scripts/report.py")
    assert result.returncode == 0, result.stdout + result.stderr
    return project


@pytest.fixture(scope="module")
def report_data(report_project):
    return load_helpers(report_project, "report_data").gather(report_project / "data/output")


def runs_by_id(data):
    return {run["id"]: run for run in data["runs"]}


def unpack(packed):
    """Give the out-of-fold rows of report_data.pack_values, as report.js's unpackOof reads them."""
    steps = array("H", base64.b64decode(packed["data"]))
    step = (packed["high"] - packed["low"]) / 65534
    values = [np.nan if q == 65535 else packed["low"] + q * step for q in steps]
    return np.array(values).reshape(-1, packed["columns"])


# ---------------------------------------------------------------- the data the page is built from

def test_report_lists_every_run_trial_and_the_run_in_progress(report_data):
    runs = runs_by_id(report_data)
    assert {"exp001/run001", "exp001/run002", "exp001/run003", "exp002/run001"} <= set(runs)
    assert sorted(r["run"] for r in report_data["runs"] if r["trial"]) == ["tune/trial0000", "tune/trial0001",
                                                                           "tune/trial0002"]
    assert runs["exp001/run004"]["status"] == "running"
    assert runs["exp001/run001"]["public_lb"] == 0.91 and runs["exp001/run002"]["public_lb"] == ""


def test_each_run_config_is_its_experiment_base_with_its_own_changes(report_project, report_data):
    for run in report_data["runs"]:
        if run["status"] == "running":
            continue
        config = dict(report_data["bases"][run["exp"]], **run["config"])
        for key in run["unset"]:
            del config[key]
        flat = load_helpers(report_project, "leaderboard_records").flatten(
            yaml.safe_load((report_project / "data/output/exp" / run["exp"] / run["run"] / "config.yml").read_text()))
        assert config == flat, run["id"]


def test_out_of_fold_sample_keeps_each_prediction_within_one_step(report_project, report_data):
    run = runs_by_id(report_data)["exp001/run002"]
    with open(report_project / "data/output/exp/exp001/run002/oof.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    expected = np.array([[float(row[c]) for c in row if c.startswith("pred_")] for row in rows])
    packed = run["oof_values"]
    assert packed["columns"] == 3 and report_data["oof_ids"][run["oof_ids"]] == [row["id"] for row in rows]
    step = (packed["high"] - packed["low"]) / 65534
    assert np.abs(unpack(packed) - expected).max() <= step / 2 + 1e-12


def test_runs_with_the_same_code_share_it_and_an_edited_copy_is_told_apart(report_project, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(report_project, project, symlinks=True)
    with open(project / "data/output/exp/exp001/run003/src/train.py", "a") as f:
        f.write("# tried something\n")
    data = load_helpers(project, "report_data").gather(project / "data/output")
    runs = runs_by_id(data)
    assert runs["exp001/run001"]["code"] == runs["exp001/run002"]["code"] != runs["exp001/run003"]["code"]
    edited = data["code"][runs["exp001/run003"]["code"]]
    assert data["sources"][edited["train.py"]].endswith("# tried something\n")


def test_learning_curves_and_studies_come_from_the_records(report_data):
    curves = runs_by_id(report_data)["exp001/run002"]["history"]
    assert sorted(curves) == ["0", "1"] and curves["1"]["valid_loss"] == pytest.approx([1.2, 0.6, 0.4])
    (study,) = report_data["studies"]
    assert [trial["number"] for trial in study["trials"]] == [0, 1, 2]
    assert all(trial["params"] and isinstance(trial["cv"], float) for trial in study["trials"])


def test_exp_py_rebuilds_the_report_only_when_project_yml_asks(project):
    report = project / "data/output/report.html"
    result = run_exp(project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not report.exists()  # the tests' baked project says report: false (tests/conftest.py)
    project_yml = project / "project.yml"
    project_yml.write_text(project_yml.read_text().replace("report: false", "report: true"))
    result = run_exp(project, "--run", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"exp001/run002"' in report.read_text() and '"exp001/run001"' in report.read_text()



PROBE = """
import sys
import helpers
from runner import report, util
path = list(sys.path)
scripts = util.ROOT / "scripts"
answers = [report.build(scripts / name) for name in ("report.py", "failing_report.py", "refusing_report.py")]
import helpers as again
print(json.dumps({"answers": answers, "lab's own helpers": again is helpers and again.WHOSE, "path": sys.path == path,
                  "left": sorted(n for n in sys.modules if n == "_project_report" or n.startswith("helpers."))}))
"""


def test_the_report_is_built_in_exp_py_s_process_and_leaves_its_modules_as_they_were(trained):
    """runner/report.py runs scripts/report.py's main() in the experiment's process (no second Python's start-up):
    the report is written, the lab's own `helpers` module stays the lab's, nothing of the scripts stays imported,
    and a script that fails or refuses is one line for the warning, never the run's failure."""
    project_yml = trained / "project.yml"
    project_yml.write_text(project_yml.read_text().replace("report: false", "report: true"))
    (trained / "exp/exp001/helpers.py").write_text("WHOSE = 'the lab'\n")  # shares its name with scripts/helpers/
    (trained / "exp/exp001/report_probe.py").write_text("import json\n" + PROBE)
    (trained / "scripts/failing_report.py").write_text(
        "from helpers.project import ROOT\n\ndef main(argv):\n    raise RuntimeError(f'planted in {ROOT.name}')\n")
    (trained / "scripts/refusing_report.py").write_text(
        "import sys\n\ndef main(argv):\n    print('report.py: No module named plotly', file=sys.stderr)\n"
        "    return 2\n")
    result = run_python(trained, "exp/exp001/report_probe.py")
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"answers": [None, f"RuntimeError: planted in {trained.name}", "report.py: No module named plotly"],
                    "lab's own helpers": "the lab", "path": True, "left": []}
    page = (trained / "data/output/report.html").read_text()
    assert '"exp001/run001"' in page and '"exp001/run002"' in page


# ---------------------------------------------------------------- the page in a real browser

def rows_shown(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#runs-table tbody tr')].map(tr => tr.dataset.id)")


@pytest.mark.slow
def test_report_page_works_in_chromium(report_project, report_data, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get((report_project / "data/output/report.html").as_uri())
    assert [driver.find_element(By.ID, s).tag_name for s in ("runs", "cv-lb", "details", "compare", "studies")]
    shown = rows_shown(driver)
    assert len(shown) == 7 and not any("tune/" in run for run in shown)  # 6 runs and the running one, trials hidden
    best = driver.execute_script(
        "return [...document.querySelectorAll('#runs-table tbody tr.best')].map(tr => tr.dataset.id).sort()")
    assert best == ["exp001/run003", "exp002/run002"]  # accuracy: the highest; rmse: the lowest
    driver.find_element(By.CSS_SELECTOR, "th[data-key=cv]").click()
    runs = runs_by_id(report_data)
    cvs = [runs[run]["cv"] for run in rows_shown(driver) if runs[run]["cv"] != ""]
    assert cvs == sorted(cvs)
    driver.find_element(By.CSS_SELECTOR, "th[data-key=cv]").click()
    cvs = [runs[run]["cv"] for run in rows_shown(driver) if runs[run]["cv"] != ""]
    assert cvs == sorted(cvs, reverse=True)
    driver.find_element(By.ID, "show-trials").click()
    assert len(rows_shown(driver)) == 10
    ARTIFACTS.mkdir(exist_ok=True)
    driver.find_element(By.ID, "runs").screenshot(str(ARTIFACTS / "report_runs_table.png"))
    driver.find_element(By.ID, "filter").send_keys("exp002")
    assert sorted(rows_shown(driver)) == ["exp002/run001", "exp002/run002", "exp002/run003"]
    driver.find_element(By.ID, "filter").clear()
    driver.execute_script("showDetails('exp001/run002')")
    assert driver.find_elements(By.CSS_SELECTOR, "#curve-plot .main-svg")  # Plotly drew the curves
    assert len(driver.find_elements(By.CSS_SELECTOR, "#curve-plot .scatterlayer .trace")) == 6  # 2 folds x 3 curves
    driver.find_element(By.ID, "details").screenshot(str(ARTIFACTS / "report_run_curves.png"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "#studies-body .main-svg")) >= 2  # trials, then each parameter
    assert driver.find_elements(By.CSS_SELECTOR, "#cv-lb-plot .main-svg")
    assert console_errors(driver) == []


@pytest.mark.slow
def test_two_runs_compared_show_their_config_and_oof_correlation(report_project, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get((report_project / "data/output/report.html").as_uri())
    for run in ("exp001/run001", "exp001/run003"):
        driver.find_element(By.CSS_SELECTOR, f"tr[data-id='{run}'] input[type=checkbox]").click()
    text = driver.find_element(By.ID, "compare-body").text
    assert "model.params.num_leaves" in text and "model.params.lambda_l1" in text  # what run001 and run003 change
    oofs = [np.loadtxt(report_project / f"data/output/exp/exp001/{run}/oof.csv", delimiter=",", skiprows=1,
                       usecols=(3, 4, 5)).ravel() for run in ("run001", "run003")]
    expected = np.corrcoef(*oofs)[0, 1]
    shown = float(text.split("out-of-fold correlation: ")[1].split()[0])
    assert abs(shown - expected) < 1e-3, (shown, expected)
    assert "The code is the same." in text
    assert console_errors(driver) == []


def make_runs(project, n_exps, n_runs):
    """Give a project whose records hold n_exps x n_runs finished runs, copies of exp001/run001 with other scores."""
    source = project / "data/output/exp/exp001/run001"
    rng = np.random.default_rng(0)
    for e in range(2, 2 + n_exps):
        for r in range(1, n_runs + 1):
            folder = project / f"data/output/exp/exp{e:03d}/run{r:03d}"
            shutil.copytree(source, folder, copy_function=os.link)  # hard links: 1,000 records in seconds
            (folder / "metrics.json").unlink()  # a hard link: written anew, not through the link
            metrics = json.loads((source / "metrics.json").read_text())
            (folder / "metrics.json").write_text(json.dumps(dict(metrics, cv=float(rng.random()))))


@pytest.mark.slow
def test_report_of_a_thousand_runs_builds_in_seconds_and_opens_in_under_two(trained, browser):  # noqa: F811
    make_runs(trained, 10, 100)
    result = run_python(trained, "scripts/report.py")
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    seconds = float(result.stdout.split(" MB, ")[1].split(" s)")[0])
    assert seconds < 20, result.stdout  # measured 5.2 s for 1,007 runs on a loaded 2-core machine
    page = trained / "data/output/report.html"
    # the fastest of three loads: the page's own cost, not that of a second test worker sharing the 2 cores
    took = min(load_seconds(browser, page) for _ in range(3))
    print(f"1,003 runs: table on screen {took:.2f} s after navigation")
    assert took < 2.0
    assert len(rows_shown(browser)) >= 150  # the first rows at once, the rest in chunks
    browser.execute_script("return new Promise(done => setTimeout(done, 1500))")
    assert len(rows_shown(browser)) == 1003
    assert console_errors(browser) == []


@pytest.mark.slow
def test_code_that_differs_between_two_runs_is_shown_line_by_line(report_project, tmp_path, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    project = tmp_path / "p"
    shutil.copytree(report_project, project, symlinks=True)
    train = project / "data/output/exp/exp001/run003/src/train.py"
    lines = train.read_text().splitlines(keepends=True)
    train.write_text("".join(lines[:40] + ["# tried something\n"] + lines[41:]))  # line 41 replaced
    assert run_python(project, "scripts/report.py").returncode == 0
    browser.get((project / "data/output/report.html").as_uri())
    for run in ("exp001/run001", "exp001/run003"):
        browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{run}'] input[type=checkbox]").click()
    (diff,) = browser.find_elements(By.CSS_SELECTOR, "#compare-body details")
    assert diff.find_element(By.TAG_NAME, "summary").text == "train.py"
    assert [e.text for e in diff.find_elements(By.CSS_SELECTOR, ".added")] == ["+ # tried something"]
    assert [e.text for e in diff.find_elements(By.CSS_SELECTOR, ".removed")] == ["- " + lines[40].rstrip("\n")]
    assert len(diff.find_elements(By.CSS_SELECTOR, ".same")) <= 6  # two lines of context each side, and a ⋯ or two
    assert console_errors(browser) == []
