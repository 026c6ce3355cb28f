"""Secrets by what a file holds: a credential pasted into an experiment's code or config never reaches a record's src/
or a Kaggle dataset. exp.py and `kaggle_cli.py package` each refuse with one message naming the file and line;
project.yml's secrets_allowed lets a file through."""
import importlib.util

import pytest

from conftest import run_exp

WANDB_SETUP = 'import os\nos.environ["WANDB_API_KEY"] = "0123456789abcdef0123456789abcdef01234567"\n'


@pytest.fixture(scope="module")
def secrets(baked_project):
    spec = importlib.util.spec_from_file_location("runner_leaks", baked_project / "exp/exp001/runner/leaks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("text, what", [
    ('{"username": "alice", "key": "0123456789abcdef0123456789abcdef"}', "a Kaggle API key"),
    ("kaggle_key: 0123456789abcdef0123456789abcdef", "a Kaggle API key"),
    ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "a Hugging Face token"),
    ('WANDB_API_KEY = "0123456789abcdef0123456789abcdef01234567"', "a W&B API key"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "an AWS secret key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"),
    ("token = 'ghp_0123456789abcdefghijABCDEFGHIJ0123456789'", "a GitHub token"),
])
def test_each_kind_of_credential_is_found_on_its_line(secrets, text, what):
    assert secrets.find_credential(f"# notes\n\n{text}\n") == (3, what)


@pytest.mark.parametrize("text", [
    'key = os.environ["KAGGLE_KEY"]',                    # the name of a key, read from outside
    "digest: 0123456789abcdef0123456789abcdef",          # a hash that is not under a key's name
    "from huggingface_hub import hf_hub_download",       # hf_ followed by a word, not a token
    'os.environ["WANDB_API_KEY"] = os.environ["MY_KEY"]',
])
def test_code_that_only_names_a_credential_passes(secrets, text):
    assert secrets.find_credential(text) is None


def test_exp_refuses_code_holding_a_credential_and_names_the_file_and_line(project):
    (project / "exp/exp001/wandb_setup.py").write_text(WANDB_SETUP)

    result = run_exp(project, "--run", "1")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "exp/exp001/wandb_setup.py, line 2, holds what looks like a W&B API key" in result.stderr
    assert "secrets_allowed: [exp/exp001/wandb_setup.py]" in result.stderr and "Traceback" not in result.stderr
    assert not (project / "data/output/exp/exp001/run001").exists()

    settings = project / "project.yml"
    allowed = "secrets_allowed: [exp/exp001/wandb_setup.py]"
    settings.write_text(settings.read_text().replace("secrets_allowed: []", allowed))
    result = run_exp(project, "--run", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "data/output/exp/exp001/run001/src/wandb_setup.py").is_file()


@pytest.mark.parametrize("name, text, what", [
    ("local.yml", "kaggle_key: 0123456789abcdef0123456789abcdef\n", "a Kaggle API key"),
    ("hf.txt", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789\n", "a Hugging Face token"),
])
def test_package_refuses_a_file_of_an_allowed_kind_holding_a_credential(trained, tmp_path, name, text, what):
    from test_kaggle import dataset_folder, kaggle_cli, no_kaggle_env

    (trained / "exp/exp001" / name).write_text(text)

    result = kaggle_cli(trained, "package", "exp001/run002", "--user", "alice", env=no_kaggle_env(tmp_path))

    assert result.returncode != 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert f"nothing packaged: exp/exp001/{name}, line 1, holds what looks like {what}" in output, output
    assert "Traceback" not in output
    assert not dataset_folder(trained).exists()
