"""The experiment's layout: a lab you edit on top, the run machinery in runner/, which knows no data library."""
import ast
import shutil
import textwrap
from pathlib import Path

from conftest import run_python

EXP = Path("exp/exp001")
DATA_LIBRARIES = {"numpy", "pandas", "sklearn", "scipy", "lightgbm", "xgboost", "catboost", "pyarrow", "PIL",
                  "matplotlib", "torch", "torchvision", "timm"}


def imports_of(path):
    """Give the names `path` imports (relative ones as '.name'; `from a import b` as a.b), at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):  # `from runner import util` may name the module runner.util
            module = "." * node.level + (node.module or "")
            names.update(f"{module}{'' if module.endswith('.') else '.'}{alias.name}" for alias in node.names)
    return names


def module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root):
    """Give {module: modules it imports} for the Python files under `root` (imports of outside modules left out)."""
    files = {module_name(p, root): p for p in root.rglob("*.py") if "__pycache__" not in p.parts}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for imported in imports_of(path):
            if imported.startswith("."):
                level = len(imported) - len(imported.lstrip("."))
                base = package.split(".")[: len(package.split(".")) - (level - 1)] if package else []
                imported = ".".join([*base, imported.lstrip(".")]).strip(".")
            # `from runner import util` names a module too: keep the longest known prefix.
            while imported and imported not in files:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                edges.add(imported)
        graph[name] = edges
    return graph


def cycles(graph):
    """Give the import cycles of `graph`, each as a list of modules."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


# The design card's five files, at the top of every kind's experiment, each with a job of its own.
DESIGN_CARD = {"config.yml", "exp.py", "model.py", "train.py", "util.py"}


def test_the_experiment_folder_holds_the_design_card_files_and_each_file_says_what_you_change(baked_project):
    entries = sorted(p.name for p in (baked_project / EXP).iterdir())
    assert entries == sorted(DESIGN_CARD | {"features.py", "metrics.py", "data.py", "predict.py", "models", "runner",
                                            "tabular", "inputs.py", "diagnostics.py"}), entries
    for path in (baked_project / EXP).glob("*.py"):
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring and docstring.splitlines()[0].strip(), f"{path.name} has no first docstring line"


def test_runner_imports_no_data_or_model_library(baked_project):
    for path in (baked_project / EXP / "runner").rglob("*.py"):
        used = {name.split(".")[0] for name in imports_of(path) if not name.startswith(".")} & DATA_LIBRARIES
        assert not used, f"runner/{path.name} imports {used}"


def test_no_python_file_of_the_project_is_over_300_lines(baked_project):
    long = {str(p.relative_to(baked_project)): n for p in baked_project.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert long == {}


def test_the_experiment_and_the_scripts_have_no_import_cycles(baked_project):
    for folder in (baked_project / EXP, baked_project / "scripts"):
        assert cycles(import_graph(folder)) == [], folder.name


def test_the_cycle_finder_sees_a_cycle(tmp_path):
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from a import x\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("from . import one\n")
    (tmp_path / "pkg/one.py").write_text("from pkg import two\n")
    (tmp_path / "pkg/two.py").write_text("from .one import y\n")
    assert sorted(map(tuple, cycles(import_graph(tmp_path)))) == [("a", "b", "a"), ("pkg.one", "pkg.two", "pkg.one")]


# ---------------------------------------------------------------- the runner's contract, with a lab that is not tabular

WORD_LAB = '''
"""A lab that is not tabular: a run 'trains' by counting the words of its text."""
import json

from runner.util import ConfigError, DataError


def check_config(cfg, where):
    if not isinstance(cfg["text"], str) or not cfg["text"].strip():
        raise ConfigError(f"{where}: text must be some words. Fix: give text: hello world.")


def check_before_training(cfg, n_rows=None):
    if "forbidden" in cfg["text"]:
        raise DataError("the text holds a forbidden word. Fix: remove it.")


def run(cfg, run_dir, n_rows=None):
    words = cfg["text"].split()[: n_rows or None]
    (run_dir / "words.json").write_text(json.dumps(words))
    return {"metric": "words", "cv": len(words) * cfg["weight"]}


def higher_is_better(metric):
    return {"words": True}[metric]
'''
WORD_CONFIG = "text: hello world\nweight: 1.0\nmetric: words\nseed: 0\ndebug:\n  n_rows: 1\n"
WORD_RUNS = '''
"""Words: a lab of a few lines on the same runner."""
import runner

RUNS = [
    """
    weight: 2.0
    """,
    """
    text: one two three
    """,
]

if __name__ == "__main__":
    runner.main(RUNS)
'''
# numpy, pandas and the model libraries cannot be imported in this lab's process: the runner must not need them.
BLOCK_DATA_LIBRARIES = textwrap.dedent(f"""
    import sys
    class Blocked:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {sorted(DATA_LIBRARIES)!r}:
                raise ImportError("blocked in this test: " + name)
    sys.meta_path.insert(0, Blocked())
""")


def word_project(baked_project, tmp_path):
    project = tmp_path / "words"
    exp = project / "exp" / "exp001"
    shutil.copytree(baked_project / EXP / "runner", exp / "runner")
    (exp / "train.py").write_text(WORD_LAB)
    (exp / "config.yml").write_text(WORD_CONFIG)
    (exp / "exp.py").write_text(WORD_RUNS)
    (project / "data" / "output").mkdir(parents=True)
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(BLOCK_DATA_LIBRARIES)
    return project, {"PYTHONPATH": str(tmp_path / "block")}


def test_a_lab_that_is_not_tabular_runs_its_runs_through_the_same_runner(baked_project, tmp_path):
    project, env = word_project(baked_project, tmp_path)
    assert len(WORD_LAB.strip().splitlines()) <= 30

    result = run_python(project, "exp/exp001/exp.py", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    records = project / "data/output/exp/exp001"
    assert sorted(p.name for p in records.iterdir() if not p.name.startswith(".")) == ["run001", "run002"]
    import json
    assert json.loads((records / "run001/words.json").read_text()) == ["hello", "world"]
    assert json.loads((records / "run001/status.json").read_text())["cv"] == 4.0
    assert json.loads((records / "run002/status.json").read_text())["cv"] == 3.0
    assert "weight: 2.0" in (records / "run001/config.yml").read_text()
    assert (records / "run002/src/train.py").read_text() == WORD_LAB
    assert "run001  words=4.00000  <- best" in result.stdout
    again = run_python(project, "exp/exp001/exp.py", "--list", env=env)
    assert again.returncode == 0 and "run002" in again.stdout and "done" in again.stdout, again.stdout + again.stderr


def test_the_runner_reports_a_lab_s_config_and_data_errors_as_messages(baked_project, tmp_path):
    project, env = word_project(baked_project, tmp_path)
    exp_py = project / "exp/exp001/exp.py"
    exp_py.write_text(WORD_RUNS.replace("weight: 2.0", "wieght: 2.0"))
    typo = run_python(project, "exp/exp001/exp.py", env=env)
    assert typo.returncode == 2 and "unknown key wieght (did you mean weight?)" in typo.stderr, typo.stderr
    exp_py.write_text(WORD_RUNS.replace("text: one two three", "text: a forbidden word"))
    data = run_python(project, "exp/exp001/exp.py", env=env)
    assert data.returncode == 2 and "forbidden word. Fix: remove it." in data.stderr and "Traceback" not in data.stderr
    assert not (project / "data/output/exp").exists()
