"""SEARCH, the search space of --tune: parsed, checked against config.yml like a snippet, and turned into snippets.

SEARCH is YAML beside RUNS in exp.py. A leaf is a range or a list of choices to sample, or a plain value
that every trial sets:

    int(8, 256)   int(8, 256, log)   float(0.5, 1.0)   float(1e-3, 10, log)   choice(gbdt, dart)

Every key is merged over config.yml as strictly as a RUNS snippet (unknown key, did you mean, +key), and
every bound and choice is checked by train.check_config, so a mistake stops --tune before any trial.
Nothing here imports Optuna: tune.py turns a Space into Optuna distributions.
"""
import copy
import difflib
import re
import textwrap
from dataclasses import dataclass, field

from . import util
from .config import merge_update, parse_yaml, short
from .util import ConfigError

SEARCH_EXAMPLE = ('SEARCH = """\nmodel:\n  params:\n    num_leaves: int(8, 256, log)\n'
                  '    learning_rate: float(0.01, 0.3, log)\n"""')
KINDS = ("int", "float", "choice")
CALL = re.compile(r"^\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.S)


@dataclass
class Param:
    name: str          # model.params.num_leaves: Optuna's name for it, the dotted key without + signs
    path: tuple        # ("model", "params", "+lambda_l2"): the keys as SEARCH spells them
    kind: str          # int | float | choice
    low: float = None
    high: float = None
    log: bool = False
    choices: list = None


@dataclass
class Space:
    text: str                                    # SEARCH as written (dedented)
    tree: dict                                   # SEARCH parsed, leaves as written
    params: list = field(default_factory=list)   # the sampled leaves
    fixed: dict = field(default_factory=dict)    # {dotted name: value} every trial sets

    def update(self, values):
        """Give the snippet (a dict) of one trial: SEARCH's tree with {param name: value} filled in."""
        tree = copy.deepcopy(self.tree)
        for param in self.params:
            section = tree
            for key in param.path[:-1]:
                section = section[key]
            section[param.path[-1]] = values[param.name]
        return tree

    def snippet(self, values):
        """Give the YAML text of one trial's snippet, as its record's config_update.yml and RUNS hold it."""
        return util.yaml_text(self.update(values)).rstrip("\n")

    def describe(self):
        """Give {name: 'int(8, 256, log)' or fixed value}: what a study remembers of its space."""
        described = {p.name: f"{p.kind}({', '.join(map(str, [p.low, p.high] if p.kind != 'choice' else p.choices))}"
                             f"{', log' if p.log else ''})" for p in self.params}
        return described | {name: short(value) for name, value in self.fixed.items()}


def parse_search(text, source, base):
    """Give the Space of SEARCH, checked against config.yml (`base`); raise ConfigError for any mistake."""
    if not isinstance(text, str):
        raise ConfigError(f"exp.py: SEARCH is {short(text)}, not YAML text. Write it in triple "
                          f"quotes:\n{SEARCH_EXAMPLE}")
    start = source.find(text)
    first_line = source.count("\n", 0, start) + 1 + len(text) - len(text.lstrip("\n")) if start >= 0 else 1
    dedented = textwrap.dedent(text).strip("\n")
    where = "SEARCH (exp.py)"
    tree = parse_yaml(dedented, where, first_line=first_line)
    space = Space(dedented, tree)
    collect(tree, (), space, where)
    if not space.params:
        raise ConfigError(f"{where}: nothing to search: no value is int(...), float(...) or choice(...). "
                          f"Fix: give at least one range, e.g.\n{SEARCH_EXAMPLE}")
    if "metric" in {p.name for p in space.params}:
        raise ConfigError(f"{where}: metric cannot be searched: trials are compared on one metric. "
                          "Fix: set metric in config.yml (or as a plain value in SEARCH).")
    check_against(base, space, where)
    return space


def collect(tree, path, space, where):
    """Fill space.params and space.fixed from SEARCH's tree."""
    for key, value in tree.items():
        key = str(key)
        dotted = ".".join([*(p.lstrip("+") for p in path), key.lstrip("+")])
        if key.startswith("="):
            raise ConfigError(f"{where}: {key} ({dotted}) replaces a section, which SEARCH cannot do. "
                              "Fix: put the =section in a snippet of RUNS, or search single keys inside it.")
        if isinstance(value, dict) and value:
            collect(value, (*path, key), space, where)
        elif isinstance(value, str) and CALL.match(value):
            space.params.append(read_call(value, (*path, key), dotted, where))
        else:
            space.fixed[dotted] = value


def read_call(text, path, dotted, where):
    """Give the Param for 'int(8, 256, log)', 'float(0.1, 1)' or 'choice(a, b)'."""
    kind, inner = CALL.match(text).groups()
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{where}: {dotted}: {kind}(...) is not a way to search{hint}. "
                          "Write int(low, high), float(low, high) (each with an optional ', log') or choice(a, b, c).")
    try:
        args = parse_yaml(f"values: [{inner}]", f"{where}, {dotted}")["values"]
    except ConfigError:
        raise ConfigError(f"{where}: {dotted}: cannot read the values in {text.strip()!r}. "
                          f"Write them separated by commas, e.g. {kind}(1, 10).") from None
    if kind == "choice":
        if not args:
            raise ConfigError(f"{where}: {dotted}: choice() is empty, so there is nothing to choose from. "
                              "Fix: list at least one value, e.g. choice(gbdt, dart).")
        if any(isinstance(a, (list, dict)) for a in args) or len(set(map(repr, args))) < len(args):
            raise ConfigError(f"{where}: {dotted}: {text.strip()}: choices must be distinct plain values "
                              "(numbers, text, true/false, null). Fix: remove the repeated value or the list.")
        return Param(dotted, path, kind, choices=args)
    log = len(args) == 3 and args[2] == "log"
    numbers = [as_number(a) for a in args[:2]] if len(args) == 2 or log else None
    want = int if kind == "int" else (int, float)
    if not numbers or any(isinstance(a, bool) or not isinstance(a, want) for a in numbers):
        what = "two whole numbers" if kind == "int" else "two numbers"
        raise ConfigError(f"{where}: {dotted}: {text.strip()} needs {what}, low and high, then optionally log. "
                          f"Fix: e.g. {kind}(1, 10) or {kind}(1, 10, log).")
    low, high = numbers
    if low > high:
        raise ConfigError(f"{where}: {dotted}: {text.strip()}: low {low} is above high {high}. "
                          f"Fix: write the smaller bound first, {kind}({high}, {low}{', log' if log else ''}).")
    if log and low <= 0:
        raise ConfigError(f"{where}: {dotted}: {text.strip()}: a log scale needs bounds above 0, and low is {low}. "
                          "Fix: "
                          f"raise low above 0 (e.g. {kind}({1 if kind == 'int' else 1e-3}, {high}, log)) or drop log.")
    return Param(dotted, path, kind, float(low) if kind == "float" else low,
                 float(high) if kind == "float" else high, log)


def as_number(value):
    """Give 1e-3 as a number: YAML 1.1, which PyYAML reads, takes a float without a dot for text."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def check_against(base, space, where):
    """Raise ConfigError unless every key of SEARCH merges over config.yml and each bound and choice is a config the lab
    takes."""
    from . import plan

    corners = [{p.name: p.low if p.kind != "choice" else p.choices[0] for p in space.params},
               {p.name: p.high if p.kind != "choice" else p.choices[-1] for p in space.params}]
    for param in space.params:
        for choice in (param.choices or [])[1:-1]:
            corners.append(corners[0] | {param.name: choice})
    for values in corners:
        config = merge_update(base, space.update(values), where)
        plan.check_config(config, f"{where} with {', '.join(f'{k}={short(v)}' for k, v in values.items())}")
