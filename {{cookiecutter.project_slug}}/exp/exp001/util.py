"""The lab's own helpers, yours to call and change: seeding, timing a step, and the record's CSV writer.

Every kind of experiment has this same file. The run machinery's helpers (paths, logging, the errors shown
as messages) are in runner/util.py, where the lab imports `log`, `ConfigError` and `DataError` from.
"""
import contextlib
import random
import re
import sys
import time

import numpy as np


def seed_everything(seed):
    """Seed Python's, numpy's and (when the lab uses it) PyTorch's generators: the same run gives the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")  # only a lab that imported it seeds it: importing torch costs seconds
    if torch is not None:
        torch.manual_seed(seed)


@contextlib.contextmanager
def timer():
    """Give a dict that holds, once the with-block ends, the seconds it took: `with timer() as took: ...`."""
    took = {}
    started = time.perf_counter()
    try:
        yield took
    finally:
        took["seconds"] = round(time.perf_counter() - started, 3)


def write_csv(frame, path):
    """Write frame as CSV like pandas does (no index, no quotes where none are needed), but faster.

    pyarrow writes numbers several times faster than pandas (the same values read back; 1e-05
    may be written 0.00001, 3.0 as 3). True and False are written as pandas writes them, not as
    pyarrow's true and false, so a boolean label submits as the sample spells it. Text that
    would need quotes (a comma, a quote, a line break) goes through pandas instead, so quoting
    is always pandas' own.
    """
    if len(frame) < 10_000:  # small files: pandas is quick enough, and importing pyarrow is not free
        frame.to_csv(path, index=False)
        return
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv

    special = r'[,"\r\n]'
    table = pa.Table.from_pandas(frame, preserve_index=False)
    needs_quotes = any(re.search(special, str(c)) for c in frame.columns) or any(
        pc.any(pc.match_substring_regex(column.cast(pa.string()), special)).as_py()
        for column in table.columns if pa.types.is_string(column.type) or pa.types.is_large_string(column.type))
    if needs_quotes:
        frame.to_csv(path, index=False)
        return
    for j, column in enumerate(table.columns):
        if pa.types.is_boolean(column.type):
            table = table.set_column(j, table.field(j).name, pc.if_else(column, "True", "False"))
    with open(path, "wb") as f:
        f.write((",".join(map(str, frame.columns)) + "\n").encode())  # pyarrow would quote the header
        pa.csv.write_csv(table, f, pa.csv.WriteOptions(include_header=False, quoting_style="none"))
