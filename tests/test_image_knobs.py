"""The image lab's knobs do what their config line says: loss, label smoothing, class weights, mixup and cutmix, EMA,
gradient clipping, precision, channels_last; and a bad value of each is one message before training.

The functions are called directly in a process forked from a warm Python (conftest.run_python), on small tensors;
EMA is also trained for real on 240 digits at 8 pixels, stopped and resumed.
"""
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_exp, run_python
from test_image import EXP, one_run, quick_copy
from test_image_numbers import DRIVER, SMALL

PROPERTIES = '''
import json, sys
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(sys.argv[1]) / "exp/exp001"))
import augment
import data as data_io
from deep.loader import make_loader
from deep.mixing import mix_batch
import model as model_io
import train
from runner.util import setup_logging

setup_logging()
base = yaml.safe_load((Path(sys.argv[1]) / "exp/exp001/config.yml").read_text())
found = {}


def config(task="multiclass", **train_keys):
    cfg = json.loads(json.dumps(base))
    cfg["task"] = task
    cfg["train"].update(train_keys)
    return cfg


torch.manual_seed(0)
logits, codes = torch.randn(64, 5), torch.randint(0, 5, (64,))
ce = torch.nn.functional.cross_entropy
found["ce_is_torch_ce"] = abs(model_io.make_loss(config())(logits, codes).item() - ce(logits, codes).item())
found["smoothing_is_torch_s"] = abs(model_io.make_loss(config(label_smoothing=0.2))(logits, codes).item()
                                    - ce(logits, codes, label_smoothing=0.2).item())
found["focal_0_is_ce"] = abs(model_io.make_loss(config(loss="focal", focal_gamma=0.0))(logits, codes).item()
                             - ce(logits, codes).item())
found["focal_2_below_ce"] = model_io.make_loss(config(loss="focal"))(logits, codes).item() < ce(logits, codes).item()
labels = torch.randint(0, 2, (64, 5))
bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.float()).item()
focal_0 = model_io.make_loss(config("multilabel", loss="focal", focal_gamma=0.0))
found["focal_0_is_bce"] = abs(focal_0(logits, labels).item() - bce)

y = torch.tensor([0, 1, 1, 1])  # one of class 0, three of class 1
weights = model_io.balanced_class_weights("multiclass", y, 2)
found["balanced_weights"] = weights.tolist()
found["each_class_weighs_the_same"] = [float(weights[0] * 1), float(weights[1] * 3)]

x = torch.randn(8, 3, 6, 6)
y = torch.arange(8) % 4
state = torch.get_rng_state()
cfg = config()
cfg["augment"].update(mixup=0.0, cutmix=0.0)
same_x, same_y = mix_batch(cfg, x, y, 4)
found["off_changes_nothing"] = bool(torch.equal(same_x, x) and torch.equal(same_y, y)
                                    and torch.equal(state, torch.get_rng_state()))
cfg["augment"].update(mixup=0.4, mix_prob=1.0)
mixed_x, mixed_y = mix_batch(cfg, x, y, 4)
found["mixup_changes_the_batch"] = not torch.equal(mixed_x, x)
found["mixup_targets_sum_to_one"] = bool(torch.allclose(mixed_y.sum(1), torch.ones(8)))
cfg["augment"].update(mixup=0.0, cutmix=1.0)
ones = torch.zeros(8, 3, 6, 6)
ones[0] = 1  # only image 0 is ones: the share of it left after cutmix is counted in pixels
cut_x, cut_y = mix_batch(cfg, ones, torch.arange(8), 8)
found["cutmix_target_is_the_kept_share"] = abs(float(cut_y[0, 0]) - float(cut_x[0].mean()))

net = torch.nn.Linear(4, 1)
for clip in (None, 0.5):
    net.weight.data.fill_(0.0)
    before = net.weight.detach().clone()
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0)  # a step moves the weights by the gradient itself
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    (net(torch.full((1, 4), 100.0)).sum()).backward()
    train.optimizer_step(net, optimizer, scaler, clip)
    found[f"step_norm_clip_{clip}"] = float((net.weight.detach() - before).norm())

net = torch.nn.Linear(2, 1)
ema = model_io.Ema(net, 0.9)
old = ema.shadow["weight"].clone()
net.weight.data.add_(1.0)
ema.update(net)  # the first update's decay is min(0.9, 1 / 10) = 0.1
found["ema_first_update"] = float((ema.shadow["weight"] - (0.1 * old + 0.9 * net.weight)).abs().max())

cpu = torch.device("cpu")
found["precision_on_cpu"] = [str(model_io.pick_precision(config(precision=p), cpu))
                             for p in ("auto", "fp16", "bf16", "fp16")]
torch.cuda.is_available, torch.cuda.is_bf16_supported = (lambda: True), (lambda: False)
cuda = torch.device("cuda")
found["precision_on_t4"] = [str(model_io.pick_precision(config(precision=p), cuda)) for p in ("auto", "fp16", "bf16")]
torch.cuda.is_available = lambda: False

from PIL import Image

bar = Image.new("RGB", (40, 10), (0, 0, 0))  # 40 wide, 10 high, black
for mode in ("squash", "pad", "crop"):
    pixels = torch.from_numpy(__import__("numpy").asarray(data_io.fit(bar, data_io.ImageSize(16, 32, mode))))
    black_rows = int((pixels.float().amin(dim=(1, 2)) < 128).sum())  # rows with some black
    black_columns = int((pixels.float().amin(dim=(0, 2)) < 128).sum())
    found[f"resize_{mode}"] = [list(pixels.shape), black_rows, black_columns]

image = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
for key, value in (("rotate", 30), ("color_jitter", 0.4), ("randaugment", 9)):
    cfg = config()
    cfg["augment"][key] = value
    transform = augment.make_augment(cfg)
    torch.manual_seed(1)
    first = transform(image)
    torch.manual_seed(1)
    changed = not torch.equal(first, image)
    torch.manual_seed(1)
    found[f"augment_{key}"] = [changed, torch.equal(first, transform(image))]  # the same seed, the same augmentation
found["augment_all_off"] = augment.make_augment(config()) is None

targets = [0] * 180 + [1] * 20  # one image in ten of class 1
cfg = config()
cfg["dataset"].update(sampler="balanced", batch_size=50, num_workers=0)
dataset = data_io.ImageDataset([None] * 200, (4, 4), [__import__("numpy").zeros((4, 4, 3), "uint8")] * 200, targets)
drawn = torch.cat([y for _, y in make_loader(cfg, dataset, shuffle=True, seed=3)])
again = torch.cat([y for _, y in make_loader(cfg, dataset, shuffle=True, seed=3)])
found["balanced_share_of_class_1"] = float(drawn.float().mean())
found["balanced_is_repeatable"] = bool(torch.equal(drawn, again)) and len(drawn) == 200

conv = torch.nn.Conv2d(3, 4, 3)
prepared = model_io.prepare_model(config(channels_last=True), conv, cpu)
found["channels_last"] = prepared.weight.is_contiguous(memory_format=torch.channels_last)
step = model_io.compiled(config(compile=True), model_io.prepare_model(config(compile=True), conv, cpu))
kept = model_io.prepare_model(config(compile=True), conv, cpu)  # what checkpoints and predictions use
found["compile"] = [type(step).__name__, getattr(step, "_orig_mod", None) is conv,  # compiled lazily: not run here
                    list(kept.state_dict()) == list(conv.state_dict()),
                    model_io.compiled(config(compile=False), conv) is conv]
print(json.dumps(found))
'''


@pytest.fixture(scope="module")
def knobs_project(image_baked, tmp_path_factory):
    project = quick_copy(image_baked, tmp_path_factory.mktemp("image-knobs"), epochs=2, n_splits=2)
    (project / "properties.py").write_text(PROPERTIES)
    (project / "numbers_driver.py").write_text(DRIVER)
    return project


@pytest.fixture(scope="module")
def found(knobs_project):
    result = run_python(knobs_project, "properties.py", str(knobs_project))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stdout + result.stderr


def test_losses_are_the_ones_they_name(found):
    found, _ = found
    assert found["ce_is_torch_ce"] < 1e-6 and found["smoothing_is_torch_s"] < 1e-6
    assert found["focal_0_is_ce"] < 1e-6 and found["focal_0_is_bce"] < 1e-6 and found["focal_2_below_ce"]


def test_balanced_class_weights_make_each_class_weigh_the_same(found):
    found, _ = found
    assert found["balanced_weights"] == pytest.approx([2.0, 2 / 3])
    assert found["each_class_weighs_the_same"] == pytest.approx([2.0, 2.0])


def test_mixup_and_cutmix_change_the_batch_and_its_targets_alike_and_off_changes_nothing(found):
    found, _ = found
    assert found["off_changes_nothing"] and found["mixup_changes_the_batch"] and found["mixup_targets_sum_to_one"]
    assert found["cutmix_target_is_the_kept_share"] < 1e-6


def test_grad_clip_bounds_the_step_and_ema_averages_the_weights(found):
    found, _ = found
    assert found["step_norm_clip_None"] > 100 and found["step_norm_clip_0.5"] == pytest.approx(0.5, rel=1e-4)
    assert found["ema_first_update"] < 1e-6


def test_precision_falls_back_to_fp32_where_it_cannot_run(found):
    found, log = found
    assert found["precision_on_cpu"] == ["(None, False)"] * 4
    assert found["precision_on_t4"] == ["(torch.float16, True)", "(torch.float16, True)", "(None, False)"]
    assert log.count("train.precision fp16: not available on cpu, so fp32") == 1  # said once, not per fold
    assert found["channels_last"]


def test_compile_wraps_only_the_training_steps_so_checkpoints_load_into_a_plain_model(found):
    found, _ = found
    assert found["compile"] == ["OptimizedModule", True, True, True]


def test_resize_modes_keep_or_fill_the_shape_as_named(found):
    found, _ = found
    # a 40x10 black bar to 16 high and 32 wide
    assert found["resize_squash"] == [[16, 32, 3], 16, 32]  # stretched: all of it black
    assert found["resize_pad"] == [[16, 32, 3], 8, 32]  # scaled to 32x8, centred on white
    assert found["resize_crop"] == [[16, 32, 3], 16, 32]  # scaled to 64x16, its centre


def test_each_augmentation_changes_an_image_when_on_and_is_repeatable(found):
    found, _ = found
    for key in ("rotate", "color_jitter", "randaugment"):
        assert found[f"augment_{key}"] == [True, True], key
    assert found["augment_all_off"]


def test_a_balanced_sampler_draws_a_rare_class_as_often_as_a_common_one(found):
    found, _ = found
    assert 0.4 < found["balanced_share_of_class_1"] < 0.6 and found["balanced_is_repeatable"]  # 0.1 without it


def ema_run(project, run_dir, resume=None, stop_at=0, ema=0.5):
    overrides = {**SMALL, "train.ema": ema, "train.epochs": 2, "train.checkpoint_minutes": 0,
                 "dataset.batch_size": 16, "augment.mixup": 0.4}
    result = run_python(project, "numbers_driver.py", str(project), str(run_dir), str(resume or "-"),
                        json.dumps(overrides), f"batch{stop_at}" if stop_at else "no", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.slow
def test_ema_weights_are_the_ones_kept_and_a_resumed_run_equals_an_uninterrupted_one(knobs_project):
    whole = knobs_project / "runs/ema-whole"
    ema_run(knobs_project, whole)
    stopped, resume = knobs_project / "runs/ema-stopped", knobs_project / "runs/ema.resume"
    first = ema_run(knobs_project, stopped, resume, stop_at=13)  # epoch 2 of fold 1, batch 5
    assert "stopped: stopped at training batch 13" in first.stdout
    ema_run(knobs_project, stopped, resume)
    for name in ("oof.csv", "test_pred.csv"):
        a, b = pd.read_csv(whole / name), pd.read_csv(stopped / name)
        numeric = a.select_dtypes("number").columns
        assert np.allclose(a[numeric], b[numeric], atol=1e-7), name
    history = pd.read_csv(whole / "history.csv")
    assert len(history) == 4
    raw = knobs_project / "runs/no-ema"
    ema_run(knobs_project, raw, ema=None)  # the same training: EMA draws no random number and changes no gradient
    assert not np.allclose(pd.read_csv(raw / "oof.csv").iloc[:, 3:], pd.read_csv(whole / "oof.csv").iloc[:, 3:])


@pytest.mark.slow
@pytest.mark.parametrize("key, value, fix", [
    ("train.loss", "hinge", "one of auto, ce, bce, focal, mse, l1"),
    ("train.label_smoothing", 1.5, "a share from 0 (off) to below 1"),
    ("train.ema", 1.0, "null (off), or a decay below 1"),
    ("train.grad_clip", 0, "null (off), or the largest total gradient norm"),
    ("train.precision", "fp8", "auto, fp32, fp16 or bf16"),
    ("augment.mixup", -1, "mixup's alpha"),
    ("augment.mix_prob", 2, "the share of batches mixed"),
    ("train.class_weights", "inverse", "null (every example weighs the same) or balanced"),
])
def test_a_bad_knob_value_is_one_message_before_training(image_baked, tmp_path, key, value, fix):
    project = quick_copy(image_baked, tmp_path)
    section, name = key.split(".")
    one_run(project, yaml.safe_dump({section: {name: value}}))
    result = run_exp(project, "--dry-run")
    assert result.returncode == 2
    assert f"run001: {key} is {value!r}, which cannot work. Fix: {fix}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_loss_of_another_task_is_refused_before_training(image_baked, tmp_path):
    project = quick_copy(image_baked, tmp_path)
    one_run(project, "train:\n  loss: mse")
    result = run_exp(project, "--dry-run")
    assert result.returncode == 2 and "train.loss is 'mse', which cannot work. Fix: auto, or for task multiclass: " \
                                       "ce, focal." in result.stderr, result.stderr
    assert (project / EXP / "config.yml").is_file()
