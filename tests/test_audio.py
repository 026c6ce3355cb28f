"""The audio kind: recordings as log-mel spectrograms through the deep-learning lab every DL kind shares.

The example (tools/make_audio_example.py: four synthetic species over field noise, BirdCLEF's layout) trains and
predicts each 5-second window of its soundscapes; the hidden answers of those windows are in
tests/audio_example_labels.csv. The numbers are checked as properties: a tone's mel band, a resampled tone's pitch,
a window's id, each species' column ranking its own windows first, predict.py giving back the run's submission.
"""
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import edited_copies, run_exp, run_python
from workflow_checks import check_tracked_tuned_listed_and_debugged, run_in_two_workers

EXP = "exp/exp001"
OUT = "data/output/exp/exp001"
SPECIES = ["whistler", "riser", "faller", "triller"]
LABELS = __import__("pathlib").Path(__file__).parent / "audio_example_labels.csv"


@pytest.fixture
def audio_project(audio_baked, tmp_path):
    project = tmp_path / audio_baked.name
    shutil.copytree(audio_baked, project)
    return project


def in_lab(project, code):
    """Run `code` with the experiment's folder on the path; give what it printed last, read as JSON."""
    result = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.')\n" + code],
                            cwd=project / EXP, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the example, end to end

def test_the_example_predicts_each_window_of_each_soundscape_and_each_species_ranks_its_own_first(audio_trained):
    project, result = audio_trained
    assert "run001 done" in result.stdout and "run002 done" in result.stdout
    sample = pd.read_csv(project / "data/input/sample_submission.csv")
    answers = pd.read_csv(LABELS)
    for run in ("run001", "run002"):
        submission = pd.read_csv(project / OUT / run / "submission.csv")
        assert list(submission.columns) == ["row_id", *SPECIES]
        assert submission["row_id"].tolist() == sample["row_id"].tolist()  # soundscape_001_5, soundscape_001_10, ...
        assert np.allclose(submission[SPECIES].sum(axis=1), 1.0)
        metrics = json.loads((project / OUT / run / "metrics.json").read_text())
        assert metrics["audio"]["n_mels"] == (32 if run == "run001" else 64) and 0.5 < metrics["cv"] <= 1
    # Run002 on the hidden answers: each species present ranks its own windows above the others (macro AUC).
    merged = pd.read_csv(project / OUT / "run002/submission.csv").merge(answers, on="row_id")
    aucs = [roc_auc(merged["species"] == s, merged[s]) for s in SPECIES if (merged["species"] == s).any()]
    assert np.mean(aucs) >= 0.8, aucs


def roc_auc(truth, score):
    truth, score = np.asarray(truth, bool), np.asarray(score, float)
    pairs = score[truth][:, None] - score[~truth][None, :]
    return float(((pairs > 0) + 0.5 * (pairs == 0)).mean())


def test_predict_from_the_record_gives_back_the_submission_and_cuts_a_new_soundscape_into_its_windows(
        audio_trained, tmp_path):
    project, _ = audio_trained
    again = run_python(project, f"{EXP}/predict.py", "run002", "--test", "data/input/test_soundscapes",
                       "--out", str(tmp_path / "sub.csv"))
    assert again.returncode == 0, again.stdout + again.stderr
    own = pd.read_csv(project / OUT / "run002/submission.csv")
    assert np.allclose(pd.read_csv(tmp_path / "sub.csv")[SPECIES], own[SPECIES], atol=1e-6)

    # A hidden soundscape of another length, sample rate, channel count and format: 12 s of stereo FLAC at 44.1 kHz.
    import soundfile
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    t = np.arange(12 * 44100) / 44100
    wave = 0.3 * np.sin(2 * np.pi * 1500 * t) + 0.01 * np.random.default_rng(0).normal(size=len(t))
    soundfile.write(hidden / "site_b.flac", np.stack([wave, wave * 0.5], axis=1), 44100)
    shutil.copy(project / "data/input/test_soundscapes/soundscape_001.ogg", hidden / "site_a.ogg")
    config = project / EXP / "config.yml"
    assert "test_audio: test_soundscapes/*.ogg" in config.read_text()
    result = run_python(project, f"{EXP}/predict.py", "run002", "--test", str(hidden), "--raw-out",
                        str(tmp_path / "raw.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    raw = pd.read_csv(tmp_path / "raw.csv")
    assert raw["row_id"].tolist() == ["site_a_5", "site_a_10"]  # the glob's name: *.ogg only


# ---------------------------------------------------------------- decoding and spectrograms

DECODE = """
import json, numpy as np, soundfile, tempfile
from pathlib import Path
from audio.decode import read_clip
from audio.mel import frames, log_mel, mel_filters
folder, found = Path(tempfile.mkdtemp()), {}
spec = dict(sample_rate=16000, n_fft=1024, hop_length=256, n_mels=64, fmin=50, fmax=None)
def tone(rate, seconds, hz=1000.0):
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(np.float32)
def pitch(wave, rate):
    return float(np.argmax(np.abs(np.fft.rfft(wave))) * rate / len(wave))
for name, rate, channels, fmt in (("a.wav", 22050, 1, "WAV"), ("b.flac", 44100, 2, "FLAC"), ("c.ogg", 16000, 1, "OGG")):
    wave = tone(rate, 2.0)
    soundfile.write(folder / name, np.stack([wave] * channels, axis=1) if channels > 1 else wave, rate, format=fmt)
    read = read_clip(folder / name, 16000)
    found[name] = [len(read), round(pitch(read, 16000))]
long = np.concatenate([tone(16000, 30, 500.0), tone(16000, 30, 2000.0)])
soundfile.write(folder / "long.wav", long, 16000)
window = read_clip(folder / "long.wav", 16000, start=31.0, seconds=2.0)
same = np.allclose(window, long[31 * 16000:33 * 16000], atol=1e-4)  # a 16-bit WAV: 3e-5 apart at most
found["window"] = [len(window), round(pitch(window, 16000)), bool(same)]
found["past_the_end"] = len(read_clip(folder / "long.wav", 16000, start=59.0, seconds=5.0))
mel = log_mel(tone(16000, 2.0), spec)
centres = (mel_filters(16000, 1024, 64, 50.0, 8000.0).argmax(dim=1).numpy() * 16000 / 1024)
found["mel"] = [list(mel.shape), frames(2.0, spec), float(abs(centres[mel.mean(axis=1).argmax()] - 1000))]
found["floor"] = float(mel.max() - mel.min())
print(json.dumps(found))
"""


def test_recordings_of_any_rate_channels_and_format_become_mono_at_the_sample_rate_with_their_pitch(audio_baked):
    found = in_lab(audio_baked, DECODE)
    for name in ("a.wav", "b.flac", "c.ogg"):
        assert found[name] == [32000, 1000], (name, found[name])  # 2 s at 16 kHz, the 1 kHz tone kept
    assert found["window"] == [32000, 2000, True]  # seconds 31-33 only: the second half's 2 kHz tone
    assert found["past_the_end"] == 16000  # a window past the end is as long as the file has left
    shape, n_frames, off = found["mel"]
    assert shape == [64, n_frames] and n_frames == 126 and off < 80  # the loudest band is the tone's
    assert found["floor"] == pytest.approx(80.0)  # silence floored 80 dB below the loudest bin


AUGMENT = """
import json, torch
import augment
from deep.mixing import mix_batch
cfg = {"augment": {"noise_dir": None, "gain_db": 0, "time_mask": 10, "freq_mask": 8, "mixup": 0.0, "cutmix": 0.0,
                   "mix_prob": 1.0},
       "task": "multiclass"}
x = torch.randn(1, 64, 126)
torch.manual_seed(3); a = augment.make_augment(cfg)(x)
torch.manual_seed(3); b = augment.make_augment(cfg)(x)
off = {**cfg, "augment": {**cfg["augment"], "time_mask": 0, "freq_mask": 0}}
print(json.dumps({"changed": not torch.equal(a, x), "repeatable": bool(torch.equal(a, b)),
                  "off": augment.make_augment(off) is None, "x_kept": bool(torch.equal(x, x.clone()))}))
"""


def test_spectrogram_augmentations_change_a_clip_repeatably_and_all_off_is_none(audio_baked):
    assert in_lab(audio_baked, AUGMENT) == {"changed": True, "repeatable": True, "off": True, "x_kept": True}


# ---------------------------------------------------------------- bad input: one message, before any training

def edit_train(project, change):
    path = project / "data/input/train.csv"
    change(pd.read_csv(path)).to_csv(path, index=False)


def refused(project, *args):
    result = run_exp(project, "--run", "1", *args)
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert not (project / OUT / "run001").exists() and "fold 1/" not in result.stdout, "nothing trained"
    return result.stdout + result.stderr


def test_a_corrupt_and_a_silent_recording_are_named_with_their_rows_before_any_training(audio_project):
    import soundfile
    train = pd.read_csv(audio_project / "data/input/train.csv")
    (audio_project / "data/input/train_audio" / train["filename"][0]).write_bytes(b"OggS" + bytes(300))
    soundfile.write(audio_project / "data/input/train_audio" / train["filename"][5], np.zeros(16000, np.float32),
                    16000, format="OGG")
    out = refused(audio_project)
    assert "2 of 48 recordings of train.csv cannot be used" in out, out
    assert f"{train['filename'][0]} (row 2 of train.csv): cannot be read" in out
    assert f"{train['filename'][5]} (row 7 of train.csv): holds no sound" in out


@pytest.mark.parametrize("case, change, message", [
    ("a path out of the data folder", lambda p: edit_train(p, lambda f: f.assign(
        filename=["../../../outside.ogg"] + f["filename"].tolist()[1:])),
     "1 path(s) of train.csv lead outside data/input"),
    ("a file listed twice", lambda p: edit_train(p, lambda f: pd.concat([f, f.head(1)])),
     "data/input/train.csv: 1 ids in column 'file' are on more than one row"),
    ("a pattern naming no column", lambda p: p.joinpath(EXP, "config.yml").write_text(
        p.joinpath(EXP, "config.yml").read_text().replace("train_audio/{filename}", "train_audio/{file}")),
     "data.audio pattern 'train_audio/{file}' names column 'file', which train.csv lacks"),
    ("no test file", lambda p: shutil.rmtree(p / "data/input/test_soundscapes"),
     "no test file matches data.test_audio 'test_soundscapes/*.ogg' under data/input"),
    ("fmax above half the sample rate", lambda p: p.joinpath(EXP, "config.yml").write_text(
        p.joinpath(EXP, "config.yml").read_text().replace("  fmax: null", "  fmax: 12000")),
     "audio.fmax is 12000, which cannot work. Fix: at most half of audio.sample_rate (8000 Hz)"),
    ("a gain with no background to be louder against", lambda p: p.joinpath(EXP, "config.yml").write_text(
        p.joinpath(EXP, "config.yml").read_text().replace("  gain_db: 0 ", "  gain_db: 6 ")),
     "augment.gain_db is 6, which cannot work. Fix: 0, or set augment.noise_dir"),
])
def test_bad_audio_input_is_one_message_before_training(audio_project, case, change, message):
    change(audio_project)
    out = refused(audio_project)
    assert message in out, (case, out)


def test_overlapping_windows_and_one_row_per_file_name_their_rows_as_birdclef_does(audio_project):
    config = audio_project / EXP / "config.yml"
    code = """
import json, yaml
import data
from runner.config import parse_yaml
cfg = parse_yaml(open("config.yml").read(), "config.yml")
cfg["audio"]["test_hop"] = 2.5
overlapping = data.test_windows(cfg, data.data_dir(cfg))[0][:4]
cfg["audio"]["test_window"] = None
whole = data.test_windows(cfg, data.data_dir(cfg))[0]
print(json.dumps([overlapping, whole]))
"""
    assert config.is_file()
    overlapping, whole = in_lab(audio_project, code)
    assert overlapping == ["soundscape_001_5", "soundscape_001_7.5", "soundscape_001_10", "soundscape_001_12.5"]
    assert whole == ["soundscape_001", "soundscape_002", "soundscape_003", "soundscape_004"]


# ---------------------------------------------------------------- a code competition: the notebook, offline

def test_the_kaggle_notebook_predicts_hidden_soundscapes_that_the_sample_does_not_list(audio_trained, tmp_path):
    import os
    source, _ = audio_trained
    project = tmp_path / "project"
    shutil.copytree(source, project)
    project_yml = project / "project.yml"  # BirdCLEF's notebooks have no GPU
    project_yml.write_text(project_yml.read_text().replace("  device: auto", "  device: cpu"))
    assert run_python(project, "scripts/kaggle_cli.py", "package", "exp001/run002", "--user", "ada").returncode == 0
    built = run_python(project, "scripts/kaggle_cli.py", "notebook", "exp001/run002", "--user", "ada")
    assert built.returncode == 0 and "internet off; CPU" in built.stdout, built.stdout + built.stderr
    notebook = next((project / "data/output/kaggle_notebooks").iterdir())
    assert '"test_soundscapes"' in (notebook / "inference.py").read_text()  # the folder, not a table
    # Kaggle's mounts. As in BirdCLEF, the sample lists the public soundscape's rows only; the hidden folder holds
    # another soundscape, 7.5 s long, under a new name.
    competition = tmp_path / "input" / "playground-series-s5e1"
    (competition / "test_soundscapes").mkdir(parents=True)
    shutil.copy(project / "data/input/sample_submission.csv", competition)
    import soundfile
    wave, rate = soundfile.read(project / "data/input/test_soundscapes/soundscape_003.ogg")
    soundfile.write(competition / "test_soundscapes/hidden_site.ogg", wave[:int(7.5 * rate)], rate)
    shutil.copytree(next((project / "data/output/kaggle_datasets").iterdir()), tmp_path / "input" / "exp001-data")
    (tmp_path / "working").mkdir()
    result = subprocess.run([sys.executable, str(notebook / "inference.py"), "--input", str(tmp_path / "input"),
                             "--working", str(tmp_path / "working")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"predicted 2 clips of .* on cpu in [0-9.]+ s \([0-9,]+ s per hour of audio\)",
                     result.stdout + result.stderr), result.stdout + result.stderr
    submitted = pd.read_csv(tmp_path / "working/submission.csv")
    assert submitted["row_id"].tolist() == ["hidden_site_5", "hidden_site_10"]  # the last window padded
    assert list(submitted.columns) == ["row_id", *SPECIES] and np.allclose(submitted[SPECIES].sum(axis=1), 1)
    # the first window is soundscape_003's first window, re-encoded (Vorbis is lossy): nearly the run's prediction
    own = pd.read_csv(project / OUT / "run002/submission.csv").set_index("row_id")
    assert np.allclose(submitted.iloc[0][SPECIES].astype(float), own.loc["soundscape_003_5", SPECIES], atol=0.03)


def test_multilabel_from_birdclef_s_secondary_labels_marks_every_species_heard(audio_project):
    config = audio_project / EXP / "config.yml"
    text = config.read_text()
    for old, new in (("task: multiclass", "task: multilabel"), ("secondary_labels: null", "secondary_labels: "
                                                                                           "secondary_labels")):
        assert old in text
        text = text.replace(old, new)
    config.write_text(text)
    result = run_exp(audio_project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    oof = pd.read_csv(audio_project / OUT / "run001/oof.csv").set_index("row_id")
    train = pd.read_csv(audio_project / "data/input/train.csv")
    assert "['riser']" in train.set_index("filename").loc["triller/XC1003.ogg", "secondary_labels"]
    assert oof.loc["train_audio/triller/XC1003.ogg", SPECIES].tolist() == [0, 1, 0, 1]  # its own, and the one heard
    assert int(oof[SPECIES].to_numpy().sum()) == len(train) + 12  # one in four recordings has a second species
    submission = pd.read_csv(audio_project / OUT / "run001/submission.csv")
    assert list(submission.columns) == ["row_id", *SPECIES] and not np.allclose(submission[SPECIES].sum(axis=1), 1)
    metrics = json.loads((audio_project / OUT / "run001/metrics.json").read_text())
    assert metrics["metric"] == "auc" and 0.5 < metrics["cv"] <= 1


SED = """
import json, torch
import network
from runner.config import parse_yaml
cfg = parse_yaml(open("config.yml").read(), "config.yml")
cfg["model"]["head"] = "sed"
net = network.create_model(cfg, 4).eval()
x = torch.randn(2, 1, 64, 126)
with torch.no_grad():
    logits, weights = net.frames(x)
    clip = net(x)
print(json.dumps({"frames": list(logits.shape), "weights_sum_to_1": bool(torch.allclose(weights.sum(-1),
                  torch.ones(2, 4))), "clip_is_their_weighted_sum": bool(torch.allclose(clip,
                  (logits * weights).sum(-1))), "clip": list(clip.shape)}))
"""


def test_the_sed_head_scores_each_frame_and_weighs_them_into_the_clip_s_score(audio_baked, tmp_path):
    found = in_lab(audio_baked, SED)
    assert found["frames"][:2] == [2, 4] and found["frames"][2] > 1 and found["clip"] == [2, 4]  # frames in time
    assert found["weights_sum_to_1"] and found["clip_is_their_weighted_sum"]


def test_a_sed_run_trains_and_predicts_from_its_record(audio_project, tmp_path):
    config = audio_project / EXP / "config.yml"
    config.write_text(config.read_text().replace("  head: clip", "  head: sed"))
    result = run_exp(audio_project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    again = run_python(audio_project, f"{EXP}/predict.py", "run001", "--test", "data/input/test_soundscapes",
                       "--out", str(tmp_path / "sub.csv"))
    assert again.returncode == 0, again.stdout + again.stderr
    own = pd.read_csv(audio_project / OUT / "run001/submission.csv")
    assert np.allclose(pd.read_csv(tmp_path / "sub.csv")[SPECIES], own[SPECIES], atol=1e-6)


AUGMENTS = {"  time_mask: 0 ": "  time_mask: 8 ", "  freq_mask: 0 ": "  freq_mask: 6 ",
            "  mixup: 0.0 ": "  mixup: 0.4 "}


def test_a_run_stopped_by_ctrl_c_mid_fold_resumes_there_to_an_uninterrupted_run_s_numbers(audio_baked, tmp_path):
    # every augmentation on: each clip's draws must come back the same after the resume, not only the weights
    whole, project = edited_copies(audio_baked, tmp_path, ("whole", "stopped"), AUGMENTS)
    train_py = project / EXP / "train.py"
    anchor = "        stop_if_signalled()  # a Ctrl-C that a library swallowed still stops the run here\n"
    assert anchor in train_py.read_text()
    stop = ("        import os, signal\n"
            "        if os.environ.get('TEST_STOP') == f'{k}:{epoch}':  # Ctrl-C as epoch 4 of fold 2 starts\n"
            "            os.kill(os.getpid(), signal.SIGINT)\n")
    train_py.write_text(train_py.read_text().replace(anchor, stop + anchor))
    uninterrupted = run_exp(whole, "--run", "1")
    assert uninterrupted.returncode == 0, uninterrupted.stdout + uninterrupted.stderr
    stopped = run_exp(project, "--run", "1", env={"TEST_STOP": "1:4"})
    assert stopped.returncode == 130, stopped.stdout + stopped.stderr
    resumed = run_exp(project, "--run", "1")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "run001: resuming at fold 2, epoch 4 (fold 1 done)" in resumed.stdout, resumed.stdout
    for name in ("oof.csv", "test_pred.csv", "submission.csv"):
        own, again = (pd.read_csv(folder / OUT / "run001" / name) for folder in (whole, project))
        numbers = own.select_dtypes("number").columns
        assert own.drop(columns=numbers).equals(again.drop(columns=numbers)), name  # ids, labels
        assert np.allclose(own[numbers], again[numbers], rtol=0, atol=1e-6), name


NOISE = """
import json, numpy as np, soundfile, torch
from pathlib import Path
import augment
from runner.config import parse_yaml
from runner.util import ROOT
cfg = parse_yaml(open("config.yml").read(), "config.yml")
folder = ROOT / "data/noise"
folder.mkdir(parents=True)
rain = np.random.default_rng(0).normal(0, 0.2, 16000).astype(np.float32)  # 1 s of hiss, looped under longer clips
soundfile.write(folder / "rain.wav", rain, 16000)
cfg["augment"]["noise_dir"] = "data/noise"
x = torch.full((1, 64, 126), -80.0)
x[0, 20, :] = 0.0  # one loud band over silence
torch.manual_seed(0)
mixed = augment.make_augment(cfg)(x)
louder = bool((mixed >= x - 1e-4).all())  # power adds: no bin gets quieter
print(json.dumps({"louder": louder, "quiet_bins_filled": float(mixed[0, 40].mean()) > -60,
                  "band_kept": float(mixed[0, 20].mean()) < 1.0 and float(mixed[0, 20].mean()) >= 0.0}))


def noise_tops(gain_db):  # how loud the background came out against the call (0 dB), over 200 draws
    cfg["augment"]["gain_db"] = gain_db
    augment_one = augment.make_augment(cfg)
    tops = []
    for seed in range(200):
        torch.manual_seed(seed)
        mixed_once = augment_one(x)[0]
        tops.append(float(torch.cat([mixed_once[:20], mixed_once[21:]]).max()))  # every bin but the call's
    return min(tops), max(tops)


print(json.dumps({"tops": [noise_tops(0), noise_tops(10)]}))
cfg["augment"]["gain_db"] = 0
cfg["augment"]["noise_dir"] = "data/nothing_here"
try:
    augment.make_augment(cfg)
except Exception as e:
    print(json.dumps({"error": str(e)}))
"""


def test_background_noise_fills_the_quiet_bins_without_drowning_the_call_and_a_bad_folder_is_one_message(
        audio_project):
    result = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.')\n" + NOISE],
                            cwd=audio_project / EXP, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    mixed, tops, error = (json.loads(line) for line in result.stdout.strip().splitlines()[-3:])
    assert mixed == {"louder": True, "quiet_bins_filled": True, "band_kept": True}
    assert error["error"].startswith("augment.noise_dir: data/nothing_here holds no recording"), error
    # NOISE_BELOW_DB puts the background 3 to 20 dB below the call; gain_db 10 makes the call up to 10 dB louder or
    # quieter against it: the background then reaches from about 30 dB below to 7 dB above
    (low, high), (low_gain, high_gain) = tops["tops"]
    assert -20.5 <= low < -17 and -6 < high <= -2.5, tops
    assert -30.5 <= low_gain < -25 and 2 < high_gain <= 7.5, tops


def test_predict_from_the_record_on_a_shuffled_foreign_soundscape_set_gives_the_run_s_own_windows(
        audio_trained, tmp_path):
    project, _ = audio_trained
    foreign = tmp_path / "foreign"  # the same four soundscapes under names whose sorted order is another one
    foreign.mkdir()
    names = {"soundscape_001": "zeta", "soundscape_002": "alpha", "soundscape_003": "mid", "soundscape_004": "beta"}
    for old, new in names.items():
        shutil.copy(project / f"data/input/test_soundscapes/{old}.ogg", foreign / f"{new}.ogg")
    result = run_python(project, f"{EXP}/predict.py", "run001", "--test", str(foreign), "--raw-out",
                        str(tmp_path / "raw.csv"), "--out", str(tmp_path / "sub.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    raw, sub = pd.read_csv(tmp_path / "raw.csv"), pd.read_csv(tmp_path / "sub.csv")
    assert raw["row_id"].tolist() == [f"{name}_{end}" for name in ("alpha", "beta", "mid", "zeta") for end in (5, 10)]
    assert sub["row_id"].tolist() == raw["row_id"].tolist() and list(sub.columns) == ["row_id", *SPECIES]
    own = pd.read_csv(project / OUT / "run001/test_pred.csv").set_index("row_id")
    back = {new: old for old, new in names.items()}
    predicted = [f"pred_{s}" for s in SPECIES]
    expected = own.loc[[f"{back[row.rsplit('_', 1)[0]]}_{row.rsplit('_', 1)[1]}" for row in raw["row_id"]], predicted]
    assert np.allclose(raw[predicted].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-6)  # each window its numbers
    assert np.allclose(sub[SPECIES].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-6)


def test_a_binary_task_learns_sweeps_from_steady_calls_and_submits_one_probability_column(audio_project):
    train_csv = audio_project / "data/input/train.csv"
    train = pd.read_csv(train_csv)
    sweep = train["primary_label"].isin(["riser", "faller"])
    train.assign(call=np.where(sweep, "sweep", "steady")).to_csv(train_csv, index=False)
    sample_csv = audio_project / "data/input/sample_submission.csv"
    pd.read_csv(sample_csv)[["row_id"]].assign(call=0.5).to_csv(sample_csv, index=False)
    config = audio_project / EXP / "config.yml"
    text = config.read_text()
    assert "  target: primary_label " in text and "task: multiclass" in text
    config.write_text(text.replace("  target: primary_label ", "  target: call ").replace("task: multiclass",
                                                                                          "task: binary"))
    result = run_exp(audio_project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    record = audio_project / OUT / "run001"
    metrics = json.loads((record / "metrics.json").read_text())
    assert metrics["metric"] == "auc" and metrics["cv"] >= 0.8, metrics
    oof = pd.read_csv(record / "oof.csv")
    assert (oof["call"] == "sweep").sum() == sweep.sum()
    assert roc_auc(oof["call"] == "sweep", oof["pred"]) >= 0.8  # pred: the probability of a sweep
    submission = pd.read_csv(record / "submission.csv")
    assert list(submission.columns) == ["row_id", "call"] and submission["call"].between(0, 1).all()
    merged = submission.merge(pd.read_csv(LABELS), on="row_id")  # the hidden windows: sweeps rank above the rest
    assert roc_auc(merged["species"].isin(["riser", "faller"]), merged["call"]) >= 0.8


def test_jobs_2_trains_the_audio_runs_in_two_processes_to_the_numbers_of_one_process(audio_baked, tmp_path):
    jobs, alone = edited_copies(audio_baked, tmp_path, ("jobs", "alone"), {"  epochs: 6\n": "  epochs: 1\n"})
    run_in_two_workers(jobs)
    for run, n_mels in (("run001", 32), ("run002", 64)):  # each run its own snippet
        assert json.loads((jobs / OUT / run / "metrics.json").read_text())["audio"]["n_mels"] == n_mels
    single = run_exp(alone, "--run", "1")
    assert single.returncode == 0, single.stdout + single.stderr
    for name in ("oof.csv", "test_pred.csv"):
        a, b = (pd.read_csv(p / OUT / "run001" / name) for p in (jobs, alone))
        numbers = a.select_dtypes("number").columns
        assert a["row_id"].equals(b["row_id"]) and np.allclose(a[numbers], b[numbers], rtol=0, atol=1e-5), name


@pytest.mark.slow
def test_audio_runs_reach_wandb_tune_samples_the_audio_search_space_and_the_leaderboard_and_debug_take_them(
        audio_baked, tmp_path):
    pytest.importorskip("wandb")
    pytest.importorskip("optuna")
    project = tmp_path / audio_baked.name
    shutil.copytree(audio_baked, project)
    config = project / EXP / "config.yml"
    text = config.read_text()
    for old, new in (("  epochs: 6\n", "  epochs: 2\n"), ("  n_splits: 3\n", "  n_splits: 2\n"),
                     ("  enabled: false\n", "  enabled: true\n")):
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)

    def check_sampled(sampled, trial):
        assert 0.0003 <= sampled["train"]["lr"] <= 0.01 and sampled["augment"]["time_mask"] in (0, 16)
        assert list(pd.read_csv(trial / "submission.csv").columns) == ["row_id", *SPECIES]

    check_tracked_tuned_listed_and_debugged(project, (b"fold0/valid_loss", b"fold1/auc"), check_sampled)
