"""The template as users meet it: baked with every option, and through the real cookiecutter CLI."""
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import TEMPLATE, run_exp

EXPECTED_FILES = {
    ".gitattributes",
    ".gitignore",
    "README.md",
    "project.yml",
    "pyproject.toml",
    "requirements.txt",
    "data/input/.gitkeep",
    "data/input/sample_submission.csv",
    "data/input/test.csv",
    "data/input/train.csv",
    "data/output/.gitkeep",
    "exp/exp001/config.yml",
    "exp/exp001/data.py",
    "exp/exp001/diagnostics.py",
    "exp/exp001/exp.py",
    "exp/exp001/features.py",
    "exp/exp001/inputs.py",
    "exp/exp001/metrics.py",
    "exp/exp001/model.py",
    "exp/exp001/models/__init__.py",
    "exp/exp001/models/catboost.py",
    "exp/exp001/models/lightgbm.py",
    "exp/exp001/models/progress.py",
    "exp/exp001/models/sklearn.py",
    "exp/exp001/models/thread_count.py",
    "exp/exp001/models/xgboost.py",
    "exp/exp001/predict.py",
    "exp/exp001/runner/__init__.py",
    "exp/exp001/runner/claims.py",
    "exp/exp001/runner/cli.py",
    "exp/exp001/runner/config.py",
    "exp/exp001/runner/interrupts.py",
    "exp/exp001/runner/jobs.py",
    "exp/exp001/runner/one_run.py",
    "exp/exp001/runner/plan.py",
    "exp/exp001/runner/promote.py",
    "exp/exp001/runner/record.py",
    "exp/exp001/runner/report.py",
    "exp/exp001/runner/leaks.py",
    "exp/exp001/runner/resume.py",
    "exp/exp001/runner/search.py",
    "exp/exp001/runner/staleness.py",
    "exp/exp001/runner/study.py",
    "exp/exp001/runner/summary.py",
    "exp/exp001/runner/tracking.py",
    "exp/exp001/runner/tune.py",
    "exp/exp001/runner/util.py",
    "exp/exp001/tabular/__init__.py",
    "exp/exp001/tabular/advice.py",
    "exp/exp001/tabular/checkpoints.py",
    "exp/exp001/tabular/checks.py",
    "exp/exp001/tabular/drift.py",
    "exp/exp001/tabular/encoding.py",
    "exp/exp001/tabular/folds.py",
    "exp/exp001/tabular/names.py",
    "exp/exp001/tabular/outputs.py",
    "exp/exp001/tabular/predictor.py",
    "exp/exp001/tabular/preflight.py",
    "exp/exp001/tabular/submission.py",
    "exp/exp001/train.py",
    "exp/exp001/util.py",
    "scripts/blend.py",
    "scripts/diff_runs.py",
    "scripts/helpers/__init__.py",
    "scripts/helpers/atomic_files.py",
    "scripts/helpers/blending.py",
    "scripts/helpers/image_paths.py",
    "scripts/helpers/kaggle_auth.py",
    "scripts/helpers/kaggle_models.py",
    "scripts/helpers/kaggle_notebook.py",
    "scripts/helpers/kaggle_onnx.py",
    "scripts/helpers/kaggle_package.py",
    "scripts/helpers/kaggle_probe.py",
    "scripts/helpers/kaggle_probe_targets.py",
    "scripts/helpers/kaggle_project.py",
    "scripts/helpers/kaggle_push.py",
    "scripts/helpers/kaggle_score.py",
    "scripts/helpers/kaggle_server.py",
    "scripts/helpers/kaggle_submissions.py",
    "scripts/helpers/leaderboard_chart.py",
    "scripts/helpers/leaderboard_records.py",
    "scripts/helpers/leaderboard_tables.py",
    "scripts/helpers/project.py",
    "scripts/helpers/report.css",
    "scripts/helpers/report.js",
    "scripts/helpers/report_compare.js",
    "scripts/helpers/report_data.py",
    "scripts/helpers/report_page.py",
    "scripts/helpers/run_diff.py",
    "scripts/helpers/stale.py",
    "scripts/kaggle_cli.py",
    "scripts/leaderboard.py",
    "scripts/new_exp.py",
    "scripts/predict_blend.py",
    "scripts/report.py",
    "scripts/switch_competition.py",
}
# kind=image: the same project with the image lab beside the same runner/, and the digits example as Kaggle ships
# images.
# What every kind shares (hooks/post_gen_project.py SHARED_LAB): runner/, diagnostics.py, inputs.py, metrics.py,
# util.py.
SHARED_LAB = ("exp/exp001/runner/", "exp/exp001/diagnostics.py", "exp/exp001/inputs.py", "exp/exp001/metrics.py",
              "exp/exp001/util.py")
TABULAR_LAB = {f for f in EXPECTED_FILES if f.startswith("exp/exp001/") and not f.startswith(SHARED_LAB)}
EXPECTED_IMAGE_FILES = (EXPECTED_FILES - TABULAR_LAB) | {
    "exp/exp001/augment.py",
    "exp/exp001/config.yml",
    "exp/exp001/config_keys.py",
    "exp/exp001/data.py",
    "exp/exp001/exp.py",
    "exp/exp001/deep/__init__.py",
    "exp/exp001/deep/checkpoints.py",
    "exp/exp001/deep/checks.py",
    "exp/exp001/deep/curves.py",
    "exp/exp001/deep/eta.py",
    "exp/exp001/deep/fold_state.py",
    "exp/exp001/deep/folds.py",
    "exp/exp001/deep/heads.py",
    "exp/exp001/deep/loader.py",
    "exp/exp001/deep/mixing.py",
    "exp/exp001/deep/model_checks.py",
    "exp/exp001/deep/onnx_export.py",
    "exp/exp001/deep/outputs.py",
    "exp/exp001/deep/paths.py",
    "exp/exp001/deep/predictor.py",
    "exp/exp001/deep/table.py",
    "exp/exp001/deep/values.py",
    "exp/exp001/metrics.py",
    "exp/exp001/model.py",
    "exp/exp001/network.py",
    "exp/exp001/predict.py",
    "exp/exp001/train.py",
} | {f"data/input/train_images/img{k:04d}.png" for k in range(240)} | {
    f"data/input/test_images/img{k:04d}.png" for k in range(240, 300)}
# kind=audio: the same deep-learning lab (deep/, train.py, model.py, predict.py) with the audio kind's inputs, and the
# bird calls example as BirdCLEF ships recordings (tools/make_audio_example.py).
AUDIO_LAB = {"audio/__init__.py", "audio/decode.py", "audio/labels.py", "audio/mel.py", "audio/waves.py", "data.py",
             "augment.py", "config.yml", "config_keys.py", "exp.py"}
EXPECTED_AUDIO_FILES = {f for f in EXPECTED_IMAGE_FILES if not f.startswith(("data/input/", "exp/exp001/"))} | {
    f for f in EXPECTED_IMAGE_FILES if f.startswith(("exp/exp001/deep/", *(f"exp/exp001/{n}" for n in (
        "model.py", "network.py", "train.py", "predict.py", "util.py", "metrics.py", "inputs.py", "diagnostics.py",
        "runner/"))))} | {
    f"exp/exp001/{name}" for name in AUDIO_LAB} | {
    "data/input/.gitkeep", "data/input/train.csv", "data/input/sample_submission.csv"} | {
    f"data/input/train_audio/{species}/XC{1000 + k}.ogg" for k, species in enumerate(
        ["whistler", "riser", "faller", "triller"] * 12)} | {
    f"data/input/test_soundscapes/soundscape_{k:03d}.ogg" for k in range(1, 5)}
# kind=text: the same lab with the text kind's network.py and inputs (no timm heads, model checks or file paths), and
# the docstrings example with its model folder (tools/make_text_example.py).
TEXT_LAB = {"data.py", "augment.py", "config.yml", "config_keys.py", "exp.py", "network.py", "lora.py"}
EXPECTED_TEXT_FILES = {f for f in EXPECTED_AUDIO_FILES if not f.startswith(("data/input/", "exp/exp001/"))} | {
    f for f in EXPECTED_AUDIO_FILES if f.startswith(("exp/exp001/deep/", *(f"exp/exp001/{n}" for n in (
        "model.py", "train.py", "predict.py", "util.py", "metrics.py", "inputs.py", "diagnostics.py", "runner/"))))
    and f not in ("exp/exp001/deep/heads.py", "exp/exp001/deep/model_checks.py", "exp/exp001/deep/paths.py")} | {
    f"exp/exp001/{name}" for name in TEXT_LAB} | {
    f"data/input/{name}" for name in (".gitkeep", "train.csv", "test.csv", "sample_submission.csv",
                                      "tiny-bert/config.json", "tiny-bert/tokenizer.json",
                                      "tiny-bert/tokenizer_config.json")}
JINJA_LEFTOVER = re.compile(r"{{|{%|{#|cookiecutter\.")


def files_of(project):
    """Give the project's files, without git's own."""
    return {p.relative_to(project).as_posix() for p in project.rglob("*")
            if p.is_file() and p.relative_to(project).parts[0] != ".git"}


def render_hook(name, **values):
    """Give the source of hooks/<name> with each prompt value put in as cookiecutter would (through tojson)."""
    hook = (TEMPLATE / "hooks" / name).read_text()
    return re.sub(r"{{ cookiecutter\.(\w+) (?:\|[^}]*)?\| tojson }}", lambda m: json.dumps(values.get(m.group(1), "")),
                  hook)


# kind=image with the check: tests/test_image.py::test_the_hook_verifies_the_image_example_and_leaves_the_project_clean
@pytest.mark.parametrize("kind, verify", [("tabular", "yes"), ("tabular", "no"), ("image", "no"),
                                          ("audio", "no"), ("text", "no")])
def test_each_option_bakes_exactly_the_documented_files(cookies, kind, verify):
    result = cookies.bake(extra_context={"kind": kind, "verify_example": verify})
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    # A verified check leaves nothing behind: no runs and no log (whose timings would differ on every render).
    assert files_of(project) == {"tabular": EXPECTED_FILES, "image": EXPECTED_IMAGE_FILES,
                                 "audio": EXPECTED_AUDIO_FILES, "text": EXPECTED_TEXT_FILES}[kind]
    assert not (project / "data/output/exp").exists(), "the check must not leave runs in the user's project"


def test_baked_project_has_no_template_syntax_left(baked_project):
    for name in files_of(baked_project):
        path = baked_project / name
        if path.suffix in (".py", ".yml", ".md", ".txt", ".csv", ""):
            text = path.read_text(encoding="utf-8")
            assert not JINJA_LEFTOVER.search(text), f"template syntax left in {name}"


def test_every_yaml_parses_and_every_python_file_compiles(baked_project, tmp_path):
    for path in baked_project.rglob("*.yml"):
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
    for path in baked_project.rglob("*.py"):
        py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)


@pytest.mark.parametrize("kind", ["tabular", "image", "audio", "text"])
def test_baked_python_passes_the_projects_own_ruff_settings(request, kind):
    # The repository's ruff check leaves the template folder out: its code is checked as users get it, baked, under
    # the project's own pyproject.toml.
    fixture = {"tabular": "baked_project", "image": "image_baked", "audio": "audio_baked", "text": "text_baked"}[kind]
    project = request.getfixturevalue(fixture)
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prompt_values_with_quotes_reach_files_intact(cookies):
    name = 'Tom\'s "Big" Comp'
    result = cookies.bake(extra_context={"project_name": name, "author": 'O\'Neil "Al"', "verify_example": "no"})
    assert result.exit_code == 0, result.exception
    assert Path(result.project_path).name == "tom-s-big-comp"
    settings = yaml.safe_load((Path(result.project_path) / "project.yml").read_text())
    assert settings["project_name"] == name
    assert settings["author"] == 'O\'Neil "Al"'


@pytest.mark.parametrize("context, message", [
    ({"project_slug": "My Project"}, "project_slug 'My Project' is not a valid folder name"),
    ({"project_slug": "../escape"}, "is not a valid folder name"),
    ({"competition": "Titanic Survival"}, "competition 'Titanic Survival' is not a Kaggle competition slug"),
    ({"project_name": "!!!"}, "project_name '!!!' has no letter or digit to make a folder name from"),
])
def test_invalid_names_are_rejected_before_anything_is_written(cookies, capfd, tmp_path, context, message):
    result = cookies.bake(extra_context={**context, "verify_example": "no"})
    assert result.exit_code != 0
    assert message in capfd.readouterr().err
    output_dir = tmp_path / "cookies" / "bake00"  # where pytest-cookies asked cookiecutter to write
    assert output_dir.is_dir() and not any(output_dir.iterdir())


@pytest.mark.slow
def test_example_runs_the_same_from_the_root_and_from_its_folder(project, tmp_path):
    from_root = run_exp(project, cwd=project)
    assert from_root.returncode == 0, from_root.stdout + from_root.stderr
    out = project / "data/output/exp/exp001"
    first = {run: (out / run / "metrics.json").read_text() for run in ("run001", "run002", "run003")}
    for run in ("run001", "run002", "run003"):
        for name in ("config_update.yml", "config.yml", "metrics.json", "oof.csv", "test_pred.csv",
                     "submission.csv", "log.txt", "status.json", "provenance.json", "importance.csv",
                     "importance.png", "models/fold0.txt", "src/exp.py"):
            assert (out / run / name).is_file(), f"{run}/{name} missing"
    submission = (out / "run001/submission.csv").read_text().splitlines()
    sample = (project / "data/input/sample_submission.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in submission] == [row.split(",")[0] for row in sample]
    assert {row.split(",")[1] for row in submission[1:]} <= {"setosa", "versicolor", "virginica"}
    assert json.loads(first["run001"])["cv"] > 0.85

    shutil.rmtree(project / "data/output")
    from_inside = run_exp(project, cwd=project / "exp/exp001")
    assert from_inside.returncode == 0, from_inside.stderr
    for run, text in first.items():
        again = json.loads((out / run / "metrics.json").read_text())
        before = json.loads(text)
        assert again["folds"] == before["folds"] and again["best_iterations"] == before["best_iterations"]
    assert not (project / "exp/exp001/data").exists()


def git(*args, cwd, env=None):
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)


@pytest.fixture(scope="session")
def committed_template(tmp_path_factory):
    """Give a git clone holding only the template's committed files, as gh: users get them."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    clone = tmp_path_factory.mktemp("clone") / "cookiecutter-kaggle-exp"
    work = tmp_path_factory.mktemp("work") / "template"
    # Commit the working tree as it is now (tracked and new files, minus ignored ones) into a scratch repo.
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=TEMPLATE,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (TEMPLATE / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, work / name)
    tracked_ignored = subprocess.run(["git", "ls-files", "-ci", "--exclude-standard", "-z"], cwd=TEMPLATE,
                                     capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, tracked_ignored):  # e.g. the example CSVs, force-added
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE / name, work / name)
    git("init", "-q", cwd=work)
    git("add", "-A", cwd=work)
    git("add", "-f", ".", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "template", cwd=work)
    git("clone", "-q", work.as_uri(), str(clone), cwd=work.parent)
    return clone


@pytest.mark.slow
def test_cookiecutter_cli_from_git_url_generates_a_committed_project_and_verifies_example(committed_template, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, HOME=str(tmp_path),  # no user config or replay from the developer's home
               GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    git("config", "--global", "user.name", "Ada", cwd=tmp_path, env=env)
    git("config", "--global", "user.email", "ada@example.com", cwd=tmp_path, env=env)
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", "out",
         f"git+{committed_template.as_uri()}",
         "project_name=Playground S5E1", "competition=playground-series-s5e1"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    project = out / "playground-s5e1"
    # The user hears that the check started, and how long it takes, before it runs.
    assert re.search(r"Checking the iris example.*\d+ to \d+ s.*\n.*Iris example verified", result.stdout)
    # The hint works when pasted where the user typed the command, not only in the output folder.
    assert f"Next: cd {project} && python exp/exp001/exp.py" in result.stdout
    assert files_of(project) == EXPECTED_FILES
    assert yaml.safe_load((project / "project.yml").read_text())["competition"] == "playground-series-s5e1"

    # One first commit with the code, by the user's own git identity; the data stay out of git.
    log = git("log", "--format=%an <%ae>", cwd=project, env=env).stdout.splitlines()
    assert log == ["Ada <ada@example.com>"]
    committed = set(git("ls-files", cwd=project, env=env).stdout.splitlines())
    assert committed == {f for f in EXPECTED_FILES if not f.endswith(".csv")}
    assert git("status", "--porcelain", cwd=project, env=env).stdout == ""


def test_git_prompt_off_leaves_no_repository(cookies):
    result = cookies.bake(extra_context={"git_init": "no", "verify_example": "no"})
    assert result.exit_code == 0, result.exception
    assert not (Path(result.project_path) / ".git").exists()
    assert files_of(Path(result.project_path)) == EXPECTED_FILES


def test_without_a_git_identity_the_hook_says_in_one_line_what_to_run(baked_project, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = tmp_path / "projects" / baked_project.name
    shutil.copytree(baked_project, project, ignore=shutil.ignore_patterns(".git"))
    (tmp_path / "hook.py").write_text(render_hook("post_gen_project.py", project_slug=baked_project.name,
                                                  git_init="yes", verify_example="no"))
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_GLOBAL=str(tmp_path / "empty"), GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="", GIT_AUTHOR_EMAIL="", GIT_COMMITTER_NAME="", GIT_COMMITTER_EMAIL="", EMAIL="")
    result = subprocess.run([sys.executable, str(tmp_path / "hook.py")], cwd=project, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("git"))
    assert "no identity" in line and "git config --global user.email" in line
    assert f"cd {project} && git init && git add . && git commit" in line
    assert not (project / ".git").exists()


@pytest.mark.slow
def test_cruft_update_applies_a_template_change_without_rejects(committed_template, tmp_path):
    pytest.importorskip("cruft")
    template = tmp_path / "template"
    git("clone", "-q", committed_template.as_uri(), str(template), cwd=tmp_path)
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               OMP_NUM_THREADS="1")
    git("config", "--global", "user.name", "Ada", cwd=tmp_path, env=env)
    git("config", "--global", "user.email", "ada@example.com", cwd=tmp_path, env=env)

    def cruft(*args, cwd):
        result = subprocess.run([sys.executable, "-m", "cruft", *args], cwd=cwd, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    # With the example check on: it renders and runs the example for the old and the new template.
    created = cruft("create", "--no-input", str(template), cwd=tmp_path)
    assert "Iris example verified" in created.stdout
    project = tmp_path / "my-kaggle-competition"
    assert not (project / ".git").exists(), "under cruft, git is left for after .cruft.json exists"
    git("init", "-q", cwd=project, env=env)
    git("add", ".", cwd=project, env=env)
    git("commit", "-qm", "first", cwd=project, env=env)

    readme = template / "{{cookiecutter.project_slug}}/README.md"
    readme.write_text(readme.read_text() + "\nA line the template added later.\n")
    git("commit", "-qam", "template: a new README line", cwd=template, env=env)
    update = cruft("update", "-y", cwd=project)
    assert "Checking the iris example" not in update.stdout, "cruft's scratch renders need no example check"

    assert "A line the template added later." in (project / "README.md").read_text()
    assert sorted(p.name for p in project.rglob("*.rej")) == []


def template_copy(tmp_path):
    copy = tmp_path / "template"
    shutil.copytree(TEMPLATE, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", "work"))
    return copy


@pytest.mark.slow
def test_failing_example_is_reported_loudly_and_the_project_is_kept(cookies, capfd, tmp_path):
    template = template_copy(tmp_path)
    train = template / "{{cookiecutter.project_slug}}/exp/exp001/train.py"
    train.write_text(train.read_text().replace('    """Train and evaluate one run',
                                               '    raise RuntimeError("broken on purpose")\n    """'))
    result = cookies.bake(template=str(template))
    assert result.exit_code == 0, "a failed check must not make cookiecutter delete the project"
    err = capfd.readouterr().err
    assert "THE IRIS EXAMPLE FAILED" in err and f"{result.project_path}/data/output/example_check.log" in err
    log = (Path(result.project_path) / "data/output/example_check.log").read_text()
    assert log.startswith("status: failed") and "broken on purpose" in log
    assert (Path(result.project_path) / "exp/exp001/exp.py").is_file()


@pytest.mark.slow
def test_strict_check_fails_the_bake_when_the_example_fails(cookies, tmp_path, monkeypatch):
    template = template_copy(tmp_path)
    train = template / "{{cookiecutter.project_slug}}/exp/exp001/train.py"
    train.write_text(train.read_text().replace('    """Train and evaluate one run',
                                               '    raise RuntimeError("broken on purpose")\n    """'))
    monkeypatch.setenv("KAGGLE_EXP_STRICT_CHECK", "1")
    assert cookies.bake(template=str(template)).exit_code != 0


def test_without_a_python_that_has_the_packages_the_hook_explains_and_keeps_the_project(baked_project, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    bin_dir = bare / ("Scripts" if os.name == "nt" else "bin")
    project = tmp_path / baked_project.name
    shutil.copytree(baked_project, project)
    (tmp_path / "hook.py").write_text(render_hook("post_gen_project.py", project_slug=baked_project.name,
                                                  git_init="no", verify_example="yes"))
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    result = subprocess.run([str(bin_dir / "python"), str(tmp_path / "hook.py")], cwd=project, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "The iris example was not run: no Python here has the packages it needs" in result.stdout
    assert "python3 -m pip install -r requirements.txt" in result.stdout
    assert (project / "data/output/example_check.log").read_text().startswith("status: not run")
