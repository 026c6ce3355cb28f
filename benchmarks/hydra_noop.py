"""A Hydra app whose task does nothing but write its metrics: Hydra's run management alone.

    python benchmarks/hydra_noop.py -cp <config folder> -cn config -m model.params.num_leaves=range(2,12)

With BENCH_TIME_JSON=<path> set, the seconds spent after the imports are written there.
"""
import json
import os
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig


@hydra.main(version_base=None, config_path=None, config_name=None)
def main(cfg):
    out = Path(HydraConfig.get().runtime.output_dir)
    (out / "metrics.json").write_text(json.dumps({"metric": cfg.metric, "cv": 0.0, "folds": []}), encoding="utf-8")
    return 0.0


if __name__ == "__main__":
    start = time.perf_counter()
    try:
        main()
    finally:
        if os.environ.get("BENCH_TIME_JSON"):
            Path(os.environ["BENCH_TIME_JSON"]).write_text(json.dumps({"seconds": time.perf_counter() - start}))
