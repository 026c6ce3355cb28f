"""Talk to Kaggle through the official `kaggle` command: data, submissions, datasets of models.

    python scripts/kaggle_cli.py download                      competition files into data/input/ (unzipped)
    python scripts/kaggle_cli.py submit exp001/run002 -m "more leaves" [--dry-run]
    python scripts/kaggle_cli.py submissions                   save your submissions and their LB scores
                                                               to data/output/submissions.csv (leaderboard.py reads it)
    python scripts/kaggle_cli.py package exp001/run002         a Kaggle dataset folder with the code, models and
                                                               run record (--upload to upload it); package blend001:
                                                               each run of the blend, its weights, predict_blend.py;
                                                               --to models: a Kaggle Model version instead
    python scripts/kaggle_cli.py notebook exp001/run002 --push a code-competition notebook that predicts offline
                                                               (or blend001; --server: serves kaggle_evaluation)
    python scripts/kaggle_cli.py probe exp001/run002 --test-size 10000    the notebook's minutes on the hidden test
                                                               set (rows, images, hours of audio), estimated here
    python scripts/kaggle_cli.py submit --kernel alice/my-notebook --version 3    submit a code competition
    python scripts/kaggle_cli.py submit-notebook exp001/run002 push, run on Kaggle, submit and wait for the public
                                                               score, saved in the run's record (--resume: go on)

The competition comes from project.yml (--competition overrides it). Setup, once:
pip install kaggle six, then `kaggle auth login` (or an API token from https://www.kaggle.com/settings).
Only the `kaggle` command is used (through subprocess; written for kaggle 2.2.x).
"""
import argparse
import re
import shlex
import sys
import time
import zipfile

import yaml

# This file is the command line; each job lives in a module of its own in helpers/: kaggle_project.py (folders,
# project.yml, finished runs), kaggle_auth.py (credentials, running `kaggle`), kaggle_submissions.py (checking
# and saving submissions), kaggle_package.py (the dataset folder), kaggle_notebook.py (the notebook folder),
# kaggle_push.py (pushing it) and kaggle_score.py (waiting for it to run, submitting it, waiting for its score).
from helpers.kaggle_auth import kaggle_username, run_kaggle, run_kaggle_echoed
from helpers.kaggle_notebook import build_notebook, model_inputs, test_input
from helpers.kaggle_models import package_as_model, with_package_model
from helpers.kaggle_onnx import blend_exports, export_runs
from helpers.kaggle_package import PACKAGE_FILE, build_blend_dataset, build_dataset, dataset_names, package_records
from helpers.kaggle_project import (DATASETS_DIR, NOTEBOOKS_DIR, blend_message, competition_slug, complete_blend,
                                    complete_run, notebook_gpu, parse_blend, parse_run,
                                    read_json_file)
from helpers.kaggle_probe import add_probe_arguments, probe
from helpers.kaggle_push import push_command, push_notebook
from helpers.kaggle_score import add_score_arguments, push_to_score
from helpers.kaggle_submissions import check_submission, save_submissions, send_submission, submit_kernel
from helpers.project import INPUT_DIR, RECORDS_ROOT, ROOT, SUBMISSIONS_CSV, UserError, rel


# ---------------------------------------------------------------- subcommands

def download(args):
    slug = competition_slug(args)
    INPUT_DIR.mkdir(parents=True, exist_ok=True)
    started = time.time()
    command = ["kaggle", "competitions", "download", slug, "-p", rel(INPUT_DIR)] + (["-o"] if args.force else [])
    run_kaggle(command)
    archives = [p for p in INPUT_DIR.glob("*.zip") if p.name == f"{slug}.zip" or p.stat().st_mtime >= started - 1]
    if not archives:
        raise UserError(f"the kaggle command left no {slug}.zip in {rel(INPUT_DIR)}/. Check its message above.")
    for archive in archives:
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            z.extractall(INPUT_DIR)  # extractall drops '..' and leading '/', so files stay inside data/input
        print(f"unzipped {archive.name}: {len(names)} files into {rel(INPUT_DIR)}/")
        for name in names[:20]:
            print(f"  {name}")
        if not args.keep_zip:
            archive.unlink()  # the files are unzipped; the archive would only double the disk space
    return 0


def submit(args):
    if args.kernel or args.version:
        return submit_kernel(args, lambda: kaggle_username(args), lambda: competition_slug(args))
    if not args.run:
        raise UserError("submit what? Give a run (submit exp001/run002), a blend (submit blend001), "
                        "or a code-competition notebook (submit --kernel OWNER/SLUG --version N).")
    name = parse_blend(args.run)
    if name:  # a blend of runs: its message names the blend and the runs it mixes
        folder, summary, first_run = complete_blend(name)
        check_submission(folder, config_dir=first_run)
        message = blend_message(name, summary)
    else:
        exp, run = parse_run(args.run)
        folder, status = complete_run(exp, run)
        check_submission(folder)
        message = f"{exp}/{run} cv={status['cv']:.5f}"
    message += f" {args.message}" if args.message else ""
    slug = competition_slug(args)
    command = ["kaggle", "competitions", "submit", slug, "-f", rel(folder / "submission.csv"), "-m", message]
    return send_submission(command, args.dry_run, "Fetch the public score later: python scripts/kaggle_cli.py "
                                                  "submissions && python scripts/leaderboard.py")


def submissions(args):
    fresh, merged = save_submissions(competition_slug(args))
    print(f"{len(fresh)} submissions from Kaggle, {len(merged)} in {rel(SUBMISSIONS_CSV)}; "
          "see them next to CV: python scripts/leaderboard.py")
    return 0


def package(args):
    blend = parse_blend(args.target)
    if blend:  # every run of the blend, its blend.json and predict_blend.py
        _, summary, _ = complete_blend(blend)
        slug, title = dataset_names(args, blend, None)
        user = kaggle_username(args)
        print(f"packaging {blend} ({', '.join(summary['runs'])}) into {rel(DATASETS_DIR / slug)}/ ...", flush=True)
        folder = build_blend_dataset(DATASETS_DIR / slug, blend, summary, f"{user}/{slug}", title)
        if args.onnx or args.openvino:  # its image and audio runs as ONNX; its tabular runs keep their own models
            export_runs(folder, blend_exports(folder, summary["runs"]), args.openvino)
        notes = args.message or f"{blend} {' '.join(summary['runs'])}"
    else:
        exp, run = parse_run(args.target, need_run=False)
        code_dir = ROOT / "exp" / exp
        if not code_dir.is_dir():
            raise UserError(f"{rel(code_dir)}: no such experiment.")
        records = package_records(exp, run)
        slug, title = dataset_names(args, exp, run)
        user = kaggle_username(args)
        print(f"packaging {exp} ({', '.join(records)}): code and records into {rel(DATASETS_DIR / slug)}/ ...",
              flush=True)
        folder = build_dataset(DATASETS_DIR / slug, code_dir, exp, records, f"{user}/{slug}", title)
        if args.onnx or args.openvino:  # each fold also as ONNX, checked against PyTorch: the notebook's, on the CPU
            export_runs(folder, {f"{exp}/{run}": folder / run for run in records}, args.openvino)
        notes = args.message or f"{exp} {' '.join(records)}"

    if args.to == "models":  # a version of a Kaggle Model instead of a dataset (kaggle_models.py)
        return package_as_model(folder, title, args.message, args.version, args.upload)
    if args.version:
        command = ["kaggle", "datasets", "version", "-p", rel(folder), "-m", notes, "--dir-mode", "zip"]
    else:
        command = ["kaggle", "datasets", "create", "-p", rel(folder), "--dir-mode", "zip"]
    if not args.upload:
        what = "a new version" if args.version else "a new private dataset (the first time; later add --version)"
        print(f"upload it as {what} from the project root with:\n{shlex.join(command)}\n(or add --upload)")
        return 0
    printed = run_kaggle_echoed(command)
    if "creation error" in printed:
        retry = ("upload a new version instead: add --version" if "already in use" in printed and not args.version
                 else "check the message above")
        raise UserError(f"Kaggle refused the dataset ({printed.strip().splitlines()[-1]}). Fix: {retry}.")
    return 0


def notebook(args):
    built = prepare_notebook(args)
    if not args.push:
        print("push it (after uploading the dataset) from the project root with:\n"
              f"{shlex.join(push_command(built['folder']))}\n(or add --push; submit-notebook pushes it and submits)")
        return 0
    version, _, _ = push_notebook(built, args.force)
    print(f"when this version has run on Kaggle, submit it with:\npython scripts/kaggle_cli.py submit "
          f"--kernel {built['kernel']} --version {version or 'N'}")
    return 0


def submit_notebook(args):
    return push_to_score(args, prepare_notebook)


def prepare_notebook(args):
    """Build the notebook folder of a packaged run or blend; give what push_notebook and push_to_score need."""
    blend = parse_blend(args.target)
    if blend:  # the dataset's predict_blend.py predicts every run and combines them
        record, summary, config_dir = complete_blend(blend)
        records = [RECORDS_ROOT / run for run in summary["runs"]]  # each run's base model is an input of its own
        name, message = blend, blend_message(blend, summary)
        slug, _ = dataset_names(args, blend, None)
    else:
        exp, run = parse_run(args.target)
        config_dir, status = complete_run(exp, run)
        record, cv = config_dir, status.get("cv")
        name, message = f"{exp}/{run}", f"{exp}/{run} cv={cv:.5f}" if isinstance(cv, (int, float)) else f"{exp}/{run}"
        slug, _ = dataset_names(args, exp, run)
    dataset = DATASETS_DIR / slug
    packaged = read_json_file(dataset / PACKAGE_FILE)
    holds = packaged.get("blend") == blend if blend else run in packaged.get("runs", [])
    if not holds:
        raise UserError(f"{rel(dataset)}/ does not hold {name}: the notebook predicts from that dataset. "
                        f"Fix: python scripts/kaggle_cli.py package {name} --upload"
                        + (f" --slug {slug}" if args.slug else "") + ", then run this again.")
    dataset_id = read_json_file(dataset / "dataset-metadata.json")["id"]
    user = args.user or dataset_id.split("/")[0]
    competition = competition_slug(args)
    # A blend's notebook shares its dataset's slug (notebooks and datasets have separate names on Kaggle).
    kernel_slug = args.kernel_slug or (slug if blend else f"{slug[: 50 - len(run) - 1].rstrip('-')}-{run}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{3,48}[a-z0-9]", kernel_slug):
        raise UserError(f"notebook slug {kernel_slug!r}: use 5-50 lowercase letters, digits and '-', no '-' at "
                        "either end. Fix: pass --kernel-slug.")
    data = (yaml.safe_load((config_dir / "config.yml").read_text(encoding="utf-8")) or {}).get("data") or {}
    # package --onnx: ONNX Runtime on the CPU (a blend: the runs it exported; predict_blend.py --onnx)
    onnx = bool(packaged.get("onnx")) if blend else run in packaged.get("onnx", [])
    runtime = {"onnx": onnx, "openvino": onnx and packaged.get("onnx_runtime") == "openvino"}  # --onnx --openvino
    predicts = {"script": "scripts/predict_blend.py", "blend": blend, **runtime} if blend else {
        "script": f"code/{exp}/predict.py", "run_dir": run, **runtime}
    # a deep-learning run's on a GPU unless project.yml's submit.device says otherwise, or it predicts with ONNX
    gpu = notebook_gpu(args.gpu, config_dir) and not (onnx and not args.gpu)
    folder = build_notebook(
        # a title that slugifies to the id
        NOTEBOOKS_DIR / kernel_slug, kernel_id=f"{user}/{kernel_slug}", title=kernel_slug,
        competition=competition, dataset_id=dataset_id, name=name, predicts=predicts, gpu=gpu,
        package_file=PACKAGE_FILE, test_file=test_input(data), server=args.server,
        inputs=with_package_model(dataset, model_inputs(*(records if blend else [config_dir]))),  # package --to models'
        sample_file=data.get("sample_submission", "sample_submission.csv"),
        built_from={"message": message, "dataset": dataset_id})
    print(f"notebook folder: {rel(folder)}/ (id {user}/{kernel_slug}; dataset {dataset_id}; internet off; "
          f"{'GPU' if gpu else 'CPU'}{'; OpenVINO' if runtime['openvino'] else '; ONNX Runtime' if onnx else ''})")
    # "probe": a run's or blend's last time probe that says it will not fit is not pushed (unless --force)
    return {"folder": folder, "kernel": f"{user}/{kernel_slug}", "target": name, "gpu": gpu, "record": record,
            "probe": name}


# ---------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{download,submit,submissions,package,notebook,submit-notebook,probe}")

    def add(name, func, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--competition", help="competition slug (default: competition in project.yml)")
        sub.set_defaults(func=func)
        return sub

    sub = add("download", download, "download the competition's files into data/input/ and unzip them")
    sub.add_argument("--force", action="store_true", help="download again even when the archive is up to date")
    sub.add_argument("--keep-zip", action="store_true", help="keep the downloaded archive after unzipping it")

    sub = add("submit", submit,
              "check a run's submission.csv and submit it, with 'expNNN/runNNN cv=...' as its message")
    sub.add_argument("run", nargs="?",
                     help="the run to submit, e.g. exp001/run002, or a blend, e.g. blend001 (scripts/blend.py)")
    sub.add_argument("-m", "--message", help="text added after 'expNNN/runNNN cv=...'")
    sub.add_argument("--dry-run", action="store_true", help="check and print the kaggle command, send nothing")
    sub.add_argument("--kernel", metavar="OWNER/SLUG", help="code competition: submit what this notebook writes")
    sub.add_argument("--version", metavar="N",
                     help="code competition: the notebook version (printed by notebook --push)")

    add("submissions", submissions, "save your submissions with their scores to data/output/submissions.csv")

    sub = add("package", package, "build a Kaggle dataset folder with an experiment's code and its runs' models, "
                                   "or with a blend's runs")
    sub.add_argument("target", help="expNNN (every complete run), expNNN/runNNN (one run) or blendNNN (a blend's runs)")
    sub.add_argument("--user", help="your Kaggle user name (default: the one the kaggle command signs in as)")
    sub.add_argument("--slug", help="dataset slug, 6-50 of a-z 0-9 - (default: <competition>-<exp or blend>)")
    sub.add_argument("--title", help="dataset title, 6-50 characters")
    sub.add_argument("--to", choices=("datasets", "models"), default="datasets",
                     help="upload as a dataset (default) or as a version of a Kaggle Model (notebook: model_sources)")
    sub.add_argument("--version", action="store_true", help="upload as a new version of an existing dataset or model")
    sub.add_argument("-m", "--message", help="version notes, with --version")
    sub.add_argument("--upload", action="store_true", help="run the kaggle command instead of printing it")
    sub.add_argument("--onnx", action="store_true", help="image and audio runs (a blend's too): each fold also as "
                                                         "ONNX, checked against PyTorch; the notebook runs it on a CPU")
    sub.add_argument("--openvino", action="store_true", help="--onnx, and OpenVINO's runtime runs it, not ONNX Runtime")

    for name, func, help_text in [
            ("notebook", notebook, "build a code-competition notebook that predicts a packaged run or blend offline "
                                   "on Kaggle"),
            ("submit-notebook", submit_notebook, "push the notebook, wait for it to run, submit that version and "
                                                 "wait for its public score, saved in the record and the leaderboard")]:
        sub = add(name, func, help_text)
        sub.add_argument("target",
                         help="expNNN/runNNN or blendNNN, packaged first with: package expNNN/runNNN (or blendNNN)")
        sub.add_argument("--slug", help="slug of the dataset made by package, when you gave package --slug")
        sub.add_argument("--kernel-slug", help="notebook slug, 5-50 of a-z 0-9 - (default: <dataset slug>-<run>, "
                                               "or the dataset slug for a blend)")
        sub.add_argument("--user", help="the notebook's owner (default: the dataset's owner)")
        sub.add_argument("--gpu", action="store_true", help="run the notebook with a GPU (enable_gpu)")
        sub.add_argument("--server", action="store_true", help="serve predict(batch) to kaggle_evaluation")
        sub.add_argument("--force", action="store_true",
                         help="push even when the run's time probe says it will not fit")
        if name == "notebook":
            sub.add_argument("--push", action="store_true", help="run `kaggle kernels push` instead of printing it")
        else:
            add_score_arguments(sub)  # --accelerator, --no-wait, --resume, ...

    sub = add("probe", probe, "time the notebook's predict.py on samples of the test set here and estimate its "
                              "minutes on the hidden one against submit.time_limit_minutes in project.yml")
    add_probe_arguments(sub)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
