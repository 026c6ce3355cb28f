"""Sign in to Kaggle and run the `kaggle` command: credentials, the user name, crash detection, setup help.

Credentials are looked for in the kaggle command's own order (kaggle 2.2.x), so a missing or misplaced
one is reported here in one message, with the setup steps, before the command runs.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .kaggle_project import read_json_file
from .project import ROOT, UserError

SETUP_HELP = """To use Kaggle from here, once:
  1. pip install kaggle six                         (kaggle 2.2.5 imports six but does not install it)
  2. sign in, in one of these ways:
       kaggle auth login                            (recommended: signs in through the browser)
       export KAGGLE_API_TOKEN=<token>              or save the token in ~/.kaggle/access_token
                                                    (token from https://www.kaggle.com/settings, section API)
       a legacy kaggle.json in ~/.kaggle/ (chmod 600 it), or KAGGLE_USERNAME=<name> KAGGLE_KEY=<key>
Then run this command again."""


def kaggle_config_dir():
    """Give the one folder where the kaggle command (2.x) reads kaggle.json, chosen as it chooses it."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"])
    dot_kaggle = Path.home() / ".kaggle"
    if sys.platform.startswith("linux") and not dot_kaggle.exists():  # kaggle then follows XDG
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"
    return dot_kaggle


def non_empty_file(path):
    return (bool(path) and Path(path).is_file()
            and bool(Path(path).read_text(encoding="utf-8", errors="replace").strip()))


def access_token_source():
    """Give where the kaggle command would find an access token (its first choice), or None."""
    env = os.environ
    in_notebook = env.get("KAGGLE_KERNEL_RUN_TYPE") is not None and env.get("KAGGLE_DATA_PROXY_URL") is not None
    if in_notebook and non_empty_file(env.get("KAGGLE_API_V1_TOKEN")):
        return "the Kaggle notebook's token"
    if env.get("KAGGLE_API_TOKEN"):
        token = env["KAGGLE_API_TOKEN"]
        return "KAGGLE_API_TOKEN" if not Path(token).exists() or non_empty_file(token) else None
    for name in ("access_token", "access_token.txt"):  # always ~/.kaggle, whatever KAGGLE_CONFIG_DIR says
        if non_empty_file(Path.home() / ".kaggle" / name):
            return f"~/.kaggle/{name}"
    return None


def legacy_config():
    """Give kaggle.json of the kaggle command's config folder with KAGGLE_* variables over it, as the CLI reads them."""
    config = read_json_file(kaggle_config_dir() / "kaggle.json")
    config.update((k[len("KAGGLE_"):].lower(), v) for k, v in os.environ.items() if k.startswith("KAGGLE_"))
    return config


def oauth_credentials():
    """Give what `kaggle auth login` saved (~/.kaggle/credentials.json), or {} when it has not been run."""
    saved = read_json_file(Path.home() / ".kaggle" / "credentials.json")
    return saved if saved.get("refresh_token") else {}


def credential_source():
    """Give the form of Kaggle credentials the kaggle command will use, in its own order, or None."""
    config, token = legacy_config(), access_token_source()
    if token:
        return f"access token ({token})"
    if config.get("username") and config.get("key"):
        return "legacy API key"
    if oauth_credentials():
        return "kaggle auth login"
    return None


def misplaced_kaggle_json():
    """Give a hint when a kaggle.json sits in a folder the kaggle command does not read, else ''."""
    used = kaggle_config_dir()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"
    for folder in (Path.home() / ".kaggle", xdg):
        if folder != used and (folder / "kaggle.json").is_file():
            return (f" A kaggle.json is in {folder}, but the kaggle command reads only {used}/ "
                    f"(KAGGLE_CONFIG_DIR, else ~/.kaggle when it exists, else $XDG_CONFIG_HOME/kaggle): move it there.")
    return ""


_kaggle_started = False


def check_kaggle_starts():
    """Raise UserError in one line when the kaggle command crashes before doing anything (e.g. a missing module)."""
    global _kaggle_started
    if _kaggle_started:
        return
    try:
        result = subprocess.run(["kaggle", "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"the kaggle command does not start ({e}). Fix: pip install --force-reinstall kaggle")
    said = result.stdout + result.stderr
    if result.returncode != 0:
        missing = re.search(r"ModuleNotFoundError: No module named '([\w]+)", said)
        if missing:  # kaggle 2.2.5 imports six without requiring it
            module = missing.group(1)
            raise UserError(f"the kaggle command crashes at start: the Python module '{module}' it imports is not "
                            f"installed. Fix: pip install {module} (in the Python environment of the kaggle command)")
        last = [line for line in said.splitlines() if line.strip()][-1:] or [f"exit code {result.returncode}"]
        raise UserError(f"the kaggle command crashes at start: {last[0].strip()}. See the whole error with "
                        "`kaggle --version`; pip install --upgrade kaggle may fix it.")
    _kaggle_started = True


def check_kaggle_ready():
    """Raise UserError with the setup steps when the kaggle command is missing, crashes or has no credentials."""
    if shutil.which("kaggle") is None:
        raise UserError(f"the kaggle command is not installed (not found on PATH).\n{SETUP_HELP}")
    check_kaggle_starts()
    if credential_source() is None:
        raise UserError("no Kaggle credentials found (no `kaggle auth login`, no KAGGLE_API_TOKEN or "
                        f"~/.kaggle/access_token, no kaggle.json in {kaggle_config_dir()}/, no KAGGLE_USERNAME/"
                        f"KAGGLE_KEY).{misplaced_kaggle_json()}\n{SETUP_HELP}")


def run_kaggle(command, capture=False, check=True, echo=True):
    """Run the kaggle command from the project root; give its CompletedProcess; raise UserError when it fails.
    echo=False: the command line is not printed first."""
    check_kaggle_ready()
    if echo:
        print(f"$ {shlex.join(command)}", flush=True)
    result = subprocess.run(command, cwd=ROOT, text=True, capture_output=capture)
    if check and result.returncode != 0:
        raise kaggle_failed(result)
    return result


def run_kaggle_echoed(command):
    """Run the kaggle command, showing its output as it comes; give what it printed on stdout.

    Some kaggle commands report a refusal on stdout and still exit 0 ("Dataset creation error: ..."),
    so the caller reads the text. Progress bars (stderr) stay live.
    """
    check_kaggle_ready()
    print(f"$ {shlex.join(command)}", flush=True)
    with subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE) as process:
        lines = []
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    printed = "".join(lines)
    if printed and not printed.endswith("\n"):  # kaggle prints some answers without one ("...was queued")
        print(flush=True)
    if process.returncode != 0:
        raise UserError(f"the kaggle command failed (exit code {process.returncode}). See its message above.")
    return printed


def kaggle_failed(result):
    """Give the UserError for a failed kaggle command, with what it said when that was captured."""
    said = (f" It said:\n{result.stdout}{result.stderr}".rstrip() if result.stdout is not None
            else " See its message above.")
    return UserError(f"the kaggle command failed (exit code {result.returncode}).{said}")



def kaggle_username(args):
    """Give the Kaggle user name: --user, else what the kaggle command signs in as (asking it for a token)."""
    if getattr(args, "user", None):
        return args.user
    if not access_token_source():  # a token names its user only when the CLI asks Kaggle
        name = legacy_config().get("username") or oauth_credentials().get("username")
        if name:
            return str(name)
    if shutil.which("kaggle") and credential_source():
        check_kaggle_starts()
        print("$ kaggle config view   (to learn your user name; --user NAME skips this)", flush=True)
        result = subprocess.run(["kaggle", "config", "view"], capture_output=True, text=True, timeout=120)
        name = re.search(r"^- username: (\S+)\s*$", result.stdout, re.M)
        if result.returncode == 0 and name and name.group(1) != "None":
            return name.group(1)
    raise UserError("the dataset and notebook ids need your Kaggle user name, and none was found (no --user, no "
                    f"KAGGLE_USERNAME, no username in {kaggle_config_dir()}/kaggle.json or from `kaggle auth login`, "
                    "and `kaggle config view` named none). Fix: pass --user <your name>.")
