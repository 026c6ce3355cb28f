"""What the user sees at the end: one line per run, the best marked; and notices kept off a worker's console."""
import contextlib
import logging

from . import util
from .util import log


def show_summary(statuses, states, out_root):
    """Log one line per run of this call, then the experiment's other finished runs; `<- best` marks the best of all."""
    import train

    def higher_is_better(metric):
        try:
            return train.higher_is_better(metric)
        except KeyError:  # a metric this experiment no longer has: the run cannot be ranked
            return None

    def rank(s):
        return s["cv"] * (1 if higher_is_better(s["metric"]) else -1)

    done = [detail for state, detail in states.values()
            if state == "done" and isinstance(detail.get("cv"), (int, float))
            and higher_is_better(detail.get("metric")) is not None]
    best = max(done, key=rank, default=None)
    log.info(f"summary ({util.rel(out_root)}):")
    for s in statuses:
        score = f"{s['metric']}={s['cv']:.5f}" if s["status"] == "done" else s["status"]
        mark = "  <- best" if best and s["status"] == "done" and s["run"] == best["run"] and len(done) > 1 else ""
        log.info(f"  {s['run']}  {score}{mark}")
        for warning in s.get("warnings") or []:  # the run's warnings (metrics["warnings"]), one line each
            log.info(f"    warning: {warning}")
    others = sorted((d for d in done if d["run"] not in {s["run"] for s in statuses}), key=lambda d: d["run"])
    if others:  # the rest of the experiment, from the records already read: the picture of where it stands
        log.info("  finished before:")
        for d in others:
            log.info(f"  {d['run']}  {d['metric']}={d['cv']:.5f}{'  <- best' if d is best else ''}")


@contextlib.contextmanager
def console_muted():
    """Keep notices (INFO) off the console for a while; warnings and errors still show."""
    consoles = [h for h in log.handlers if type(h) is logging.StreamHandler]
    levels = [h.level for h in consoles]
    for handler in consoles:
        handler.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for handler, level in zip(consoles, levels):
            handler.setLevel(level)
