"""The text kind: transformers through the deep-learning lab every DL kind shares, offline, from a model folder.

No hub: the example ships a tiny BERT's config.json and a tokenizer trained on its own texts
(tools/make_text_example.py); the other tests build their model folders here, an encoder (BERT) and a causal LM
(Qwen2), with a tokenizer trained on the test's texts. The numbers are checked as properties: each task learns
words that decide its label, the hidden test answers are beaten by far, predict.py on a shuffled test file gives
back the run's own predictions row by row, layer-wise decay gives each layer its rate, LoRA freezes what it should.
"""
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import edited_copies, ran_example, run_exp, run_python
from workflow_checks import check_tracked_tuned_listed_and_debugged, run_in_two_workers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from make_text_example import make_model_folder  # noqa: E402  (the example's own recipe for a model folder)

EXP = "exp/exp001"
OUT = "data/output/exp/exp001"
LABELS = Path(__file__).parent / "text_example_labels.csv"
PACKAGES = ["asyncio", "email", "unittest", "xml"]
PRED = [f"pred_{p}" for p in PACKAGES]  # the columns of oof.csv and test_pred.csv


@pytest.fixture(scope="session")
def text_trained(text_baked, tmp_path_factory):
    """Give a text project whose exp001 ran its example's two runs; read-only by convention."""
    project = tmp_path_factory.mktemp("text-trained") / text_baked.name
    shutil.copytree(text_baked, project)
    return ran_example(project)


@pytest.fixture
def text_project(text_baked, tmp_path):
    project = tmp_path / text_baked.name
    shutil.copytree(text_baked, project)
    return project


def in_lab(project, code):
    """Run `code` with the experiment's folder on the path; give what it printed last, read as JSON."""
    result = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.')\n" + code],
                            cwd=project / EXP, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def set_runs(project, runs, exp=EXP, **config):
    """Give the experiment these RUNS (YAML snippets) and these config.yml changes (dotted keys)."""
    import yaml

    path = project / exp / "config.yml"
    cfg = yaml.safe_load(path.read_text())
    for dotted, value in config.items():
        *head, last = dotted.split(".")
        node = cfg
        for part in head:
            node = node[part]
        node[last] = value
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    code = (project / exp / "exp.py").read_text()
    start, end = code.index("RUNS = ["), code.index("# What --tune samples")
    (project / exp / "exp.py").write_text(code[:start] + f"RUNS = {runs!r}\n\n" + code[end:])


def test_the_text_experiment_holds_the_design_card_files_and_requires_transformers_not_timm(text_baked):
    from test_image import DESIGN_CARD, cycles, import_graph

    entries = sorted(p.name for p in (text_baked / EXP).iterdir())
    lab = {"augment.py", "config_keys.py", "data.py", "diagnostics.py", "inputs.py", "lora.py", "metrics.py",
           "network.py", "predict.py", "runner", "deep"}
    assert entries == sorted(DESIGN_CARD | lab), entries
    assert not {"heads.py", "model_checks.py", "paths.py"} & {p.name for p in (text_baked / EXP / "deep").iterdir()}
    assert {p: n for p in (text_baked / EXP).rglob("*.py") if (n := len(p.read_text().splitlines())) > 300} == {}
    assert cycles(import_graph(text_baked / EXP)) == []
    requirements = (text_baked / "requirements.txt").read_text()
    for package in ("torch", "transformers", "tokenizers", "peft"):
        assert f"\n{package}>=" in requirements, package
    assert "\ntimm>=" not in requirements and "\nsoundfile>=" not in requirements


# ---------------------------------------------------------------- the example, end to end

def test_the_example_learns_which_package_a_docstring_is_from_and_beats_chance_on_the_hidden_answers(text_trained):
    project, result = text_trained
    assert "run001 done" in result.stdout and "run002 done" in result.stdout
    answers = pd.read_csv(LABELS)
    for run in ("run001", "run002"):
        metrics = json.loads((project / OUT / run / "metrics.json").read_text())
        # four packages: chance is 0.25 (2 folds, 4 epochs: CV 0.64 and 0.69, hidden 0.65 and 0.73 when written)
        assert metrics["metric"] == "accuracy" and metrics["cv"] > 0.5
        assert metrics["text"]["max_length"] == {"run001": 32, "run002": 96}[run]
        submission = pd.read_csv(project / OUT / run / "submission.csv")
        assert list(submission.columns) == ["id", "package"] and set(submission["package"]) <= set(PACKAGES)
        hidden = submission.merge(answers, on="id", suffixes=("", "_true"))
        assert len(hidden) == 100 and (hidden["package"] == hidden["package_true"]).mean() > 0.55
        oof = pd.read_csv(project / OUT / run / "oof.csv")
        assert len(oof) == 360 and np.allclose(oof[PRED].sum(axis=1), 1)


def test_predict_from_the_record_on_a_shuffled_test_file_gives_back_each_rows_own_predictions(text_trained, tmp_path):
    # Inference runs shortest text first (dynamic padding); every prediction must still land on its own row.
    project, _ = text_trained
    test = pd.read_csv(project / "data/input/test.csv").sample(frac=1, random_state=3)
    test.to_csv(tmp_path / "foreign.csv", index=False)
    result = run_python(project, f"{EXP}/predict.py", "run002", "--test", str(tmp_path / "foreign.csv"),
                        "--raw-out", str(tmp_path / "raw.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    raw = pd.read_csv(tmp_path / "raw.csv", dtype={"id": str})
    own = pd.read_csv(project / OUT / "run002/test_pred.csv", dtype={"id": str}).set_index("id")
    assert raw["id"].tolist() == test["id"].tolist()
    assert np.allclose(raw.set_index("id")[PRED].to_numpy(), own.loc[raw["id"], PRED].to_numpy(), atol=1e-6)


# 2 processes of 1 thread against 1 process of 2: the sums run in another order, so the last float32 digits move
# (8.9e-8 at most when written); a worker training another run's snippet, or another seed, moves them by far more.
JOBS_TOLERANCE = 1e-6


def test_jobs_2_trains_the_text_runs_in_two_processes_to_the_numbers_of_one_process(text_baked, tmp_path):
    jobs, alone = edited_copies(text_baked, tmp_path, ("jobs", "alone"), {"  epochs: 4\n": "  epochs: 1\n"})
    run_in_two_workers(jobs)
    single = run_exp(alone)  # both runs, one after the other, in one process
    assert single.returncode == 0, single.stdout + single.stderr
    for run in ("run001", "run002"):
        assert json.loads((jobs / OUT / run / "metrics.json").read_text())["text"]["max_length"] == {
            "run001": 32, "run002": 96}[run]  # each worker its own run's snippet
        for name in ("oof.csv", "test_pred.csv"):
            a, b = (pd.read_csv(p / OUT / run / name, dtype={"id": str}) for p in (jobs, alone))
            assert a["id"].equals(b["id"]) and list(a.columns) == list(b.columns), (run, name)
            assert np.abs(a[PRED].to_numpy() - b[PRED].to_numpy()).max() < JOBS_TOLERANCE, (run, name)
    # the two runs learned apart: equal numbers above are not two copies of one run
    assert np.abs(pd.read_csv(jobs / OUT / "run001/oof.csv")[PRED].to_numpy()
                  - pd.read_csv(jobs / OUT / "run002/oof.csv")[PRED].to_numpy()).max() > 0.01


# ---------------------------------------------------------------- every task, an encoder and a causal LM, LoRA

WORDS = "the of a to in is it for on with as at by this that from be or an are".split()


def task_data(n, rng):
    """Give rows whose labels words decide: flag (alpha), a (red), b (blue), score (ups minus downs), colour."""
    rows = []
    for k in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 24))]
        flag, red, blue, colour = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5, rng.choice("xyz")
        ups, downs = rng.randint(0, 3), rng.randint(0, 3)
        words += ["alpha"] * flag + ["red"] * red + ["blue"] * blue + ["up"] * ups + ["down"] * downs
        words += [{"x": "cat", "y": "dog", "z": "fish"}[colour]]
        rng.shuffle(words)
        rows.append({"id": f"r{k:03d}", "text": " ".join(words), "flag": int(flag), "a": int(red), "b": int(blue),
                     "score": ups - downs + 0.1 * rng.random(), "score2": 2 * red - blue + 0.1 * rng.random(),
                     "colour": colour})
    return pd.DataFrame(rows)


def causal_folder(folder, texts):
    """A tiny Qwen2 (a causal LM) with the example's tokenizer recipe, trained on `texts`."""
    make_model_folder(folder, texts)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": config["vocab_size"],
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
        "num_key_value_heads": 1, "max_position_embeddings": 128, "pad_token_id": config["pad_token_id"]}))


@pytest.fixture(scope="module")
def tasks_trained(text_baked, tmp_path_factory):
    project = tmp_path_factory.mktemp("text-tasks") / text_baked.name
    shutil.copytree(text_baked, project)
    data = project / "data/input"
    frame = task_data(240, random.Random(0))
    frame.iloc[:180].drop(columns=[]).to_csv(data / "train.csv", index=False)
    frame.iloc[180:][["id", "text"]].to_csv(data / "test.csv", index=False)
    for name, columns in {"flag": ["flag"], "ab": ["a", "b"], "score": ["score"], "colour": ["colour"],
                          "scores": ["score", "score2"]}.items():
        sample = frame.iloc[180:][["id"]].assign(**{c: 0 for c in columns})
        sample.to_csv(data / f"sample_{name}.csv", index=False)
    make_model_folder(data / "encoder", frame["text"].iloc[:180].tolist())
    causal_folder(data / "causal", frame["text"].iloc[:180].tolist())
    runs = [
        "task: binary\nmetric: auc\ndata: {target: flag, sample_submission: sample_flag.csv}",
        "task: regression\nmetric: rmse\ndata: {target: score, sample_submission: sample_score.csv}\n"
        "cv: {scheme: kfold}",
        "data: {target: colour, sample_submission: sample_colour.csv}\n"
        "model: {name: data/input/causal, pooling: last}\ntrain: {lr: 0.003}",
        "task: binary\nmetric: auc\ndata: {target: flag, sample_submission: sample_flag.csv}\n"
        "model: {pooling: cls, lora: {r: 8, alpha: 16, dropout: 0.0, target_modules: [query, value]}}\n"
        "train: {layer_decay: 0.8, gradient_checkpointing: true, lr: 0.01}\naugment: {token_dropout: 0.1}",
    ]
    base = {"model.name": "data/input/encoder", "data.target": "colour", "cv.n_splits": 2, "train.epochs": 8,
            "train.lr": 0.01, "train.warmup_epochs": 0.5, "dataset.batch_size": 16,
            "data.sample_submission": "sample_colour.csv"}
    shutil.copytree(project / EXP, project / "exp/exp002")  # multilabel: data.target a list from config.yml on
    shutil.copytree(project / EXP, project / "exp/exp003")  # several regression targets (essay scoring)
    set_runs(project, runs, **base)
    set_runs(project, ["seed: 42"], exp="exp/exp002", **{**base, "task": "multilabel", "metric": "auc",
                                                        "data.target": ["a", "b"],
                                                        "data.sample_submission": "sample_ab.csv"})
    set_runs(project, ["seed: 42"], exp="exp/exp003", **{**base, "task": "regression", "metric": "mcrmse",
                                                        "cv.scheme": "kfold", "data.target": ["score", "score2"],
                                                        "data.sample_submission": "sample_scores.csv"})
    for exp in ("exp001", "exp002", "exp003"):
        result = run_exp(project, exp=exp)
        assert result.returncode == 0, result.stdout + result.stderr
    return project, frame


def cv_of(project, run, exp="exp001"):
    return json.loads((project / "data/output/exp" / exp / run / "metrics.json").read_text())["cv"]


def test_every_task_learns_the_words_that_decide_it(tasks_trained):
    project, frame = tasks_trained
    assert cv_of(project, "run001") > 0.9  # binary AUC: "alpha" or not
    assert cv_of(project, "run001", "exp002") > 0.8  # multilabel AUC: "red", "blue"
    spread = frame["score"].iloc[:180].std()
    assert cv_of(project, "run002") < 0.8 * spread  # regression RMSE, well under predicting the mean
    submission = pd.read_csv(project / "data/output/exp/exp002/run001/submission.csv")
    assert list(submission.columns) == ["id", "a", "b"] and submission[["a", "b"]].stack().between(0, 1).all()


def test_several_regression_targets_learn_a_column_each_scored_by_mean_columnwise_rmse(tasks_trained):
    project, frame = tasks_trained
    record = project / "data/output/exp/exp003/run001"
    oof = pd.read_csv(record / "oof.csv")
    truth, pred = oof[["score", "score2"]].to_numpy(), oof[["pred_score", "pred_score2"]].to_numpy()
    assert np.allclose(truth, frame[["score", "score2"]].iloc[:180].to_numpy())  # each row's own targets
    columnwise = np.sqrt(((truth - pred) ** 2).mean(axis=0))
    metrics = json.loads((record / "metrics.json").read_text())
    assert metrics["oof"] == pytest.approx(columnwise.mean(), rel=1e-9)
    assert (columnwise < 0.8 * truth.std(axis=0)).all()  # both columns learned, well under predicting the mean
    submission = pd.read_csv(record / "submission.csv")
    assert list(submission.columns) == ["id", "score", "score2"] and submission["score2"].std() > 0.3


def test_a_causal_lm_and_an_encoder_with_lora_decay_and_token_dropout_learn_too(tasks_trained):
    project, _ = tasks_trained
    assert cv_of(project, "run003") > 0.5  # three animals: chance is 1/3 (0.65 when written)
    assert cv_of(project, "run004") > 0.75
    metrics = json.loads((project / OUT / "run003/metrics.json").read_text())
    assert metrics["text"] == {"max_length": 64, "pooling": "last", "lora": False}
    lora = json.loads((project / OUT / "run004/metrics.json").read_text())["text"]
    assert lora == {"max_length": 64, "pooling": "cls", "lora": True}


LAB_PROBE = """
import json, torch
import network
from runner.config import parse_yaml
cfg = parse_yaml(open("config.yml").read(), "config.yml")
cfg["model"]["name"] = "data/input/encoder"
cfg["train"]["layer_decay"] = 0.5
net = network.create_model(cfg, 3)
groups = network.param_groups(cfg, net)
rates = {name: g["lr"] for g in groups for name, p in net.named_parameters() if any(p is q for q in g["params"])}
cfg["model"]["lora"] = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["query"]}
lora = network.create_model(cfg, 3)
trainable = sorted({next((part for part in n.split(".") if part.startswith("lora_")), n.split(".")[0])
                    for n, p in lora.named_parameters() if p.requires_grad})
print(json.dumps({"rates": rates, "trainable": trainable, "lr": cfg["train"]["lr"]}))
"""


def test_layer_decay_gives_each_layer_its_rate_and_lora_trains_only_adapters_and_the_head(tasks_trained):
    project, _ = tasks_trained
    found = in_lab(project, LAB_PROBE)
    rates, lr = found["rates"], found["lr"]
    layer = {k: [v for n, v in rates.items() if f".layer.{k}." in n] for k in (0, 1)}
    assert set(layer[1]) == {lr * 0.5} and set(layer[0]) == {lr * 0.25}  # 2 layers: d^(2-1), d^(2-0)
    assert {v for n, v in rates.items() if "embeddings" in n} == {lr * 0.125}
    assert rates["head.weight"] == lr
    assert found["trainable"] == ["head", "lora_A", "lora_B"]


# ---------------------------------------------------------------- bad input: one message, before any training

@pytest.mark.parametrize("change, message", [
    ({"model.name": "data/input/no-such-model"}, "model.name 'data/input/no-such-model': no such folder"),
    ({"data.text": "body"}, "has no column 'body'"),
    ({"model.lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"]}},
     "Fix: name some of the model's linear layers: dense, key, query, value"),
    # a hub name where the hub cannot be reached (an endpoint nobody listens on): at once, not after retries
    ({"model.name": "microsoft/deberta-v3-xsmall"}, "without internet, a hub name cannot be downloaded"),
])
def test_a_bad_setting_is_one_message_before_any_training(text_project, change, message):
    set_runs(text_project, ["seed: 1"], **change)
    started = time.monotonic()
    result = run_exp(text_project, env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(text_project / "hf")})
    assert time.monotonic() - started < 20  # the hub library retries for 23 s and more (57 s without a DNS)
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "epoch 1" not in result.stdout
    assert not (text_project / OUT / "run001").exists()


def test_tokenizing_is_done_once_per_process_for_runs_with_the_same_tokenizer_and_length(text_baked):
    found = in_lab(text_baked, """
import json, data
from runner.config import parse_yaml
cfg = parse_yaml(open("config.yml").read(), "config.yml")
texts = [("a short text",), ("a longer text about the email package",)]
first, again = data.tokenize(cfg, texts), data.tokenize(cfg, list(texts))
cfg["model"]["max_length"] = 4
cut = data.tokenize(cfg, texts)
print(json.dumps({"same": first is again, "lengths": [len(t) for t in first], "cut": [len(t) for t in cut]}))
""")
    assert found["same"] and found["cut"] == [4, 4] and found["lengths"][1] > 4


# ---------------------------------------------------------------- resume mid-epoch

DRIVER = '''
import json, sys
from pathlib import Path

import torch
import yaml

project, run_dir, resume, stop_at, overrides = sys.argv[1:]
sys.path.insert(0, str(Path(project) / "exp/exp001"))
import data as data_io
import train
from runner.util import setup_logging

setup_logging()
cfg = yaml.safe_load((Path(project) / "exp/exp001/config.yml").read_text())
for dotted, value in json.loads(overrides).items():
    head, last = dotted.split(".")
    cfg[head][last] = value
to_input, batches = data_io.to_input, [0]


def stopping(batch, cfg, device):
    if torch.is_grad_enabled():  # a training batch: inference runs without gradients
        batches[0] += 1
        if batches[0] == int(stop_at):
            raise KeyboardInterrupt(f"stopped at training batch {stop_at}")
    return to_input(batch, cfg, device)


data_io.to_input = stopping
Path(run_dir).mkdir(parents=True)
if resume != "-":
    Path(resume).mkdir(exist_ok=True)  # the runner makes it, in runner/resume.py
train.run(cfg, Path(run_dir), resume=None if resume == "-" else Path(resume))
'''
# 360 texts, 3 folds: 240 train texts, 8 batches of 32 an epoch; token dropout on, so the random state matters.
RESUME_CONFIG = {"train.epochs": 2, "model.max_length": 32, "augment.token_dropout": 0.1,
                 "train.checkpoint_minutes": 0, "cv.n_splits": 3}
STOP = 8 * 2 + 8 + 3  # fold 1's two epochs, fold 2's first, then the 3rd batch of fold 2's epoch 2


def test_a_text_run_stopped_mid_epoch_resumes_to_the_numbers_of_a_run_never_stopped(text_project):
    (text_project / "driver.py").write_text(DRIVER)

    def train_run(run_dir, resume="-", stop_at=0):
        return run_python(text_project, "driver.py", str(text_project), str(text_project / run_dir), str(resume),
                          str(stop_at), json.dumps(RESUME_CONFIG), timeout=600)

    reference = train_run("runs/never-stopped")
    assert reference.returncode == 0, reference.stdout + reference.stderr
    resume = text_project / "runs/.resume"
    stopped = train_run("runs/stopped", resume, STOP)
    assert stopped.returncode != 0 and f"stopped at training batch {STOP}" in stopped.stderr
    resumed = train_run("runs/resumed", resume)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "fold 2/3: resuming at epoch 2, batch 3 (saved before the stop)" in resumed.stdout
    assert "fold 1/3 epoch" not in resumed.stdout
    for name in ("oof.csv", "test_pred.csv", "history.csv"):
        ours = pd.read_csv(text_project / "runs/resumed" / name).drop(columns="seconds", errors="ignore")
        theirs = pd.read_csv(text_project / "runs/never-stopped" / name).drop(columns="seconds", errors="ignore")
        numeric = theirs.select_dtypes("number").columns
        assert ours.drop(columns=numeric).equals(theirs.drop(columns=numeric)), name
        assert np.allclose(ours[numeric].to_numpy(float), theirs[numeric].to_numpy(float), rtol=0, atol=1e-6), name


# ---------------------------------------------------------------- the code competition's notebook

def test_the_notebook_predicts_a_hidden_test_file_offline_from_the_packaged_record_alone(text_trained, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(text_trained[0], project)
    shutil.rmtree(project / "data/input/tiny-bert")  # the notebook has only the record: its tokenizer and config
    assert run_python(project, "scripts/kaggle_cli.py", "package", "exp001/run002", "--user", "ada").returncode == 0
    built = run_python(project, "scripts/kaggle_cli.py", "notebook", "exp001/run002", "--user", "ada")
    assert built.returncode == 0, built.stdout + built.stderr
    dataset = next((project / "data/output/kaggle_datasets").iterdir())
    kept = {p.name for p in dataset.rglob("model/*")}
    assert {"config.json", "tokenizer.json", "tokenizer_config.json"} <= kept
    assert not [name for name in kept if name.endswith((".safetensors", ".bin"))]
    # The hidden test file is not the public one: a shuffled part of it, and train texts under new ids.
    competition = tmp_path / "input" / "playground-series-s5e1"
    competition.mkdir(parents=True)
    public = pd.read_csv(project / "data/input/test.csv", dtype={"id": str}).sample(n=30, random_state=5)
    unseen = pd.read_csv(project / "data/input/train.csv", dtype={"id": str}).tail(10).drop(columns="package")
    hidden = pd.concat([public, unseen.assign(id=[f"hidden{k:02d}" for k in range(10)])]).sample(frac=1, random_state=6)
    hidden.to_csv(competition / "test.csv", index=False)
    hidden[["id"]].assign(package="xml").to_csv(competition / "sample_submission.csv", index=False)
    shutil.copytree(dataset, tmp_path / "input" / "exp001-data")
    (tmp_path / "working").mkdir()
    notebook = next((project / "data/output/kaggle_notebooks").iterdir())
    result = subprocess.run([sys.executable, str(notebook / "inference.py"), "--input", str(tmp_path / "input"),
                             "--working", str(tmp_path / "working")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=dict(__import__("os").environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    submitted = pd.read_csv(tmp_path / "working/submission.csv", dtype={"id": str})
    assert submitted["id"].tolist() == hidden["id"].tolist()
    own = pd.read_csv(project / OUT / "run002/submission.csv", dtype={"id": str}).set_index("id")
    assert submitted.set_index("id").loc[public["id"], "package"].tolist() == own.loc[public["id"], "package"].tolist()


@pytest.mark.slow
def test_text_runs_reach_wandb_tune_samples_the_text_search_space_and_the_leaderboard_and_debug_take_them(
        text_project):
    pytest.importorskip("wandb")
    pytest.importorskip("optuna")
    config = text_project / EXP / "config.yml"
    text = config.read_text()
    for old, new in (("  epochs: 4\n", "  epochs: 1\n"), ("  enabled: false\n", "  enabled: true\n")):
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)

    def check_sampled(sampled, trial):
        assert 0.0005 <= sampled["train"]["lr"] <= 0.005 and sampled["train"]["layer_decay"] in (0.8, 1.0)
        assert sampled["augment"]["token_dropout"] in (0.0, 0.1)
        assert (trial / "submission.csv").is_file() and (trial / "models/fold1.pt").is_file()

    check_tracked_tuned_listed_and_debugged(text_project, (b"fold0/valid_loss", b"fold1/accuracy"), check_sampled)
