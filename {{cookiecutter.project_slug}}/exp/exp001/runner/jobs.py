"""--jobs N and --gpus: train several runs at once on this machine, in worker processes of the same command.

Each worker is exp.py without --jobs or --gpus: it claims runs like any other process (see claims.py),
so the workers never train the same run, and the cores are split between them. With --gpus 0,1,3
there is one worker per listed GPU, each seeing only its own (CUDA_VISIBLE_DEVICES).
"""
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

from .interrupts import Signals
from .util import ConfigError, log


def run_workers(n, argv, exp_py, gpus=None, each=None):
    """Run `exp.py` (without --jobs, --gpus) in n worker processes over the same claims; give their exit codes.

    With `gpus` (device ids), worker i gets CUDA_VISIBLE_DEVICES=gpus[i]. each(i, args), when given,
    gives worker i's own arguments (--tune shares its trials out).
    """
    threads = max(1, (os.cpu_count() or 1) // n)
    # Workers split the cores: LightGBM and scikit-learn's OpenMP code follow OMP_NUM_THREADS unless
    # the config sets num_threads / n_jobs; the models read KAGGLE_EXP_THREADS (model.threads).
    env = dict(os.environ, KAGGLE_EXP_WORKER="1", KAGGLE_EXP_THREADS=str(threads))
    env.setdefault("OMP_NUM_THREADS", str(threads))
    args = without_options(argv, ("--jobs", "--gpus"))
    envs = [dict(env, CUDA_VISIBLE_DEVICES=gpu) for gpu in gpus[:n]] if gpus else [env] * n
    if gpus:
        log.info(f"--gpus: {n} worker processes, one per GPU (CUDA_VISIBLE_DEVICES={', '.join(gpus[:n])}), "
                 f"{threads} thread(s) each")
    else:
        log.info(f"--jobs {n}: {n} worker processes, {threads} thread(s) each")
    workers = [subprocess.Popen([sys.executable, str(exp_py), *(each(i, args) if each else args)], env=worker_env)
               for i, worker_env in enumerate(envs)]
    codes = []
    for worker in workers:
        while True:
            try:
                codes.append(worker.wait())
                break
            except KeyboardInterrupt:  # forward SIGTERM (Ctrl-C reaches the workers by itself) and wait for them
                Signals.shielded = True
                for other in workers:
                    with contextlib.suppress(OSError):
                        other.send_signal(Signals.received or signal.SIGINT)
    return codes


def without_options(argv, names):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in names:
            skip = True
        elif not a.startswith(tuple(f"{name}=" for name in names)):
            out.append(a)
    return out


# ---------------------------------------------------------------- --gpus

def parse_gpus(spec):
    """Give the device ids of --gpus: '0,1,3' or 'all', as CUDA_VISIBLE_DEVICES takes them.

    Numbers count the GPUs this process sees: under CUDA_VISIBLE_DEVICES=2,3 (as Slurm sets it),
    --gpus 1 is device 3, and --gpus all is 2,3.
    """
    visible = visible_gpus()
    shown = (f"CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']}" if "CUDA_VISIBLE_DEVICES" in os.environ
             else "nvidia-smi -L")
    if spec.strip().lower() == "all":
        if not visible:
            raise ConfigError(f"--gpus all: no GPU is visible ({shown} lists none). Fix: run where GPUs are, name them "
                              "(--gpus 0,1), or leave --gpus out to train on the CPU "
                              "(--jobs N for several runs at once).")
        return visible
    parts = [part.strip() for part in spec.split(",")]
    for part in parts:
        if not re.fullmatch(r"\d+|(GPU|MIG)-[\w./-]+", part):
            raise ConfigError(f"--gpus {spec}: cannot read {part!r} as a GPU. Write GPU numbers as nvidia-smi shows "
                              "them, like --gpus 0,1,3, or --gpus all.")
    if len(set(parts)) < len(parts):
        twice = next(part for part in parts if parts.count(part) > 1)
        raise ConfigError(f"--gpus {spec}: GPU {twice} is listed twice; each GPU gets one worker. "
                          f"Fix: --gpus {','.join(dict.fromkeys(parts))}.")
    if "CUDA_VISIBLE_DEVICES" not in os.environ:
        return parts
    too_high = [part for part in parts if part.isdigit() and int(part) >= len(visible)]
    if too_high:
        raise ConfigError(f"--gpus {spec}: there is no GPU {too_high[0]}: this process sees {len(visible)} "
                          f"({shown}), numbered 0 to {len(visible) - 1}. Fix: list those numbers, or --gpus all.")
    return [visible[int(part)] if part.isdigit() else part for part in parts]


def visible_gpus():
    """Give the device ids this process may use: CUDA_VISIBLE_DEVICES when set, else nvidia-smi -L's; [] for none."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        ids = [part.strip() for part in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if part.strip()]
        return [] if ids[:1] == ["-1"] else ids
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return re.findall(r"^GPU (\d+):", listing, flags=re.M)


def follow_parent():
    """In a worker: stop as on SIGTERM once the parent is gone (after a kill -9 nobody forwards signals).

    The run then ends as interrupted, keeping its finished folds, instead of training on unsupervised.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()
