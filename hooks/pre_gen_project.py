"""Refuse a project name or competition slug that would break the project, before anything is written.

Standard library only: cookiecutter often runs from a pipx/uvx environment without numpy.
"""
import re
import sys

# Values arrive as JSON literals, so a quote or backslash in a name cannot break this file.
# Until cookiecutter renders this file, ruff reads each Jinja expression below as a set of undefined names (F821).
PROJECT_NAME = {{ cookiecutter.project_name | tojson }}  # noqa: F821
PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}  # noqa: F821
COMPETITION = {{ cookiecutter.competition | tojson }}  # noqa: F821

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
COMPETITION_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
# cookiecutter.json falls back to this folder name when project_name slugifies to nothing ('!!!'):
# an empty name would make cookiecutter write into the output folder itself.
NO_SLUG = "-"
# A folder name may have 255 bytes; the project's own paths (data/output/exp/exp001/run001.replaced-...) go deeper.
# cookiecutter.json cuts the slug of a long project_name at 120 characters: cookiecutter creates the folder before
# this hook runs, and a name over 255 bytes would fail there with a traceback instead of this message.
MAX_SLUG = 100


def main():
    problems = []
    if PROJECT_SLUG == NO_SLUG and not any(c.isalnum() for c in PROJECT_NAME):
        problems.append(
            f"project_name {PROJECT_NAME!r} has no letter or digit to make a folder name from: use a name with "
            "letters or digits (for example project_name=\"Titanic\"), or give the folder name itself "
            "(project_slug=titanic)."
        )
    elif not SLUG.fullmatch(PROJECT_SLUG):
        problems.append(
            f"project_slug {PROJECT_SLUG!r} is not a valid folder name: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit (for example my-competition)."
        )
    elif len(PROJECT_SLUG) > MAX_SLUG:
        problems.append(
            f"project_name {PROJECT_NAME[:40]!r}... makes a folder name longer than {MAX_SLUG} characters, too long "
            "for a project folder: use a shorter project_name, or give a short folder name "
            "(project_slug=my-competition)."
        )
    if not COMPETITION_SLUG.fullmatch(COMPETITION):
        problems.append(
            f"competition {COMPETITION!r} is not a Kaggle competition slug: use the lowercase letters, digits and '-' "
            "after kaggle.com/competitions/ in the competition's address (for example titanic)."
        )
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
