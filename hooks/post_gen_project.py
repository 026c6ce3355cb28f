"""Finish the new project: lay out its kind, make sure its folders exist, make it a git repository, then prove its
example runs.

Standard library only: cookiecutter often runs from a pipx/uvx environment without numpy,
so the example runs in a subprocess with a Python that has the project's packages.

A failing example never costs the user the project: cookiecutter deletes the project
when this hook exits non-zero, so we report the failure loudly, write it to
data/output/example_check.log, and exit 0. Set KAGGLE_EXP_STRICT_CHECK=1 to exit 1 instead
(for CI that must fail on a broken example). A verified check writes no log: the project is then
exactly what the template renders, so `cruft update` finds nothing of ours to merge.
"""
import csv
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Prompt values arrive as JSON literals, so no quote in them can break this file.
# Until cookiecutter renders this file, ruff reads each Jinja expression below as a set of undefined names (F821).
VERIFY = {{ cookiecutter.verify_example | tojson }} == "yes"  # noqa: F821
GIT_INIT = {{ cookiecutter.git_init | tojson }} == "yes"  # noqa: F821
# cruft adds the template's commit to the context. It renders twice more into scratch folders on every
# `cruft update` and diffs them; a .git made there would land in that diff and fail the update.
UNDER_CRUFT = {{ cookiecutter._commit | default("") | tojson }} != ""  # noqa: F821
PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}  # noqa: F821
# Tests render the hook without a kind.
KIND = {{ cookiecutter.kind | default("tabular") | tojson }} or "tabular"  # noqa: F821

PROJECT = Path.cwd()  # cookiecutter runs this hook inside the new project
# `cruft update` renders the old and the new template into fresh tempfile folders (tmpXXXXXXXX) only to diff
# them: there, running the example twice would only cost time (82 s), and hints would name folders about to vanish.
CRUFT_SCRATCH_RENDER = (UNDER_CRUFT and PROJECT.parent.name.startswith("tmp")
                        and PROJECT.parent.parent == Path(tempfile.gettempdir()).resolve())
FOLDERS = ["data/input", "data/output", "exp", "scripts"]
# The template holds one runner/ and the tabular lab in exp/exp001; other kinds wait in .kinds/<kind>/. The
# deep-learning kinds share one lab, .kinds/deep/ (train.py, model.py, deep/), and add their inputs to it.
KINDS = PROJECT / ".kinds"
DEEP_KINDS = ("image", "audio", "text")
# What the shared lab holds for timm models and files on disk, which a text experiment has no use for.
NOT_USED = {"text": ("deep/heads.py", "deep/model_checks.py", "deep/paths.py")}
# What every kind's exp001 shares, written once in the template: one run machinery, one metric table, one util.py.
SHARED_LAB = ("runner", "diagnostics.py", "inputs.py", "metrics.py", "util.py")
EXAMPLE = {"tabular": "iris example", "image": "digits image example", "audio": "bird calls audio example",
           "text": "docstrings text example"}[KIND]
MODULES = (["yaml", "sklearn", "lightgbm", "pandas", "numpy", "matplotlib"]
           + (["torch", "torchvision", "timm", "PIL"] if KIND in ("image", "audio") else [])
           + (["soundfile", "scipy"] if KIND == "audio" else [])
           + (["torch", "transformers", "tokenizers", "peft"] if KIND == "text" else []))
EXPECTED_RUNS = ["run001", "run002", "run003"] if KIND == "tabular" else ["run001", "run002"]
USUAL_SECONDS = "2 to 10 s" if KIND == "tabular" else "10 to 30 s"
RUN_FILES = ["status.json", "config_update.yml", "config.yml", "metrics.json", "oof.csv",
             "test_pred.csv", "submission.csv", "log.txt", "provenance.json"]
CHECK_LOG = PROJECT / "data" / "output" / "example_check.log"
TIMEOUT_SECONDS = 900
FIRST_COMMIT_MESSAGE = "New project from cookiecutter-kaggle-exp"


def lay_out_kind():
    """Put the chosen kind's lab beside exp/exp001/runner/ and its example into data/input/; drop .kinds/."""
    if not KINDS.is_dir():  # laid out already: the hook ran before
        return
    if KIND != "tabular":
        exp, data = PROJECT / "exp" / "exp001", PROJECT / "data" / "input"
        for entry in exp.iterdir():
            if entry.name not in SHARED_LAB:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        for name in ("train.csv", "test.csv", "sample_submission.csv"):
            (data / name).unlink()
        shared = [(KINDS / "deep" / "exp001", exp)] if KIND in DEEP_KINDS else []
        for source, target in (*shared, (KINDS / KIND / "exp001", exp), (KINDS / KIND / "input", data)):
            for entry in source.iterdir():
                shutil.move(str(entry), str(target / entry.name))
        for name in NOT_USED.get(KIND, ()):
            (exp / name).unlink()
    shutil.rmtree(KINDS, ignore_errors=True)


def ensure_folders():
    """Create the layout's folders; a template fetched with git has no empty ones."""
    for folder in FOLDERS:
        (PROJECT / folder).mkdir(parents=True, exist_ok=True)
    keep = PROJECT / "data" / "output" / ".gitkeep"
    if not keep.exists():
        keep.touch()


def shown(path):
    """Give a path the user can paste into a shell wherever they are: absolute, quoted if needed.

    cookiecutter runs this hook inside the new project, so a relative path would be relative to
    the output folder, not to where the user typed the command.
    """
    return shlex.quote(str(path))


def git(*args):
    return subprocess.run(["git", *args], cwd=PROJECT, capture_output=True, text=True, timeout=60)


def make_git_repository():
    """Give one line saying what became of git: a repository with a first commit, or what to run.

    The first commit holds the code and settings. The .gitignore keeps data/input/* out of git, and
    that includes the iris CSVs: competition files are downloaded over them under the same names, and
    a tracked train.csv would put the competition's data into the next `git commit -a`.
    """
    by_hand = (f"cd {shown(PROJECT)} && git init && git add . && git commit -m {shlex.quote(FIRST_COMMIT_MESSAGE)}")
    if shutil.which("git") is None:
        return f"git not found: install it, then run: {by_hand}   (runs record their git commit)"
    if UNDER_CRUFT:
        return (f"git: run it once cruft has written .cruft.json (cruft update needs that file committed): {by_hand}")
    inside = git("rev-parse", "--show-toplevel")
    if inside.returncode == 0:  # e.g. generated inside a monorepo: its repository already tracks us
        return f"git: the project is inside the repository {shown(inside.stdout.strip())}; no new repository made."
    if not git("config", "user.name").stdout.strip() or not git("config", "user.email").stdout.strip():
        return ("git has no identity yet, so no repository was made. Run: git config --global user.name \"Your Name\" "
                f"&& git config --global user.email you@example.com && {by_hand}")
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", FIRST_COMMIT_MESSAGE]):
        result = git(*step)
        if result.returncode != 0:
            reason = last_line(result.stderr or result.stdout)
            return f"git {step[0]} failed ({reason}); no first commit was made. Run: {by_hand}"
    return f"git: made a repository with a first commit ({FIRST_COMMIT_MESSAGE!r}); the data files stay out of git."


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


def find_python():
    """Give the first Python that has the project's packages: cookiecutter's own, then python3, python."""
    candidates = [sys.executable, shutil.which("python3"), shutil.which("python")]
    probe = "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in sys.argv[1:]))"
    seen = set()
    for python in candidates:
        if not python or python in seen:
            continue
        seen.add(python)
        try:
            if subprocess.run([python, "-c", probe, *MODULES], capture_output=True, timeout=60).returncode == 0:
                return python
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def check_outputs(project):
    """Give a list of problems with the example's outputs; empty when all is there."""
    problems = []
    out = project / "data" / "output" / "exp" / "exp001"
    sample_ids = read_ids(project / "data" / "input" / "sample_submission.csv")
    for run in EXPECTED_RUNS:
        missing = [name for name in RUN_FILES if not (out / run / name).is_file()]
        if missing:
            problems.append(f"{run}: missing {', '.join(missing)}")
            continue
        if '"done"' not in (out / run / "status.json").read_text(encoding="utf-8"):
            problems.append(f"{run}: status is not done")
        if read_ids(out / run / "submission.csv") != sample_ids:
            problems.append(f"{run}: submission.csv ids differ from sample_submission.csv")
    return problems


def read_ids(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [row[0] for row in csv.reader(f)][1:]


def run_example(python):
    """Run exp001 in a scratch copy, so the user's own first run starts from a clean project."""
    scratch = Path(tempfile.mkdtemp(prefix="kaggle-exp-check-"))
    try:
        copy = scratch / PROJECT_SLUG
        shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".git", "output"))
        # The scratch copy is deleted after the check, so the HTML report exp.py would rebuild at the end (a second
        # Python importing pandas and plotly: 2 to 5 s) is never seen.
        settings = copy / "project.yml"
        settings.write_text(settings.read_text(encoding="utf-8").replace("\nreport: true", "\nreport: false"),
                            encoding="utf-8")
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
        # 150 rows gain nothing from threads, and on a busy machine OpenMP threads that wait
        # for each other made the check several times slower (36 s instead of 5 s).
        env.setdefault("OMP_NUM_THREADS", "1")
        started = time.perf_counter()
        try:
            # Run from outside the project: paths must resolve from the project root.
            result = subprocess.run([python, str(copy / "exp" / "exp001" / "exp.py")], cwd=scratch, env=env,
                                    capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
            output, code = result.stdout + result.stderr, result.returncode
        except subprocess.TimeoutExpired as e:
            output, code = f"{e.stdout or ''}{e.stderr or ''}\ntimed out after {TIMEOUT_SECONDS} s", -1
        seconds = time.perf_counter() - started
        problems = [f"exp.py exited with code {code}"] if code != 0 else []
        problems += check_outputs(copy) if code == 0 else []
        return problems, output, seconds
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_check_log(status, text):
    CHECK_LOG.write_text(f"status: {status}\n{text}\n", encoding="utf-8")


def main():
    lay_out_kind()
    ensure_folders()
    if CRUFT_SCRATCH_RENDER:
        return 0
    if GIT_INIT:
        print(make_git_repository())
    run_it = f"cd {shown(PROJECT)} && python exp/exp001/exp.py"
    if not VERIFY:
        print(f"Project {PROJECT_SLUG} created (example check skipped). Try it: {run_it}")
        return 0
    python = find_python()
    if python is None:
        how = (f"    cd {shown(PROJECT)}\n"
               "    python3 -m pip install -r requirements.txt\n"
               "    python3 exp/exp001/exp.py")
        text = (f"The {EXAMPLE} was not run: no Python here has the packages it needs "
                f"({', '.join(MODULES)}). Install them and run it yourself:\n{how}")
        write_check_log("not run", text)
        print(f"\n{text}\n")
        return 0
    print(f"Checking the {EXAMPLE}: exp001 trains {len(EXPECTED_RUNS)} runs in a scratch copy, usually {USUAL_SECONDS} "
          "(skip it next time with verify_example=no)...", flush=True)
    problems, output, seconds = run_example(python)
    if problems:
        write_check_log("failed",
                        f"python: {python}\nproblems:\n  " + "\n  ".join(problems) + f"\n\noutput of exp.py:\n{output}")
        bar = "!" * 78
        print(f"\n{bar}\nTHE {EXAMPLE.upper()} FAILED in the new project {PROJECT_SLUG} (python: {python}).\n"
              + "\n".join(f"  - {p}" for p in problems)
              + f"\nLast lines of its output:\n{chr(10).join(output.splitlines()[-15:])}\n"
              + f"Full log: {shown(CHECK_LOG)}\n"
              + f"The project was kept. Re-run it with: {run_it}\n{bar}\n",
              file=sys.stderr)
        return 1 if os.environ.get("KAGGLE_EXP_STRICT_CHECK") == "1" else 0
    # No log on success: it would hold timings, which differ on every render and which `cruft update` would
    # then try to merge into the user's project.
    print(f"{EXAMPLE[0].upper() + EXAMPLE[1:]} verified: exp001 ran {len(EXPECTED_RUNS)} runs in {seconds:.1f} s with "
          f"{python}.\n"
          f"Next: {run_it}   (README.md, 'Switch to your competition', for your competition's data)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
