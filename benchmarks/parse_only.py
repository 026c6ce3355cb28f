"""Time reading an experiment's data and nothing else; print the seconds as JSON.

    python benchmarks/parse_only.py <project>/exp/exp001

"read_csv": pandas.read_csv of train, test and sample submission, as a hand-written script does.
"load_data": the experiment's own data.load_data (read, check, choose features, convert).
"""
import json
import sys
import time
from pathlib import Path


def main():
    exp_dir = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(exp_dir))
    import pandas as pd

    import data
    from runner import util
    from runner.config import load_config

    config = load_config(exp_dir / "config.yml")
    spec = config["data"]
    folder = util.ROOT / spec["dir"]
    start = time.perf_counter()
    for name in ("train", "test", "sample_submission"):
        pd.read_csv(folder / spec[name])
    middle = time.perf_counter()
    data.load_data(config)
    print(json.dumps({"read_csv": round(middle - start, 3), "load_data": round(time.perf_counter() - middle, 3)}))


if __name__ == "__main__":
    main()
