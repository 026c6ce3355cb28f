"""The project's HTML report, data/output/report.html, rebuilt by scripts/report.py after runs (project.yml: report).

The report belongs to the project, not to an experiment, so it is built by the project's script in a child
process: an experiment never imports the scripts. It costs about half a second, so a process rebuilds it
after a run only when REFRESH_SECONDS have passed since it last did, and once when its runs are over.
A report that cannot be built is a warning: it never fails a run.
"""
import os
import subprocess
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
    try:
        result = subprocess.run([sys.executable, str(script), "--quiet"], cwd=util.ROOT, capture_output=True,
                                text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        util.log.warning(f"report: not rebuilt ({e}); python scripts/report.py builds it by hand")
        return
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        util.log.warning(f"report: not rebuilt ({reason}); python scripts/report.py builds it by hand")
