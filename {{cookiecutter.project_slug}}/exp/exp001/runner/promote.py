"""--promote: the study's best trial appended to RUNS as a normal run, by a text edit of exp.py.

Only the end of the RUNS list changes: a comment naming the study and trial, and the trial's snippet
(its record's config_update.yml) in the same triple quotes and indentation as the runs before it.
Every other comment and line of exp.py stays as it was.
"""
import ast
import textwrap

from . import util
from .config import parse_yaml
from .util import ConfigError, log


def promote(study, exp_py, runs):
    """Append the best trial of `study` to RUNS in exp_py; give the exit code."""
    try:
        best = study.best_trial
    except ValueError:
        raise ConfigError(f"study {study.study_name} has no finished trial yet, so there is nothing to promote. "
                          f"Fix: run python exp/{util.EXP_NAME}/exp.py --tune N first.") from None
    folder = util.ROOT / best.user_attrs.get("record", "")
    if not (folder / "config_update.yml").is_file():
        raise ConfigError(f"trial {best.number}'s record {util.rel(folder)}/ is missing, so its snippet is unknown. "
                          "Fix: restore the record, or copy the trial's values into RUNS by hand.")
    snippet = (folder / "config_update.yml").read_text(encoding="utf-8").rstrip("\n")
    update = parse_yaml(snippet, util.rel(folder / "config_update.yml"))
    for run in runs:
        if run.update == update:
            log.info(f"trial {best.number} of study {study.study_name} is in RUNS already, as {run.name}")
            return 0
    metric = study.user_attrs.get("metric", "value")
    comment = (f"promoted from tuning: study {study.study_name}, trial {best.number} "
               f"({metric}={best.value:.5f}, record {util.rel(folder)}/)")
    source = exp_py.read_text(encoding="utf-8")
    new = append_run(source, snippet, comment)
    if runs_of(new)[-1] != snippet:  # a snippet Python would read differently (a quote, a backslash)
        raise ConfigError(f"trial {best.number}'s snippet cannot be written into RUNS as it is. "
                          f"Fix: copy {util.rel(folder / 'config_update.yml')} into RUNS by hand.")
    util.write_atomic(exp_py, new)
    name = f"run{len(runs) + 1:03d}"
    log.info(f"appended trial {best.number} of study {study.study_name} to RUNS as {name} "
             f"({metric}={best.value:.5f}). Train it: python exp/{util.EXP_NAME}/exp.py --run {len(runs) + 1}")
    return 0


def runs_node(source):
    """Give the list node of `RUNS = [...]` in exp.py's source."""
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.List)
                and any(isinstance(t, ast.Name) and t.id == "RUNS" for t in node.targets)):
            return node.value
    raise ConfigError("exp.py: no RUNS = [...] list found to append to. Fix: write RUNS as a list of snippets.")


def runs_of(source):
    """Give RUNS of `source` as plan.py reads them: each snippet dedented."""
    return [textwrap.dedent(ast.literal_eval(e)).strip("\n") for e in runs_node(source).elts]


def append_run(source, snippet, comment):
    """Give `source` with `snippet` appended to RUNS after a comment line, in the layout of the runs before it."""
    node = runs_node(source)
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def index(line, col):  # ast columns count UTF-8 bytes
        text = source[starts[line - 1]:]
        return starts[line - 1] + len(text.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    close = index(node.end_lineno, node.end_col_offset) - 1  # the ']'
    indent = " " * (node.elts[0].col_offset if node.elts else node.col_offset + 4)
    item = (f"{indent}# {comment}\n{indent}\"\"\"\n{textwrap.indent(snippet, indent)}\n{indent}\"\"\",\n")
    line_start = source.rfind("\n", 0, close) + 1
    if source[line_start:close].strip():  # ']' shares its line with the last run
        new = source[:close] + "\n" + item + source[close:]
    else:
        new = source[:line_start] + item + source[line_start:]
    if node.elts:
        after = index(node.elts[-1].end_lineno, node.elts[-1].end_col_offset)
        if not source[after:close].lstrip().startswith(","):
            new = new[:after] + "," + new[after:]
    return new
