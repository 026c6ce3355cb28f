"""File paths (images, recordings) that stay inside the data folder: an id like ../../x or an absolute path in a
column is refused before any file is opened (data.allow_outside lists other folders a competition's files may be in)."""
import os
from concurrent.futures import ThreadPoolExecutor

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


def read_every_file(read, items, paths, table, noun, key, threads):
    """Give read(item) for every item, read in threads; raise one DataError naming each file that failed, with its row
    in `table`, before any training. read gives (value, problem): problem is None, or why the file cannot be used."""
    with ThreadPoolExecutor(threads) as pool:  # Pillow, libsndfile and the FFT work without the GIL
        results = list(pool.map(read, items))
    bad = [(row, paths[row], problem) for row, (_, problem) in enumerate(results) if problem]
    if bad:
        listed = "; ".join(f"{rel(path)} (row {row + 2} of {table}): {problem}" for row, path, problem in bad[:5])
        more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataError(f"{len(bad)} of {len(items)} {noun} of {table} cannot be used: {listed}{more}. "
                        f"Fix: restore those files, or drop their rows; check {key} and data.dir.")
    return [value for value, _ in results]
