"""Write a file or a folder under a unique hidden name, then rename it into place: readers see all or nothing.

Many processes can share one project (several exp.py, a leaderboard in each, blends); the name is unique
per call, so two writers never write into the same temporary file. The scripts' own copy of what the
experiment's util.py does for run records (scripts never import experiment code).
"""
import os
import socket
from pathlib import Path


def temporary_name(path):
    """Give a hidden name beside `path`, unique to this process, to write into before renaming it into place.

    A fixed name (path.tmp) would be written by two processes at once; the host and pid keep
    processes on different machines that share the folder apart too.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def write_atomically(path, write):
    """Call write(temporary) to write the file, then rename it to `path`; a crash leaves the old file whole."""
    temporary = temporary_name(path)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
