"""Optional W&B tracking of a run: checked before any run, started with it, closed with its scores.

W&B runs offline unless config.yml says otherwise (wandb.mode), and writes under data/output/wandb/.
"""
import uuid

from .util import EXP_NAME, OUTPUT_DIR, ROOT, ConfigError, log, rel, write_json


def check_tracking(cfg):
    """Raise ConfigError before any run when W&B is on and required but not installed."""
    settings = cfg.get("wandb") or {}
    if not settings.get("enabled"):
        return
    try:
        import wandb  # noqa: F401
    except ImportError:
        if settings.get("required", True):
            raise ConfigError(
                "config.yml: wandb.enabled is true but wandb is not installed. "
                "Fix: pip install wandb, or set wandb.enabled: false, or wandb.required: false to run untracked."
            ) from None
        log.warning("wandb is not installed: running untracked (wandb.required is false)")


def start_tracking(cfg, run_name, resume_dir=None):
    """Give a W&B run for this run when wandb.enabled is true and wandb is installed, else None.

    A run that resumes continues the same W&B run: its id is kept with the run's resumable state.
    """
    settings = cfg.get("wandb") or {}
    if not settings.get("enabled"):
        return None
    try:
        import wandb
    except ImportError:
        return None
    folder = OUTPUT_DIR / "wandb"  # never inside exp/, so new_exp.py copies no tracker files
    folder.mkdir(parents=True, exist_ok=True)
    run_id = None
    if resume_dir is not None:
        saved = resume_dir / "wandb_id.txt"
        run_id = saved.read_text(encoding="utf-8").strip() if saved.is_file() else uuid.uuid4().hex[:12]
        saved.write_text(run_id + "\n", encoding="utf-8")
    return wandb.init(
        project=settings.get("project") or ROOT.name, entity=settings.get("entity"),
        mode=settings.get("mode", "offline"),
        group=EXP_NAME, name=f"{EXP_NAME}/{run_name}", config=cfg, dir=str(folder),
        **({"id": run_id, "resume": "allow"} if run_id else {}),
    )


def finish_tracking(tracker, metrics, run_dir):
    """Send fold scores, CV and the importance chart to W&B (none when the run failed), and close the W&B run."""
    if tracker is None:
        return
    import wandb

    if metrics is None:
        tracker.finish(exit_code=1)
        return
    for k, value in enumerate(metrics["folds"]):
        tracker.log({f"fold/{metrics['metric']}": value, "fold": k})
    tracker.summary.update({f"cv/{metrics['metric']}": metrics["cv"], "cv/std": metrics["cv_std"],
                            "cv/oof": metrics["oof"]})
    if (run_dir / "importance.png").is_file():
        tracker.log({"importance": wandb.Image(str(run_dir / "importance.png"))})
    # Tie the record to its W&B run, so either can be found from the other.
    write_json(run_dir / "wandb.json", {"id": tracker.id, "project": tracker.project, "group": tracker.group,
                                        "name": tracker.name, "dir": rel(tracker.dir), "offline": tracker.offline})
    tracker.finish()
