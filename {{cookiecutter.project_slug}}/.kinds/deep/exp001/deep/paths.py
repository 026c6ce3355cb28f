"""File paths (images, recordings) that stay inside the data folder: an id like ../../x or an absolute path in a
column is refused before any file is opened (data.allow_outside lists other folders a competition's files may be in)."""
import os

from runner.util import ROOT, DataError, rel


def check_inside(paths, folder, allowed, table, key, pattern):
    """Raise DataError, before any file is opened, for a path that leads out of `folder` (after symlinks): an id like
    ../../x, an absolute path in a column. data.allow_outside lists folders (from the project root) allowed too."""
    roots = [os.path.realpath(root) for root in (folder, *(ROOT / extra for extra in allowed))]
    outside = [(row, path) for row, path in enumerate(paths) if not inside(os.path.realpath(path), roots)]
    if outside:
        listed = "; ".join(f"row {row + 2}: {path}" for row, path in outside[:3])
        raise DataError(f"{len(outside)} path(s) of {table} lead outside {rel(folder)} ({key}: {pattern!r}): "
                        f"{listed}. Fix: the ids and path columns must name files inside that folder; to read files "
                        "from another folder on purpose, list it in data.allow_outside.")


def inside(real, roots):
    return any(real == root or real.startswith(root + os.sep) for root in roots)
