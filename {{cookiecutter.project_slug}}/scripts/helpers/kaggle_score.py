"""Push to score (`kaggle_cli.py submit-notebook`): push the notebook (kaggle_push.py), wait for it to run on Kaggle,
submit that version, wait for its public score and save it in the run's record.

Each step is one kaggle command: `kernels push --accelerator`, `kernels status` (asked every --poll-seconds),
`kernels logs` (when the notebook failed), `competitions submit -k -v`, `competitions submissions` (asked until the
score is there). After every step the record's kaggle_submission.json says where the chain is, so --resume goes on
from there (after a timeout, a closed laptop, --no-wait). The scored submission is merged into
data/output/submissions.csv as `kaggle_cli.py submissions` does, which is where scripts/leaderboard.py reads it.
"""
import json
import re
import time

from .atomic_files import write_atomically
from .kaggle_auth import run_kaggle
from .kaggle_project import (competition_slug, complete_blend, complete_run, parse_blend, parse_run, read_json_file,
                             read_project)
from .kaggle_push import push_notebook
from .kaggle_submissions import code_submission_command, save_submissions, submit_for_ref
from .project import UserError, rel

SCORE_FILE = "kaggle_submission.json"  # in the run's (or blend's) record folder
KERNEL_WAITING = ("QUEUED", "RUNNING", "NEW_SCRIPT")  # `kernels status` says one of these until the run ends
FAILURES_IN_A_ROW = 3  # a kaggle command that fails this often in a row is not a network blip


# ---------------------------------------------------------------- waiting

def poll(ask, poll_seconds, wait_minutes):
    """Call ask() every poll_seconds until it gives something else than None; give that, or None after wait_minutes.

    A failing kaggle command (a network blip, in a wait of hours) is asked again; it stops on the third in a row."""
    deadline = time.monotonic() + wait_minutes * 60
    failures = 0
    while True:
        try:
            answer = ask()
            failures = 0
        except UserError as e:
            failures += 1
            if failures >= FAILURES_IN_A_ROW:
                raise
            print(f"warning: {e} Asking again.", flush=True)
            answer = None
        if answer is not None:
            return answer
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(poll_seconds, left))


def kernel_status(target):
    """Give (status, failure message) of a notebook version ('owner/slug/7') as `kaggle kernels status` says it."""
    said = run_kaggle(["kaggle", "kernels", "status", target], capture=True, echo=False).stdout
    status = re.search(r'has status "(?:\w+\.)?(\w+)"', said)  # kaggle 2.2.x: "KernelWorkerStatus.RUNNING"
    if not status:
        raise UserError(f"cannot read what `kaggle kernels status {target}` printed: {said.strip()[:300]!r}. "
                        "Fix: pip install --upgrade kaggle (this script is written for kaggle 2.2.x).")
    failure = re.search(r'^Failure message: "(.*)"\s*$', said, re.M)
    return status.group(1).upper(), failure.group(1) if failure else ""


def wait_for_kernel(target, poll_seconds, wait_minutes):
    """Give (status, failure message) once the notebook version has stopped running, or None after wait_minutes;
    print each new status."""
    started, shown = time.monotonic(), []
    print(f"waiting for {target} to run on Kaggle (asking every {poll_seconds:g} s, at most {wait_minutes:g} min): "
          f"kaggle kernels status {target}", flush=True)

    def ask():
        status, failure = kernel_status(target)
        if shown[-1:] != [status]:
            print(f"  {status.lower()} ({(time.monotonic() - started) / 60:.0f} min)", flush=True)
            shown.append(status)
        return None if status in KERNEL_WAITING else (status, failure)
    return poll(ask, poll_seconds, wait_minutes)


def log_tail(target, lines=30):
    """Give the last lines of a notebook version's log (Kaggle keeps it as a JSON list of {stream_name, data})."""
    said = run_kaggle(["kaggle", "kernels", "logs", target], capture=True, check=False, echo=False).stdout or ""
    try:
        text = "".join(str(e.get("data", "")) for e in json.loads(said) if isinstance(e, dict))
    except (ValueError, TypeError, AttributeError):
        text = said
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(no log)"


def find_submission(rows, state):
    """Give our submission among Kaggle's (newest first): by the ref the submit printed, else by its message."""
    if state.get("ref"):
        return next((row for row in rows if str(row.get("ref")) == str(state["ref"])), None)
    return next((row for row in rows if row.get("description") == state["message"]), None)


def wait_for_score(state, poll_seconds, wait_minutes):
    """Give our submission's row once Kaggle has scored it (or failed to), or None after wait_minutes; each answer is
    merged into data/output/submissions.csv."""
    shown = []
    print(f"waiting for the score of submission {state.get('ref') or repr(state['message'])} (asking every "
          f"{poll_seconds:g} s, at most {wait_minutes:g} min): kaggle competitions submissions "
          f"{state['competition']}", flush=True)

    def ask():
        row = find_submission(save_submissions(state["competition"], echo=False)[0], state)
        status = row["status"] if row else "not listed yet"
        if shown[-1:] != [status]:
            print(f"  {status.lower()}", flush=True)
            shown.append(status)
        return row if row and row["status"] in ("COMPLETE", "ERROR") else None
    return poll(ask, poll_seconds, wait_minutes)


# ---------------------------------------------------------------- the chain

def push_to_score(args, prepare):
    """Push (unless --resume), wait for the notebook, submit it, wait for the score; give the exit code: 0 scored
    (or stopped where --no-wait / --no-submit asked), 1 still waiting after --wait-minutes."""
    if args.poll_seconds <= 0:
        raise UserError(f"--poll-seconds {args.poll_seconds:g}: give seconds above 0 (Kaggle's tools ask every 60).")
    if (args.wait_minutes or 0) < 0:
        raise UserError(f"--wait-minutes {args.wait_minutes:g}: give minutes above 0.")
    record, state = resumed(args.target) if args.resume else pushed(args, prepare)
    resume = f"python scripts/kaggle_cli.py submit-notebook {state['target']} --resume"
    target = f"{state['kernel']}/{state['version']}"
    wait_minutes = args.wait_minutes or default_wait_minutes()
    if state["step"] == "pushed":
        if args.no_wait:
            print(f"pushed {target}. Wait for it, submit it and fetch its score later with:\n{resume}")
            return 0
        if not wait_until_ran(state, record, args.poll_seconds, wait_minutes):
            print(f"{target} is still running after {wait_minutes:g} min. Go on later with:\n{resume}")
            return 1
        if args.no_submit:
            print(f"{target} ran on Kaggle. Submit it and wait for its score with:\n{resume}")
            return 0
    if state["step"] == "ran":
        command = code_submission_command(state["competition"], state["kernel"], state["version"], args.message)
        state.update(ref=submit_for_ref(command), message=command[-1], step="submitted", submitted=now())
        save_state(record, state)
    if state["step"] == "submitted" and not wait_until_scored(state, record, args.poll_seconds, wait_minutes):
        print(f"no score yet for {target} after {wait_minutes:g} min (Kaggle reruns it on the hidden test set). "
              f"Fetch it later with:\n{resume}")
        return 1
    return report_score(state, record)


def pushed(args, prepare):
    """Build and push the notebook; give (its record folder, the state saved there)."""
    competition = competition_slug(args)
    built = prepare(args)
    version, accelerator, image = push_notebook(built, args.force, args.accelerator)
    if version is None:
        raise UserError("the kaggle command printed no version number (see above), so there is nothing to wait "
                        f"for. Check the notebook on kaggle.com/code/{built['kernel']}.")
    state = {"target": built["target"], "competition": competition, "kernel": built["kernel"], "version": version,
             "accelerator": accelerator, "docker_image": image, "step": "pushed", "pushed": now()}
    save_state(built["record"], state)
    return built["record"], state


def resumed(target):
    """Give (the record folder of a run or blend, the state its last submit-notebook saved there)."""
    blend = parse_blend(target)
    record = complete_blend(blend)[0] if blend else complete_run(*parse_run(target))[0]
    state = read_json_file(record / SCORE_FILE)
    if not state:
        raise UserError(f"nothing to resume: {rel(record / SCORE_FILE)} is missing. Push it first: "
                        f"python scripts/kaggle_cli.py submit-notebook {target}")
    return record, state


def wait_until_ran(state, record, poll_seconds, wait_minutes):
    """Wait for the pushed version to run; give True when it completed, False after wait_minutes. A version that
    failed: the end of its log is printed, then one UserError."""
    target = f"{state['kernel']}/{state['version']}"
    finished = wait_for_kernel(target, poll_seconds, wait_minutes)
    if finished is None:
        return False
    status, failure = finished
    if status != "COMPLETE":
        print(f"the end of {target}'s log:\n{log_tail(target)}")
        save_state(record, dict(state, step="failed", kernel_status=status, failure=failure))
        raise UserError(f"{target} stopped on Kaggle with {status}{f' ({failure})' if failure else ''}, so nothing "
                        f"was submitted. Its log ends above (all of it: kaggle kernels logs {target}). Fix the "
                        f"notebook, then push again: python scripts/kaggle_cli.py submit-notebook {state['target']}")
    state.update(step="ran", ran=now())
    save_state(record, state)
    return True


def wait_until_scored(state, record, poll_seconds, wait_minutes):
    """Wait for the submission's score and save it in the record; give False when it did not come in wait_minutes."""
    row = wait_for_score(state, poll_seconds, wait_minutes)
    if row is None:
        return False
    state.update(step="scored" if row["status"] == "COMPLETE" else "scoring failed", status=row["status"],
                 public_score=score(row["publicScore"]), private_score=score(row["privateScore"]), scored=now())
    save_state(record, state)
    return True


def report_score(state, record):
    """Print where the chain ended; give 0, or raise UserError for a notebook or a scoring that failed."""
    if state["step"] == "failed":
        raise UserError(f"{state['kernel']}/{state['version']} failed on Kaggle ({state.get('kernel_status')}). Push "
                        f"it again: python scripts/kaggle_cli.py submit-notebook {state['target']}")
    if state["step"] == "scoring failed":
        raise UserError(f"Kaggle could not score submission {state.get('ref')} ({state['status']}): the notebook "
                        "failed or ran out of time on the hidden test set. See why on kaggle.com/competitions/"
                        f"{state['competition']}/submissions; fix it, then push again.")
    print(f"{state['target']}: public score {state['public_score']} (submission {state.get('ref')}, notebook "
          f"{state['kernel']} v{state['version']}), saved in {rel(record / SCORE_FILE)}. "
          "See it next to CV: python scripts/leaderboard.py")
    return 0


def save_state(record, state):
    write_atomically(record / SCORE_FILE,
                     lambda temporary: temporary.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8"))


def score(text):
    """Give a score Kaggle printed as a number, or None when there is none (blank, pending)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def default_wait_minutes():
    """Give how long to wait for the notebook, and then for the score: its time limit and half an hour in a queue."""
    limit = (read_project().get("submit") or {}).get("time_limit_minutes")
    return (limit if isinstance(limit, (int, float)) and limit > 0 else 540) + 30


def add_score_arguments(sub):
    sub.add_argument("-m", "--message", help="text added to the submission's message ('expNNN/runNNN cv=...')")
    sub.add_argument("--accelerator", help="Kaggle's accelerator for a GPU notebook, e.g. NvidiaTeslaT4 (default: "
                                           "submit.accelerator in project.yml; auto: a T4)")
    sub.add_argument("--no-wait", action="store_true", help="push only; go on later with --resume")
    sub.add_argument("--no-submit", action="store_true", help="wait for the notebook to run, submit nothing")
    sub.add_argument("--resume", action="store_true",
                     help=f"go on from where the record's {SCORE_FILE} says the last one stopped, without pushing")
    sub.add_argument("--poll-seconds", type=float, default=60, help="ask Kaggle every this many seconds (default 60)")
    sub.add_argument("--wait-minutes", type=float,
                     help="wait at most this long for the notebook to run, then for its score (default: "
                          "submit.time_limit_minutes + 30)")
