"""Where a Python program's peak memory is reached: its RSS sampled every 2 ms, with the main thread's stack.

    python benchmarks/rss_profile.py <script.py> [its arguments]      (report: rss_profile.txt, or $RSS_PROFILE_OUT)

Runs the script in this process. A thread reads /proc/self/statm (Linux) every 2 ms; each time RSS passes the
last noted level by 10 MiB it notes the time, RSS and the innermost 8 frames of the main thread. The report ends
with the peak and the stack at it. The sampler itself adds about 1 MiB and a little CPU.
Used for the CatBoost memory profile in README.md (exp/exp001/exp.py against handwritten_gbdt.py).
"""
import os
import runpy
import sys
import threading
import time
import traceback

PAGE = os.sysconf("SC_PAGE_SIZE")
STEP_MIB, INTERVAL, FRAMES = 10, 0.002, 8


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2 ** 20


def where(thread_id):
    frame = sys._current_frames().get(thread_id)
    stack = traceback.extract_stack(frame)[-FRAMES:] if frame else []
    return " < ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(stack))


def sample(main_id, state):
    started = time.perf_counter()
    while True:
        rss = rss_mib()
        if rss > state["peak"]:
            state["peak"], state["at"] = rss, where(main_id)
            if rss >= state["noted"] + STEP_MIB:
                state["noted"] = rss
                state["steps"].append(f"{time.perf_counter() - started:7.2f}s {rss:7.1f} MiB  {state['at']}")
        time.sleep(INTERVAL)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    state = {"peak": 0.0, "at": "", "noted": 0.0, "steps": []}
    threading.Thread(target=sample, args=(threading.get_ident(), state), daemon=True).start()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        out = os.environ.get("RSS_PROFILE_OUT", "rss_profile.txt")
        with open(out, "w") as f:
            f.write("\n".join([*state["steps"], f"PEAK {state['peak']:.1f} MiB at: {state['at']}"]) + "\n")
        print(f"rss_profile: peak {state['peak']:.0f} MiB; steps in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
