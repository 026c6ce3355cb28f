"""The tabular lab's config checks: values no run could train with, reported before any run starts."""
import difflib

import model
from metrics import METRICS
from runner.util import ConfigError
from tabular.encoding import TARGET_TRANSFORM_NAMES, TARGET_TRANSFORMS
from tabular.folds import GROUP_SCHEMES
from tabular.preflight import check_params

TASKS = ("binary", "multiclass", "regression")
CV_SCHEMES = ("kfold", "stratified", "group", "stratified_group")


def check_config(cfg, where):
    """Raise ConfigError for values no run could train with; called before any run starts."""
    def fail(key, value, allowed):
        shown = "null" if value is None else repr(value)
        close = difflib.get_close_matches(str(value).lower(), [str(a) for a in allowed], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{where}: {key} is {shown}{hint}; allowed: {', '.join(map(str, allowed))}. "
                          "Fix it in config.yml or in the run's snippet.")

    if cfg["task"] not in TASKS:
        fail("task", cfg["task"], TASKS)
    fitting = [name for name, metric in METRICS.items() if cfg["task"] in metric.tasks]
    if cfg["metric"] not in fitting:
        fail("metric", cfg["metric"], fitting)
    for key in ("drop", "categorical"):
        if not isinstance(cfg["data"][key], list):
            fail(f"data.{key}", cfg["data"][key], ["a list of column names, like [a, b] or []"])
    if cfg["data"]["features"] is not None and not isinstance(cfg["data"]["features"], list):
        fail("data.features", cfg["data"]["features"], ["null (all columns)", "a list of column names"])
    cv = cfg["cv"]
    if cv["scheme"] not in CV_SCHEMES:
        fail("cv.scheme", cv["scheme"], CV_SCHEMES)
    if cv["scheme"] in GROUP_SCHEMES and not cv["group"]:
        fail("cv.group", cv["group"],
             [f"the name of the train column whose rows must share a fold (cv.scheme is {cv['scheme']})"])
    if not isinstance(cv["n_splits"], int) or cv["n_splits"] < 2:
        fail("cv.n_splits", cv["n_splits"], ["a whole number of at least 2"])

    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if not whole(cfg["seed"]) or not 0 <= cfg["seed"] < 2**32:
        fail("seed", cfg["seed"], ["a whole number from 0 to 2**32 - 1, like 42"])
    if cv.get("seed") is not None and not (whole(cv["seed"]) and 0 <= cv["seed"] < 2**32):
        fail("cv.seed", cv["seed"], ["a whole number from 0 to 2**32 - 1, like 42", "null (the run's seed)"])
    n_rows = (cfg.get("debug") or {}).get("n_rows")
    if n_rows is not None and not (whole(n_rows) and n_rows >= 1):
        fail("debug.n_rows", n_rows, ["a whole number of rows, at least 1, like 1000", "null (all rows)"])
    if cfg["target_transform"] not in TARGET_TRANSFORM_NAMES:
        fail("target_transform", cfg["target_transform"], ["null", *TARGET_TRANSFORMS])
    if cfg["target_transform"] is not None and cfg["task"] != "regression":
        fail("target_transform", cfg["target_transform"],
             [f"null (task is {cfg['task']}; transforms are for regression)"])
    check_model_config(cfg, where, fail, whole)


def check_model_config(cfg, where, fail, whole):
    """Raise ConfigError for a model section no run could train with, or a family that is not installed."""
    spec = cfg["model"]
    name = spec["name"]
    if name not in model.MODEL_NAMES:
        fail("model.name", name, model.MODEL_NAMES)
    if spec["device"] not in model.DEVICES:
        fail("model.device", spec["device"], model.DEVICES)
    if spec["seeds"] is not None and not (isinstance(spec["seeds"], list) and spec["seeds"] and all(
            whole(s) and 0 <= s < 2**32 for s in spec["seeds"]) and len(set(spec["seeds"])) == len(spec["seeds"])):
        fail("model.seeds", spec["seeds"], ["null (the run's seed)", "a list of different whole numbers from 0 to "
                                             "2**32 - 1, like [0, 1, 2] (a repeated seed trains the same model twice)"])
    if not isinstance(spec["params"], dict):
        fail("model.params", spec["params"], ["a section of the model's parameters (key: value lines below it)"])
    if not whole(spec["num_boost_round"]) or spec["num_boost_round"] < 1:
        fail("model.num_boost_round", spec["num_boost_round"], ["a whole number of at least 1, like 1000"])
    if spec["early_stopping_rounds"] is not None and not (whole(spec["early_stopping_rounds"])
                                                          and spec["early_stopping_rounds"] >= 1):
        fail("model.early_stopping_rounds", spec["early_stopping_rounds"], ["a whole number of at least 1, like 50",
                                                                             "null (train all rounds)"])
    stopping = spec["early_stopping_metric"]
    fitting = [m for m, metric in METRICS.items() if cfg["task"] in metric.tasks]
    if stopping != "auto" and stopping not in fitting:
        fail("model.early_stopping_metric", stopping, ["auto", *fitting])
    check_params(cfg, where)
    seed_keys = [key for key in spec["params"] if key in ("seed", "random_seed", "random_state")]
    if seed_keys:
        raise ConfigError(f"{where}: model.params.{seed_keys[0]} would be replaced by the run's seed. "
                          "Fix: set `seed:` for one seed, or model.seeds: [0, 1, 2] to average several, and drop it "
                          "from model.params.")
    missing = model.missing_package(name)
    if missing:
        raise ConfigError(f"{where}: model.name is {name}, but the {missing[0]} package cannot be imported "
                          f"({missing[1]}). "
                          f"Fix: pip install {missing[0]} (see requirements.txt), or choose another model.name.")
    if spec["device"] == "gpu" and not getattr(model.family(cfg), "GPU", False):
        raise ConfigError(f"{where}: model.device is gpu, but {name} (scikit-learn) runs on the CPU only. "
                          "Fix: set model.device: cpu, or use lightgbm, xgboost or catboost on a GPU.")
    try:
        checked = model.unknown_params(cfg)
    except ValueError as e:
        raise ConfigError(f"{where}: {e} (task is {cfg['task']}). Fix: choose another model.name.") from None
    if checked and checked[0]:
        unknown, accepted = checked
        raise ConfigError(
            f"{where}: model.params {', '.join(unknown)} are not parameters of {name} (model.name). "
            f"It takes: {', '.join(accepted)}. Fix: give model.params for {name} in config.yml, and drop "
            "the LightGBM ones from the snippets in RUNS (or start a new experiment for this model)."
        )
