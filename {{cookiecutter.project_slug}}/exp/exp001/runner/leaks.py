"""Credentials by what a file holds: a key pasted into code or config would reach every record's src/ and a dataset.

exp.py refuses to start while a file of the experiment holds one (each run copies the experiment's code into
its record), and scripts/kaggle_cli.py package refuses to build a dataset with one; both name the file and
line. A file that only looks like it (test fixtures, a hash that is not a key) is allowed by listing it in
project.yml: `secrets_allowed: [exp/exp001/notes.md]`. It imports nothing of the project: the package
script loads this file from the experiment it packages.
"""
import re
from pathlib import Path

# Whitespace inside one line: every kind of space but the line breaks str.splitlines() knows. Put in place of each
# \s* below, it keeps every pattern within one line: one search of a whole file finds what each line's search would.
LINE_SPACE = r"[^\S\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*"
# (what it is, the pattern of its text, text it cannot match without): each shape is the credential's own, not a
# mere mention of its name. Two are spelled so that this file's own text is none of the package's SECRET_TEXT (it
# ships with the code). The literals are a quick no: a pattern that starts with \b is tried at every position, and
# exp.py scans the experiment at every start (53 ms line by line, 17 to 23 ms this way, on the iris example).
CREDENTIALS = [
    # A word holding "key", then the key: the word's start needs no \b\w* (which made this pattern slow).
    ("a Kaggle API key", r"""(?i)key\w*["']?\s*[:=]\s*["']?[0-9a-f]{32}\b""", ()),
    ("a Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}\b", ("hf_",)),
    ("a W&B API key", r"""WANDB_API_KEY["'\]]*\s*[:=,]\s*["'][^"'\s]{20,}["']""", ("WANDB_API_KEY",)),
    ("an AWS secret key", r"""(?i)aws_secret_access_ke[y]["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}""", ()),
    ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", ("AKIA", "ASIA")),
    ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-{5}", ("-----BEGIN ",)),
    ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b",
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
]
PATTERNS = [(what, re.compile(pattern.replace(r"\s*", LINE_SPACE)), needs) for what, pattern, needs in CREDENTIALS]


def find_credential(text):
    """Give (line number, what it is) of the first credential-like text in `text`, or None.

    The first line holding one, and on it the first kind in CREDENTIALS, as reading line by line would find.
    """
    found = None
    for what, pattern, needs in PATTERNS:
        match = (not needs or any(literal in text for literal in needs)) and pattern.search(text)
        if match:
            number = len((text[:match.start()] + "x").splitlines())  # the line the match starts on
            if found is None or number < found[0]:
                found = (number, what)
    return found


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
