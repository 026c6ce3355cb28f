"""The README's Kaggle cell that carries a long run over sessions keeps records and resume state, and leaves out
what processes leave while they work (claims, partial folders of any host), by the runner's one definition."""
import re
import tarfile

from conftest import run_python


def readme_state_cell(project):
    """Give the README's Python cell that saves exp001's state, with its 11.5 h training replaced by nothing."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    cell = next(block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "exp001-state" in block)
    training = re.search(r"^code = subprocess\.call\(.*$", cell, flags=re.M)
    assert training, cell
    return cell.replace(training.group(0), "code = 0")


def test_the_kaggle_state_leaves_out_claims_and_partial_folders_and_keeps_records_and_resume_state(project, tmp_path):
    out = project / "data/output/exp/exp001"
    kept = ["run001/metrics.json", "run002.failed/log.txt", ".run003.resume/progress.json",
            "run004.replaced-20261205-101010/metrics.json"]
    left_out = [".run003.claim/owner.json", ".run003.partial.kaggle-host.1234.a1b2c3d4/oof.csv",
                ".run003.partial.host.with.dots.99.token/log.txt", ".run005.partial/log.txt"]
    for name in kept + left_out:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("x")
    archive = tmp_path / "state.tgz"
    script = project / "save_state.py"
    script.write_text(readme_state_cell(project).replace("/kaggle/working/exp001-state.tgz", str(archive)))

    result = run_python(project, "save_state.py")

    assert result.returncode == 0, result.stdout + result.stderr
    with tarfile.open(archive) as tar:
        members = {m.name for m in tar.getmembers() if m.isfile()}
    assert members == {f"exp001/{name}" for name in kept}
