"""Credentials by what a file holds: a key pasted into code or config would reach every record's src/ and a dataset.

exp.py refuses to start while a file of the experiment holds one (each run copies the experiment's code into
its record), and scripts/kaggle_cli.py package refuses to build a dataset with one; both name the file and
line. A file that only looks like it (test fixtures, a hash that is not a key) is allowed by listing it in
project.yml: `secrets_allowed: [exp/exp001/notes.md]`. It imports nothing of the project: the package
script loads this file from the experiment it packages.
"""
import re
from pathlib import Path

# (what it is, the pattern of its text): each shape is the credential's own, not a mere mention of its name.
# Two are spelled so that this file's own text is none of the package's SECRET_TEXT (it ships with the code).
CREDENTIALS = [
    ("a Kaggle API key", r"""(?i)\b\w*key\w*["']?\s*[:=]\s*["']?[0-9a-f]{32}\b"""),
    ("a Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("a W&B API key", r"""WANDB_API_KEY["'\]]*\s*[:=,]\s*["'][^"'\s]{20,}["']"""),
    ("an AWS secret key", r"""(?i)aws_secret_access_ke[y]["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}"""),
    ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-{5}"),
    ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
]
PATTERNS = [(what, re.compile(pattern)) for what, pattern in CREDENTIALS]
TOKEN_WORDS = re.compile(r"key|hf_|token|secret|-----|AKIA|ASIA|gh|github", re.I)  # a quick no for most text


def find_credential(text):
    """Give (line number, what it is) of the first credential-like text in `text`, or None."""
    if not TOKEN_WORDS.search(text):
        return None
    for number, line in enumerate(text.splitlines(), 1):
        for what, pattern in PATTERNS:
            if pattern.search(line):
                return number, what
    return None


def allowed_files(root):
    """Give the set of project-relative paths that project.yml's secrets_allowed lists."""
    import yaml

    try:
        project = yaml.safe_load((Path(root) / "project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return set()
    listed = (project.get("secrets_allowed") if isinstance(project, dict) else None) or []
    return {Path(p).as_posix() for p in listed if isinstance(p, str)}


def credential_problem(files, root):
    """Give a message for the first of `files` ({project-relative path: text or bytes}) with a credential, or None."""
    allowed = allowed_files(root)
    for path, content in files.items():
        if path in allowed:
            continue
        text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
        found = find_credential(text)
        if found:
            return (f"{path}, line {found[0]}, holds what looks like {found[1]}: it would be copied into every run's "
                    "src/ and into any Kaggle dataset made from it. Fix: read it from an environment variable or a "
                    "file outside the project (the kaggle and wandb commands keep theirs in your home folder); if it "
                    f"is no secret, list the file in project.yml: secrets_allowed: [{path}].")
    return None
