"""The project's HTML report, data/output/report.html, rebuilt by scripts/report.py after runs (project.yml: report).

The report belongs to the project, not to an experiment: it is the project's script that builds it. exp.py runs that
script's main() in its own process, as `python scripts/report.py` would (scripts/ first on sys.path), then takes the
script's modules out of sys.modules again: no module of the scripts stays in the experiment's process, and none of
the experiment's (a lab's own helpers.py) stands in for one of theirs. In this process because a second Python's
start-up (0.13 s here) was most of what a rebuild cost. It costs 50 ms and more with many records, so a process
rebuilds it after a run only when REFRESH_SECONDS have passed since it last did, and once when its runs are over.
A report that cannot be built is a warning: it never fails a run.
"""
import contextlib
import importlib.util
import io
import os
import sys
import time

import yaml

from . import util

REFRESH_SECONDS = 30
_last_refresh = [time.monotonic()]  # the process's start counts as a refresh: tiny runs pay nothing until the end


def wanted():
    """Give True when project.yml asks for the report (`report: true`, the default when the key is missing)."""
    try:
        project = yaml.safe_load((util.ROOT / "project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(project, dict) and project.get("report", True) is True


def refresh(final=False):
    """Rebuild the report when it is due (or `final`, at the end of the process's runs) and project.yml wants it."""
    script = util.ROOT / "scripts" / "report.py"
    if os.environ.get("KAGGLE_EXP_WORKER") == "1":  # --jobs: the parent rebuilds it once its workers are done
        return
    if not (final or time.monotonic() - _last_refresh[0] >= REFRESH_SECONDS) or not script.is_file() or not wanted():
        return
    _last_refresh[0] = time.monotonic()
    problem = build(script)
    if problem:
        util.log.warning(f"report: not rebuilt ({problem}); python scripts/report.py builds it by hand")


def build(script):
    """Run `script`'s main(["--quiet"]) here, as its own command would run; give None, or why it failed in a line."""
    folder = str(script.parent)
    own = {name: module for name, module in sys.modules.items() if is_scripts_name(name)}  # e.g. the lab's helpers.py
    for name in own:
        del sys.modules[name]
    sys.path.insert(0, folder)
    errors = io.StringIO()
    try:
        spec = importlib.util.spec_from_file_location("_project_report", script)
        module = importlib.util.module_from_spec(spec)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            spec.loader.exec_module(module)
            code = module.main(["--quiet"])
    except SystemExit as e:  # argparse, or a script that exits
        code = e.code
    except Exception as e:  # the script's own bug: a warning, never the run's failure
        return f"{type(e).__name__}: {e}"
    finally:
        sys.path.remove(folder)
        for name in [name for name in sys.modules if is_scripts_name(name)]:
            del sys.modules[name]
        sys.modules.update(own)
    if code not in (0, None):
        return (errors.getvalue().strip().splitlines() or [f"exit code {code}"])[-1]
    return None


def is_scripts_name(name):
    """True for the names scripts/report.py imports its own modules by: the helpers package, and itself."""
    return name == "_project_report" or name == "helpers" or name.startswith("helpers.")
