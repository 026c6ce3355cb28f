"""Start a project's scripts without paying Python's start-up each time: fork them from a warm Python.

Every `exp.py` or script run of the tests used to start a fresh Python that spent most of its 2-3 s
importing pandas, scikit-learn (through lightgbm) and SciPy before doing a fraction of a second of
work. A server (one per session, started on first use) imports those libraries once; each run is a
`fork()` of it that then does what `python SCRIPT ARGS` does: its cwd, its whole environment, argv,
sys.path[0] = the script's folder, a fresh `__main__` run from the file, stdout and stderr to their own
files, the exit code Python gives (SystemExit, an uncaught exception's 1, a signal's -N, a KeyboardInterrupt
dying by SIGINT), threads joined and atexit functions run at the end.

What a fork cannot redo is what a Python reads as it starts, or a library as it is imported: the
PYTHON* variables (PYTHONPATH's sitecustomize, say), OMP_NUM_THREADS and the like, the locale. A run
whose environment differs from the server's in any of those starts a fresh Python, as does every run
when KAGGLE_EXP_TESTS_FRESH_PYTHON=1 is set (the whole suite the old way, e.g. to compare). Two servers
with different hash seeds take turns, so two runs in a row never share a hash seed (a result that
depends on set order still differs between them, as between two fresh Pythons), and each child reseeds
NumPy's global generator from the OS, as a fresh import of NumPy does.
"""
import json
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# Imported once by each server: what every tabular run imports (lightgbm pulls in scikit-learn and SciPy);
# a project of kind=image also imports PyTorch and timm (8 s beside other jobs), so its runs fork from servers of their
# own.
PRELOAD = ["numpy", "pandas", "yaml", "scipy.stats", "sklearn", "lightgbm"]
IMAGE_PRELOAD = PRELOAD + ["PIL.Image", "torch", "timm"]
TEXT_PRELOAD = PRELOAD + ["torch", "transformers", "transformers.models.bert.modeling_bert",
                          "transformers.models.auto.tokenization_auto", "peft"]
# Variables read at start-up, by Python or by a library as it is imported: a run that sets any of them
# otherwise than the server did starts a fresh Python.
STARTUP_PREFIXES = ("PYTHON", "OMP_", "OPENBLAS", "MKL_", "KMP_", "GOTO", "NUMEXPR", "VECLIB", "BLIS",
                    "LD_", "MALLOC", "LANG", "LC_", "TZ", "SKLEARN_", "JOBLIB", "LOKY", "SCIPY", "NPY_", "NUMPY")

SERVER = r'''
import builtins, io, json, os, signal, sys, threading, types
import importlib.machinery

requests_fd, replies_fd = int(sys.argv[1]), int(sys.argv[2])
started = dict(os.environ)
for name in sys.argv[3].split(","):
    __import__(name)
requests = os.fdopen(requests_fd, "r")
replies = os.fdopen(replies_fd, "w")


def reply(**message):
    replies.write(json.dumps(message) + "\n")
    replies.flush()


def exit_code(code):
    """Python's exit status for SystemExit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def run(request):
    """In the forked child: become `python SCRIPT ARGS` and never return."""
    requests.close()
    replies.close()
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for key, value in added.items():
        os.environ.setdefault(key, value)
    sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(open(2, "wb", closefd=False), errors="backslashreplace",
                                                   line_buffering=True)
    if "numpy" in sys.modules:  # a fresh import seeds NumPy's global generator from the OS
        sys.modules["numpy"].random.seed()
    script = request["argv"][0]
    if not os.path.isfile(script):
        print(f"{sys.executable}: can't open file {os.path.abspath(script)!r}: [Errno 2] No such file or directory",
              file=sys.stderr, flush=True)
        os._exit(2)
    sys.argv = list(request["argv"])
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__, main.__cached__ = script, builtins, None
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", script)
    sys.modules["__main__"] = main
    code, by_signal = 0, None
    try:
        with open(script, "rb") as f:
            source = f.read()
        exec(compile(source, script, "exec"), main.__dict__)
    except SystemExit as e:
        code = exit_code(e.code)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        by_signal = signal.SIGINT
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    try:
        threading._shutdown()
    except BaseException:
        pass
    import atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            code = code or 120
    if by_signal is not None:
        signal.signal(by_signal, signal.SIG_DFL)
        os.kill(os.getpid(), by_signal)
    os._exit(code)


# Keys a preloaded library set in os.environ as it was imported (scikit-learn's KMP_* setdefaults): a fresh
# Python that imports it sets them too, so each child gets them unless its environment has them.
added = {k: v for k, v in os.environ.items() if started.get(k) != v}
reply(ready=True, added=added)
for line in requests:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            run(request)
        except BaseException:
            import traceback
            traceback.print_exc()  # to stderr: the run's own file once it is redirected, else the server's
        finally:
            os._exit(70)
    reply(pid=pid)
    _, status = os.waitpid(pid, 0)
    reply(code=os.waitstatus_to_exitcode(status))
'''


class Server:
    """One warm Python, its requests and replies over two pipes."""

    def __init__(self, env, preload):
        self.env = env
        requests_read, self.requests_fd = os.pipe()
        self.replies_fd, replies_write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(requests_read), str(replies_write), ",".join(preload)],
            env=env, pass_fds=(requests_read, replies_write), stdout=subprocess.DEVNULL)
        os.close(requests_read)
        os.close(replies_write)
        self.requests = os.fdopen(self.requests_fd, "w")
        self.buffer = b""
        self.ready = None

    def is_ready(self):
        """True once the server has imported PRELOAD; never waits (until then, runs start a fresh Python)."""
        if self.ready is None:
            try:
                self.ready = self.read(timeout=0)
            except TimeoutError:
                return False
            except (RuntimeError, ValueError):
                self.ready = {}
        return bool(self.ready)

    def read(self, timeout):
        """Give the server's next reply, waiting at most `timeout` seconds (unbuffered: the fd is what select sees)."""
        while b"\n" not in self.buffer:
            readable, _, _ = select.select([self.replies_fd], [], [], timeout)
            if not readable:
                raise TimeoutError
            chunk = os.read(self.replies_fd, 65536)
            if not chunk:
                raise RuntimeError("the warm Python ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        for close in (self.requests.close, lambda: os.close(self.replies_fd)):
            try:
                close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Zygote:
    """Run `python SCRIPT ARGS` as subprocess.run(..., capture_output=True, text=True) would, forked when it can be."""

    def __init__(self, env, preload=PRELOAD):
        self.env = dict(env)
        self.servers = []
        self.turn = 0
        seeds = random.sample(range(1, 2**32), 2)
        for seed in seeds:
            self.servers.append(Server(dict(self.env, PYTHONHASHSEED=str(seed)), preload))
        self.scratch = Path(tempfile.mkdtemp(prefix="zygote-"))

    def can_fork(self, env, server):
        """True when `env` starts a Python as the server's did (what its preload added may be there or not)."""
        added = server.ready["added"]

        def startup(e):
            return {k: v for k, v in e.items() if k.startswith(STARTUP_PREFIXES) and not (k in added and v == added[k])}
        return "PYTHONHASHSEED" not in env and startup(env) == startup(self.env)

    def run(self, argv, cwd, env, timeout):
        """Give a CompletedProcess of `python *argv` (None when this run needs a fresh Python)."""
        server = self.servers[self.turn % len(self.servers)]
        if not server.is_ready() or not self.can_fork(env, server):
            return None
        self.turn += 1
        stdout, stderr = self.scratch / "stdout", self.scratch / "stderr"
        request = {"argv": [str(a) for a in argv], "cwd": str(cwd), "env": env, "stdout": str(stdout),
                   "stderr": str(stderr)}
        server.requests.write(json.dumps(request) + "\n")
        server.requests.flush()
        pid = server.read(timeout=60)["pid"]
        try:
            code = server.read(timeout)["code"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            server.read(timeout=60)
            raise subprocess.TimeoutExpired([sys.executable, *argv], timeout, read(stdout), read(stderr))
        return subprocess.CompletedProcess([sys.executable, *map(str, argv)], code, read(stdout), read(stderr))

    def close(self):
        for server in self.servers:
            server.close()
        for path in self.scratch.iterdir():
            path.unlink()
        self.scratch.rmdir()


def read(path):
    """A file's text as subprocess.run(text=True) decodes a pipe (locale encoding, universal newlines)."""
    with open(path, encoding=None, errors="strict") as f:
        return f.read()
