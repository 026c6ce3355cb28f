"""Model families, target transforms and metrics: switch model.name in config.yml and everything else holds.

Most checks read one session-wide project whose exp001 trains every family on three competitions
made from datasets scikit-learn ships (binary, multiclass, regression), in a single exp.py call
(the runs change data.dir, task and metric), with few boosting rounds.
"""
import csv
import json
import re
import shutil
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets, metrics as skm

from conftest import run_exp, run_python
from test_competitions import edit_config, set_runs, sklearn_competition, write_competition

RECORDS = "data/output/exp/exp001"
FAMILIES = ["lightgbm", "xgboost", "catboost", "random_forest", "linear"]  # linear: logistic_regression or ridge
PARAMS = {  # few rounds and trees: the tests check plumbing, not accuracy
    "lightgbm": {"num_leaves": 7, "min_child_samples": 5, "verbosity": -1},
    "xgboost": {"max_depth": 3, "learning_rate": 0.3},
    "catboost": {"depth": 4, "learning_rate": 0.3},
    "random_forest": {"n_estimators": 20, "max_depth": 6},
    "logistic_regression": {"max_iter": 500},
    "ridge": {"alpha": 1.0},
}
COMPETITIONS = {  # task -> (data folder, target, metric)
    "binary": ("data/input/binary", "diagnosis", "auc"),
    "multiclass": ("data/input/multiclass", "cultivar", "logloss"),
    "regression": ("data/input/regression", "progression", "rmsle"),
}

pytestmark = pytest.mark.slow  # every family (xgboost, catboost...) trained on three competitions


def family_snippet(task, family, extra=""):
    """Give a RUNS snippet that trains `family` on the competition of `task`."""
    folder, target, metric = COMPETITIONS[task]
    name = {"linear": "ridge" if task == "regression" else "logistic_regression"}.get(family, family)
    params = "\n".join(f"    +{k}: {json.dumps(v)}" for k, v in PARAMS[name].items())
    return (f"data:\n  dir: {folder}\n  target: {target}\ntask: {task}\nmetric: {metric}\n"
            f"model:\n  name: {name}\n  params:\n{params}\n{extra}").rstrip("\n")


def write_three_competitions(project):
    """Write the binary, multiclass and regression competitions, each in its own folder under data/input/."""
    cancer = datasets.load_breast_cancer(as_frame=True).frame
    # A text column with missing values, so every family meets a categorical feature.
    cancer.insert(0, "size_band",
                  pd.cut(cancer["mean radius"], [0, 12, 15, 99], labels=["small", "mid", "large"]).astype(object))
    cancer.loc[::7, "size_band"] = np.nan
    cancer["diagnosis"] = cancer.pop("target").map({0: "malignant", 1: "benign"})
    wine = datasets.load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    wine["cultivar"] = wine["cultivar"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    diabetes = datasets.load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    for task, frame in (("binary", cancer), ("multiclass", wine), ("regression", diabetes)):
        folder, target, _ = COMPETITIONS[task]
        frame = frame.sample(frac=1, random_state=0).reset_index(drop=True)
        frame.insert(0, "id", np.arange(1000, 1000 + len(frame)))
        n_test = len(frame) // 4
        train, test = frame.iloc[n_test:], frame.iloc[:n_test].drop(columns=target)
        if task == "multiclass":
            sample = pd.DataFrame({"id": test["id"], **{c: 1 / 3 for c in ("grignolino", "barbera", "barolo")}})
        else:
            sample = pd.DataFrame({"id": test["id"], target: 0.5})
        write_competition(project, train, test, sample, folder=folder)


# run name -> (task, family, what else the run does)
PLAN = []
for _task in COMPETITIONS:
    for _family in FAMILIES:
        PLAN.append((_task, _family, ""))
    if _task == "binary":  # after the first lightgbm run: same bins, then other bins; catboost likewise
        PLAN.insert(1, (_task, "lightgbm", "  +learning_rate: 0.2"))
        PLAN.insert(2, (_task, "lightgbm", "  +max_bin: 63"))
        PLAN.insert(5, (_task, "catboost", "  +l2_leaf_reg: 5"))
PLAN += [
    ("regression", "lightgbm", "target_transform: log1p"),
    ("regression", "xgboost", "target_transform: sqrt"),
    ("multiclass", "lightgbm", "model:\n  seeds: [0, 1]"),
]


def plan_snippet(task, family, extra):
    snippet = family_snippet(task, family)
    if extra.startswith("  +"):  # more LightGBM params
        return snippet + "\n" + extra.replace("  +", "    +")
    if extra.startswith("model:"):
        return snippet.replace("model:\n", extra + "\n", 1)
    return snippet + ("\n" + extra if extra else "")


def run_name(i):
    return f"run{i + 1:03d}"


@pytest.fixture(scope="session")
def families(baked_project, tmp_path_factory):
    """Give a project whose exp001 trained every family on every task in one exp.py call (read-only)."""
    project = tmp_path_factory.mktemp("families") / baked_project.name
    shutil.copytree(baked_project, project)
    write_three_competitions(project)
    edit_config(project, model__params={}, model__num_boost_round=30, model__early_stopping_rounds=10)
    set_runs(project, [textwrap.indent(plan_snippet(*entry), "    ") for entry in PLAN])
    result = run_exp(project, env={"KAGGLE_EXP_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def runs_of(task=None, family=None):
    return [(run_name(i), entry) for i, entry in enumerate(PLAN)
            if (task is None or entry[0] == task) and (family is None or entry[1] == family)]


# ---------------------------------------------------------------- every family on every task

@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_submits_each_task_like_its_sample_on_the_shared_folds(families, family):
    for name, (task, _, _) in runs_of(family=family):
        run = families / RECORDS / name
        folder, target, metric = COMPETITIONS[task]
        sample = pd.read_csv(families / folder / "sample_submission.csv")
        submission = pd.read_csv(run / "submission.csv")
        assert list(submission.columns) == list(sample.columns), name
        assert submission["id"].tolist() == sample["id"].tolist(), name
        assert not submission.isna().any().any(), name
        if task == "multiclass":
            assert np.allclose(submission[["grignolino", "barbera", "barolo"]].sum(axis=1), 1), name
        scores = json.loads((run / "metrics.json").read_text())
        good_enough = {"auc": lambda s: s > 0.9, "logloss": lambda s: s < 0.6, "rmsle": lambda s: s < 0.6}[metric]
        assert scores["metric"] == metric and good_enough(scores["cv"]), (name, scores["cv"])
        # The fold of every out-of-fold row is the one in the shared fold file of this competition.
        oof = pd.read_csv(run / "oof.csv")
        fold_files = [pd.read_csv(p) for p in (families / "data/output/folds").glob("*.csv")]
        shared = next(f for f in fold_files if set(f["id"]) == set(oof["id"]))
        assert oof.merge(shared, on="id", suffixes=("", "_shared")).eval("fold == fold_shared").all(), name


def test_each_family_keeps_its_own_fold_models(families):
    suffixes = {"lightgbm": ".txt", "xgboost": ".ubj", "catboost": ".cbm", "random_forest": ".pkl", "linear": ".pkl"}
    for name, (_, family, extra) in runs_of():
        files = sorted(p.name for p in (families / RECORDS / name / "models").iterdir())
        expected = ([f"fold{k}_seed{s}{suffixes[family]}" for k in range(5) for s in (0, 1)] if "seeds" in extra
                    else [f"fold{k}{suffixes[family]}" for k in range(5)])
        assert files == sorted(expected), name


RELOAD = """
import json, sys
from pathlib import Path
import numpy as np, pandas as pd, yaml
root = Path(sys.argv[1])
sys.path.insert(0, str(root / "exp/exp001"))
import data, train
import model
out = {}
for run in sorted((root / "data/output/exp/exp001").glob("run*")):
    cfg = yaml.safe_load((run / "config.yml").read_text())
    d = data.load_data(cfg)
    X = model.to_matrix(d.X_test)
    folds = [model.load_fold(cfg, run / "models", k) for k in range(cfg["cv"]["n_splits"])]
    pred = sum(train.to_original_scale(cfg, model.predict_fold(cfg, f, X)) for f in folds) / len(folds)
    saved = pd.read_csv(run / "test_pred.csv").drop(columns=cfg["data"]["id"]).to_numpy()
    pred = pred.reshape(saved.shape)
    extra = {}
    if cfg["model"]["name"] == "random_forest":
        extra["n_jobs"] = folds[0][0].n_jobs
    out[run.name] = {"max_diff": float(np.abs(pred - saved).max()), "scale": float(np.abs(saved).max()), **extra}
print(json.dumps(out))
"""


def test_saved_fold_models_of_every_family_reproduce_test_pred(families, tmp_path):
    script = tmp_path / "reload.py"
    script.write_text(RELOAD)
    result = run_python(families, script, str(families))
    assert result.returncode == 0, result.stdout + result.stderr
    reloaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(reloaded) == {run_name(i) for i in range(len(PLAN))}
    for name, check in reloaded.items():
        assert check["max_diff"] <= 1e-6 * max(1.0, check["scale"]), (name, check)
    # --jobs hands each worker its thread count through KAGGLE_EXP_THREADS: it reaches the models.
    assert all(check["n_jobs"] == 1 for check in reloaded.values() if "n_jobs" in check)
    assert "[num_threads: 1]" in (families / RECORDS / "run001/models/fold0.txt").read_text()


def test_runs_with_the_same_binning_reuse_lightgbm_bins_and_a_new_max_bin_bins_again(families):
    def log_of(name):
        return (families / RECORDS / name / "log.txt").read_text()

    first, same_bins, other_bins = (log_of(run_name(i)) for i in range(3))
    assert PLAN[1][2] == "  +learning_rate: 0.2" and PLAN[2][2] == "  +max_bin: 63"
    assert "lightgbm: binned 427 rows x 31 features" in first
    assert "lightgbm: reusing the binned features" in same_bins and "binned 427" not in same_bins
    assert "lightgbm: binned 427 rows x 31 features" in other_bins
    built = sum(log_of(name).count("lightgbm: binned") for name, _ in runs_of(family="lightgbm"))
    # binary twice (max_bin changed once), multiclass, regression; the log1p run reuses the regression
    # bins (only its target differs); the seeds run follows other data, so it bins again.
    assert built == 5


FIXED_ROUNDS = """
import json, sys
from pathlib import Path
import numpy as np, yaml
root = Path(sys.argv[1])
sys.path.insert(0, str(root / "exp/exp001"))
import data
import model
from tabular import folds
out = {}
for name in sys.argv[2:]:
    cfg = yaml.safe_load((root / "data/output/exp/exp001" / name / "config.yml").read_text())
    module, library = model.family(cfg), __import__(cfg["model"]["name"])
    d = data.load_data(cfg)
    f = folds.make_folds(d, cfg["cv"], cfg["seed"])
    prepared = model.prepare(cfg, d.X, d.X_test, d.y, len(d.classes))
    train_idx, valid_idx = np.flatnonzero(f != 0), np.flatnonzero(f == 0)
    given, train = [], library.train
    library.train = lambda *a, **k: given.append(bool(k.get("valid_sets") or k.get("evals"))) or train(*a, **k)
    fitted = {}
    for rounds in (None, 10**6):  # fixed rounds, then early stopping that never stops: the valid rows are evaluated
        cfg["model"]["early_stopping_rounds"] = rounds
        booster = module.fit(cfg, prepared["family"], d.y, train_idx, valid_idx, cfg["seed"])
        fitted[rounds] = (booster.get_dump() if library.__name__ == "xgboost"
                          else booster.dump_model(num_iteration=-1)["tree_info"])
    out[name] = {"valid_rows_given": given, "same_trees": fitted[None] == fitted[10**6]}
print(json.dumps(out))
"""


def test_without_early_stopping_the_valid_rows_are_not_evaluated_and_the_trees_are_the_same(families, tmp_path):
    # LightGBM would compute the valid rows' metric every round (8% of a 1M-row fold's training),
    # XGBoost would build their matrix too; with fixed rounds nothing reads it.
    names = [runs_of("binary", family)[0][0] for family in ("lightgbm", "xgboost")]
    script = tmp_path / "fixed_rounds.py"
    script.write_text(FIXED_ROUNDS)
    result = run_python(families, script, str(families), *names)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = json.loads(result.stdout.strip().splitlines()[-1])
    assert checked == {name: {"valid_rows_given": [False, True], "same_trees": True} for name in names}


SECOND_RUN = """
import json, sys
from pathlib import Path
import lightgbm as lgb, pandas as pd, yaml
root = Path(sys.argv[1])
sys.path.insert(0, str(root / "exp/exp001"))
import data
import model
from tabular import folds
cfg = yaml.safe_load((root / "data/output/exp/exp001/run001/config.yml").read_text())
hashed, threads = [], []
hash_ids = folds.hashlib.sha1
folds.hashlib.sha1 = lambda *a, **k: hashed.append(1) or hash_ids(*a, **k)
predict = lgb.Booster.predict
lgb.Booster.predict = lambda self, X, **k: threads.append(k.get("num_threads")) or predict(self, X, **k)
d = data.load_data(cfg)
first, second = folds.make_folds(d, cfg["cv"], cfg["seed"]), folds.make_folds(d, cfg["cv"], cfg["seed"])
model.predict_fold(cfg, model.load_fold(cfg, root / "data/output/exp/exp001/run001/models", 0),
                   model.to_matrix(d.X_test))
print(json.dumps({"hashed": len(hashed), "same": bool((first == second).all()), "threads": threads}))
"""


def test_a_second_run_on_the_same_data_reuses_the_fold_lookup_and_predicts_on_the_models_threads(families, tmp_path):
    script = tmp_path / "second_run.py"
    script.write_text(SECOND_RUN)
    result = run_python(families, script, str(families))
    assert result.returncode == 0, result.stdout + result.stderr
    checked = json.loads(result.stdout.strip().splitlines()[-1])
    # Hashing the ids names the fold file: about 0.3 s at 1M rows, so it happens once per loaded data.
    assert checked["hashed"] == 1 and checked["same"]
    # The models trained on 1 thread (KAGGLE_EXP_THREADS); LightGBM would predict on every core.
    assert checked["threads"] == [1]


def test_catboost_runs_on_the_same_data_share_one_quantized_pool(families):
    (first, _), (second, _) = runs_of("binary", "catboost")
    assert "catboost: quantized 427 rows x 31 features" in (families / RECORDS / first / "log.txt").read_text()
    log = (families / RECORDS / second / "log.txt").read_text()
    assert "catboost: reusing the quantized Pool" in log and "quantized 427" not in log


# ---------------------------------------------------------------- target transforms

def test_log1p_run_scores_on_the_original_scale_as_its_saved_oof_does(families):
    (name, _), = [(n, e) for n, e in runs_of("regression", "lightgbm") if e[2] == "target_transform: log1p"]
    run = families / RECORDS / name
    scores = json.loads((run / "metrics.json").read_text())
    oof = pd.read_csv(run / "oof.csv")
    assert scores["target_transform"] == "log1p"
    assert oof["pred"].between(20, 400).all()  # the target's own scale, not log(1 + y)

    def rmsle(part):
        return np.sqrt(skm.mean_squared_log_error(part["progression"], part["pred"].clip(lower=0)))

    assert scores["oof"] == pytest.approx(rmsle(oof), rel=1e-9)
    assert scores["folds"] == pytest.approx([rmsle(part) for _, part in oof.groupby("fold")], rel=1e-9)
    test_pred = pd.read_csv(run / "test_pred.csv")
    submission = pd.read_csv(run / "submission.csv")
    assert np.allclose(submission["progression"], test_pred["pred"]) and test_pred["pred"].between(20, 400).all()
    assert "set target_transform: log1p" not in (run / "log.txt").read_text()


def test_rmsle_without_a_transform_hints_at_log1p(families):
    name, _ = runs_of("regression", "lightgbm")[0]
    assert "set target_transform: log1p" in (families / RECORDS / name / "log.txt").read_text()


def test_sqrt_transform_gives_predictions_on_the_original_scale(families):
    (name, _), = [(n, e) for n, e in runs_of("regression", "xgboost") if e[2]]
    oof = pd.read_csv(families / RECORDS / name / "oof.csv")
    assert oof["pred"].between(20, 400).all()
    assert np.corrcoef(oof["pred"], oof["progression"])[0, 1] > 0.5


# ---------------------------------------------------------------- the missing optional family

def test_missing_optional_family_names_its_package_before_training(project, tmp_path):
    stub = tmp_path / "stub" / "catboost"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'catboost'\", name='catboost')\n")
    edit_config(project, model__name="catboost", model__params={})
    set_runs(project, ["    "])

    result = run_exp(project, env={"PYTHONPATH": str(tmp_path / "stub")})

    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "model.name is catboost" in message and "pip install catboost" in message
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project / RECORDS).exists()  # nothing trained, nothing written


# ---------------------------------------------------------------- metrics

METRICS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import train
cases = json.loads(sys.argv[2])
out = {name: train.METRICS[name].score(np.array(y, dtype=float if name in ("mape", "smape", "qwk_reg") else int),
                                       np.array(p))
       for name, (y, p) in cases.items() if name in train.METRICS}
out["qwk_reg"] = train.METRICS["qwk"].score(np.array(cases["qwk_reg"][0], dtype=float), np.array(cases["qwk_reg"][1]))
try:
    train.METRICS["auc"].score(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
except train.DataError as e:
    out["_one_class"] = str(e)
out["_directions"] = {n: [m.higher_is_better, list(m.tasks)] for n, m in train.METRICS.items()}
print(json.dumps(out))
"""


def quadratic_kappa(y, pred, n):
    """Quadratic weighted kappa from its definition: 1 - sum(w * observed) / sum(w * expected)."""
    observed = np.zeros((n, n))
    for a, b in zip(y, pred):
        observed[a, b] += 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(y)
    weights = np.array([[(i - j) ** 2 / (n - 1) ** 2 for j in range(n)] for i in range(n)])
    return 1 - (weights * observed).sum() / (weights * expected).sum()


def kaggle_normalized_gini(y, p):
    """The normalized Gini of Porto Seguro's kernels: a sort-based formula that does not go through AUC."""
    def gini(actual, pred):
        order = np.lexsort((np.arange(len(actual)), -np.asarray(pred)))
        losses = np.asarray(actual, dtype=float)[order]
        return (losses.cumsum().sum() / losses.sum() - (len(actual) + 1) / 2) / len(actual)
    return gini(y, p) / gini(y, y)


def test_new_metrics_match_independent_references(baked_project, tmp_path):
    rng = np.random.default_rng(1)
    y_bin = rng.integers(0, 2, 200)
    p_bin = np.clip(0.35 * y_bin + rng.random(200) * 0.65, 0, 1)
    y_multi = rng.integers(0, 4, 200)
    p_multi = rng.dirichlet(np.ones(4), 200) + np.eye(4)[y_multi] * 0.3
    p_multi /= p_multi.sum(axis=1, keepdims=True)
    y_reg = rng.uniform(1, 100, 200)
    y_reg[:3] = 0  # smape counts 0 against 0 as no error; mape needs y != 0 in the reference
    p_reg = y_reg * rng.uniform(0.7, 1.3, 200)
    p_reg[0] = 0.0
    y_ord = rng.integers(0, 5, 200)
    p_ord = y_ord + rng.normal(0, 0.8, 200)
    y_big = rng.integers(0, 2, 3_000)
    p_tied = np.round(np.clip(0.2 * y_big + rng.random(3_000), 0, 1), 2)  # many ties: they share their mean rank
    cases = {"auc": [y_big, p_tied], "mcc": [y_multi, p_multi], "balanced_accuracy": [y_bin, p_bin],
             "gini": [y_bin, p_bin],
             "mape": [y_reg[3:], p_reg[3:]], "smape": [y_reg, p_reg], "qwk": [y_multi, p_multi],
             "qwk_reg": [y_ord, p_ord]}
    payload = json.dumps({k: [np.asarray(v).tolist() for v in pair] for k, pair in cases.items()})

    script = tmp_path / "metrics_check.py"
    script.write_text(METRICS_SCRIPT)
    result = run_python(baked_project, script, str(baked_project / "exp/exp001"), payload)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout.strip().splitlines()[-1])

    smape_reference = 100 * np.mean([0.0 if a == b == 0 else 2 * abs(b - a) / (abs(a) + abs(b))
                                     for a, b in zip(y_reg, p_reg)])
    rounded = np.clip(np.rint(p_ord), 0, 4).astype(int)
    expected = {
        "auc": skm.roc_auc_score(y_big, p_tied),
        "mcc": skm.matthews_corrcoef(y_multi, p_multi.argmax(axis=1)),
        "balanced_accuracy": skm.balanced_accuracy_score(y_bin, (p_bin >= 0.5).astype(int)),
        "gini": kaggle_normalized_gini(y_bin, p_bin),
        "mape": skm.mean_absolute_percentage_error(y_reg[3:], p_reg[3:]),
        "smape": smape_reference,
        "qwk": quadratic_kappa(y_multi, p_multi.argmax(axis=1), 4),
        "qwk_reg": quadratic_kappa(y_ord, rounded, 5),  # regression: rounded, clipped to the target's range
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert "one class only" in got["_one_class"] and "Fix:" in got["_one_class"]
    directions = got["_directions"]
    assert {n: directions[n][0] for n in expected if n != "qwk_reg"} == {"auc": True,
        "mcc": True, "balanced_accuracy": True, "gini": True, "mape": False, "smape": False, "qwk": True}
    assert directions["gini"][1] == ["binary"] and directions["smape"][1] == ["regression"]


USER_METRIC = '''
def _median_ae(y, p):
    return float(np.median(np.abs(y - p)))


METRICS.update({
    "median_ae": Metric(REGRESSION, higher_is_better=False, needs_labels=False, score=_median_ae),
'''


def test_a_metric_added_in_metrics_py_trains_scores_and_ranks_on_the_leaderboard(project):
    train_py = project / "exp/exp001/metrics.py"
    source, count = re.subn(r"^METRICS\.update\(\{\n", lambda _: USER_METRIC.lstrip("\n"), train_py.read_text(),
                            flags=re.M)
    assert count == 1, "the user-metric place in metrics.py is gone"
    train_py.write_text(source)
    train, test, _ = sklearn_competition(datasets.load_diabetes, "progression")
    write_competition(project, train, test, pd.DataFrame({"id": test["id"], "progression": 0.0}))
    edit_config(project, data__target="progression", task="regression", metric="median_ae",
                model__num_boost_round=40, model__early_stopping_rounds=10)
    set_runs(project,
             ["    model:\n      params:\n        num_leaves: 2", "    model:\n      params:\n        num_leaves: 8"])

    result = run_exp(project)

    assert result.returncode == 0, result.stdout + result.stderr
    scores = {}
    for name in ("run001", "run002"):
        run = project / RECORDS / name
        recorded = json.loads((run / "metrics.json").read_text())
        oof = pd.read_csv(run / "oof.csv")
        assert recorded["metric"] == "median_ae" and recorded["direction"] == "minimize"
        assert recorded["oof"] == pytest.approx(np.median(np.abs(oof["progression"] - oof["pred"])), rel=1e-9)
        scores[name] = recorded["cv"]
    board = run_python(project, "scripts/leaderboard.py", "--no-plot")
    assert board.returncode == 0, board.stdout + board.stderr
    rows = list(csv.DictReader((project / "data/output/leaderboard.csv").open()))
    ranked = [r["run"] for r in sorted(rows, key=lambda r: int(r["rank"]))]
    assert ranked == sorted(scores, key=scores.get)  # lower is better: the smaller median error first
    assert {r["direction"] for r in rows} == {"minimize"}


# ---------------------------------------------------------------- config checks

@pytest.mark.parametrize("change, message", [
    ({"seed": 1.5}, "seed is 1.5"),
    ({"model__seeds": [0, "a"]}, "model.seeds is [0, 'a']"),
    ({"target_transform": "log"}, "target_transform is 'log' (did you mean log1p?)"),
    ({"model__device": "cuda"}, "model.device is 'cuda'"),
    ({"model__params": {"num_leaves": 15, "min_child_samples": 5, "seed": 3}},
     "model.params.seed would be replaced by the run's seed"),
])
def test_bad_seed_transform_or_device_is_reported_before_training(project, change, message):
    edit_config(project, **change)
    result = run_exp(project)
    assert result.returncode == 2 and message in result.stderr, result.stdout + result.stderr
    assert not (project / RECORDS).exists()
