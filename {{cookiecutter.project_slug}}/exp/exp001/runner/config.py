"""config.yml and RUNS snippets: parse, check, merge.

Every mistake becomes a ConfigError naming the file or run, the dotted key and how to fix it;
runner.py shows it as a message, not a traceback.
"""
import copy
import difflib
import json
from pathlib import Path

import yaml

from .util import ConfigError, rel

# PyYAML's C parser, when it was built with it, is many times faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Sections whose keys are passed on as they are (model.params to the model, features to add_features in
# data.py): the only places where a key config.yml lacks still reaches code, so the only places +key may add one.
OPEN_SECTIONS = ("model.params", "features")
# Sections the code reads keys from; null there would fail deep inside a run.
SECTIONS = ("data", "cv", "model", "debug", "wandb")
# Far beyond any real config, far below where the YAML parser's own recursion crashes the process.
MAX_DEPTH = 50
MAX_VALUES = 100_000


def parse_yaml(text, where, first_line=1):
    """Give the mapping in `text`; `where` names the file or run, `first_line` is where `text` starts in it."""
    try:
        check_shape(text, where, first_line)
        value = yaml.load(text, Loader=YAML_LOADER)
    except yaml.constructor.ConstructorError as e:  # a tag such as !!python/object
        mark = getattr(e, "problem_mark", None)
        line = f", line {mark.line + first_line}" if mark else ""
        raise ConfigError(
            f"{where}{line}: YAML tags (like !!python/object) are not allowed in a config ({e.problem}). "
            "Fix: write a plain value there: text, a number, true/false, null, a list or a section."
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f", line {mark.line + first_line}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(
            f"{where}{line}: this is not valid YAML ({problem}). "
            "Fix: check the indentation (spaces only) and the 'key: value' form around that line."
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected keys like 'model:' at the top, got a {describe(value)}.")
    return value


def check_shape(text, where, first_line=1):
    """Raise ConfigError for YAML that loads wrong or not at all: a key given twice, deep nesting, an alias bomb.

    It reads the parser's events one by one, so neither depth nor aliases can make it recurse or expand.
    """
    open_nodes = []   # per open section or list: [is_section, {key: line}, next node is a key, anchor, size before]
    anchor_sizes = {}
    size = 0          # values the document expands to, aliases counted as what they stand for
    duplicate = None  # reported after the whole text parsed: a syntax error further on explains it better
    for event in yaml.parse(text, Loader=YAML_LOADER):
        line = event.start_mark.line + first_line
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            _, _, _, anchor, before = open_nodes.pop()
            if anchor:
                anchor_sizes[anchor] = size - before
            continue
        if not isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            continue
        if open_nodes and open_nodes[-1][0]:  # inside a section: keys and values alternate
            section = open_nodes[-1]
            if section[2] and isinstance(event, yaml.ScalarEvent):
                if event.value in section[1] and not duplicate:
                    duplicate = (f"{where}, line {line}: key {event.value!r} is given twice in the same section "
                                 f"(first on line {section[1][event.value]}); YAML would silently keep only the last "
                                 "one. Fix: delete one of the two.")
                section[1][event.value] = line
            section[2] = not section[2]
        size += anchor_sizes.get(event.anchor, 1) if isinstance(event, yaml.AliasEvent) else 1
        if size > MAX_VALUES:
            raise ConfigError(
                f"{where}, line {line}: this YAML expands to more than {MAX_VALUES:,} values (through aliases like "
                "*name). Fix: write the values out instead of nesting aliases.")
        if isinstance(event, yaml.ScalarEvent) and event.anchor:
            anchor_sizes[event.anchor] = 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            open_nodes.append([isinstance(event, yaml.MappingStartEvent), {}, True, event.anchor, size - 1])
            if len(open_nodes) > MAX_DEPTH:
                raise ConfigError(
                    f"{where}, line {line}: sections and lists are nested more than {MAX_DEPTH} levels deep. "
                    "Fix: check the indentation around that line; a config needs only a few levels.")
    if duplicate:
        raise ConfigError(duplicate)


def load_config(path):
    """Give config.yml as a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Every experiment folder needs a config.yml.")
    config = parse_yaml(path.read_text(encoding="utf-8"), rel(path))
    if not config:  # else every run would be blamed for the keys it lacks
        raise ConfigError(f"{rel(path)} is empty (or holds only comments). "
                          "Fix: restore it, e.g. from git or from the config.yml of an earlier experiment.")
    for name in SECTIONS:
        if name in config and not isinstance(config[name], dict):
            raise ConfigError(
                f"{rel(path)}: {name} is {short(config[name])}, but it must be a section with keys under it "
                f"(like {name}.{'params' if name == 'model' else '...'}), which the code reads. "
                "Fix: restore the section (copy it from the config.yml of an earlier experiment).")
    return config


def describe(value):
    """Give the kind of a YAML value in words a user knows."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "section"
    return type(value).__name__


def flatten(tree, prefix=""):
    """Give {'model.params.max_depth': 5, ...} for a nested dict; lists stay whole."""
    flat = {}
    for key, value in tree.items():
        dotted = f"{prefix}{str(key).lstrip('+=')}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def merge_update(base, update, where, prefix="", root=None):
    """Give a copy of `base` with `update` merged in, refusing unknown keys and type changes.

    Sections merge key by key; lists and single values are replaced whole; null sets null.
    A key written as +key is added on purpose even though `base` lacks it, but only inside
    OPEN_SECTIONS, where code reads every key it is given. A section written as =key replaces
    that section whole instead of merging into it (model: {name: xgboost, =params: {max_depth: 6}}
    drops LightGBM's params), again only for OPEN_SECTIONS.
    `root` is the whole config, searched when a key seems to sit at the wrong level.
    """
    root = base if root is None else root
    merged = copy.deepcopy(base)
    for raw_key, value in update.items():
        key = str(raw_key)
        adding, replacing = key.startswith("+"), key.startswith("=")
        name = key[1:] if adding or replacing else key
        dotted = prefix + name
        if replacing:
            merged[name] = replaced_section(merged, name, value, dotted, prefix, where, root)
            continue
        if name not in merged:
            if not adding:
                raise ConfigError(unknown_key_message(base, name, prefix, where, root))
            if not is_open(prefix):
                raise ConfigError(closed_section_message(name, prefix, where, root))
            merged[name] = copy.deepcopy(value)
            continue
        if adding:
            raise ConfigError(f"{where}: +{dotted} adds a key that config.yml already has. "
                              f"Fix: write {name} without the +.")
        old = merged[name]
        if isinstance(old, dict) and isinstance(value, dict):
            merged[name] = merge_update(old, value, where, dotted + ".", root)
        else:
            check_same_kind(old, value, dotted, where)
            merged[name] = copy.deepcopy(value)
    return merged


def replaced_section(merged, name, value, dotted, prefix, where, root):
    """Give the new section for =name, or raise ConfigError when it cannot replace one."""
    if name not in merged:
        raise ConfigError(unknown_key_message(merged, name, prefix, where, root).replace(
            f"unknown key {dotted}", f"={dotted} replaces a section config.yml does not have: {dotted}", 1))
    if not is_open(dotted + "."):
        raise ConfigError(f"{where}: ={dotted} would replace the section {dotted} whole, but code reads its keys by "
                          f"name, so a run without them would fail. Sections can be replaced only in "
                          f"{' and '.join(OPEN_SECTIONS)}. Fix: write {name} without the = to change single keys.")
    if not isinstance(merged[name], dict) or not isinstance(value, dict):
        raise ConfigError(f"{where}: ={dotted} must be a section (key: value lines below it, or an empty section), "
                          f"not {short(value)}. Fix: indent the new keys under ={name}:.")
    return copy.deepcopy(value)


def is_open(prefix):
    """True when a key added under `prefix` ('model.params.') lands in one of OPEN_SECTIONS."""
    return any(prefix == section + "." or prefix.startswith(section + ".") for section in OPEN_SECTIONS)


def closed_section_message(name, prefix, where, root):
    """Give the error for +key where no code would read it, pointing to where it belongs."""
    level = prefix.rstrip(".") or "the top level"
    elsewhere = [d for d in flatten(root) if d.split(".")[-1] == name and is_open(d.rsplit(".", 1)[0] + ".")]
    if elsewhere:
        fix = f"Fix: set {elsewhere[0]} instead (without +: config.yml has it)."
    else:
        fix = (f"Fix: for a model parameter, put +{name} under model: params:; for a switch of your own, put "
               f"+{name} under features: and read it in add_features (data.py).")
    return (
        f"{where}: +{prefix}{name} adds a key at {level}, where no code reads new keys, so the run would train "
        f"without it. Keys can be added only in {' and '.join(OPEN_SECTIONS)}. {fix}"
    )


def check_same_kind(old, new, dotted, where):
    """Raise ConfigError when `new` would change the kind of value at `dotted`."""
    if isinstance(old, dict) and new is None:  # the code reads keys inside it: null would fail deep in a run
        raise ConfigError(
            f"{where}: {dotted} is a section in config.yml but this run sets it to null. "
            "Fix: change the keys inside it instead" + (f" ({', '.join(f'{dotted}.{k}' for k in old)})."
                                                        if old else "."))
    if old is None or new is None:
        return
    old_kind, new_kind = describe(old), describe(new)
    if old_kind == new_kind:  # int and float are both "number", so 3 -> 0.5 is fine
        return
    listed = old if old_kind == "list" else new
    if {old_kind, new_kind} == {"number", "list"} and listed and all(describe(v) == "number" for v in listed):
        return  # one number or one per axis, like image.size: 384 -> [384, 512]; the lab's checks judge the shape
    raise ConfigError(
        f"{where}: {dotted} is a {old_kind} in config.yml ({short(old)}) but this run sets a {new_kind} "
        f"({short(new)}). Fix: give a {old_kind}, or change the value in config.yml if the kind really changes."
    )


def short(value, width=60):
    text = json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def unknown_key_message(base, name, prefix, where, root):
    """Give the error for an unknown key: closest match, the keys at that level, how to add it."""
    siblings = [str(k) for k in base]
    close = difflib.get_close_matches(name, siblings, n=1, cutoff=0.6)
    if close:
        hint = f" (did you mean {prefix}{close[0]}?)"
    else:  # maybe the right key at the wrong level, e.g. max_depth directly under model
        elsewhere = [d for d in flatten(root) if d.split(".")[-1] == name]
        hint = f" (did you mean {elsewhere[0]}?)" if elsewhere else ""
    level = prefix.rstrip(".") or "the top level"
    if is_open(prefix):
        adding = f"To add a new key on purpose, write +{name}."
    else:  # +name would be refused here: say where it can go
        adding = f"New keys can be added (as +{name}) only in {' and '.join(OPEN_SECTIONS)}."
    return (
        f"{where}: unknown key {prefix}{name}{hint}. Keys at {level}: {', '.join(siblings) or '(none)'}. {adding}"
    )
