"""The text kind's LoRA at the floors (peft, transformers, torch): set up a LoRA run over saved base weights in the
baked project given as argv[1], and after exp.py and predict.py (.ci/lowest_versions_image.sh runs them) check that
predict.py's merged (run001) and unmerged (run002) predictions give back each run's own test predictions.

    python .ci/text_lora_floor.py PROJECT setup     weights beside the example's config, LoRA in config.yml, 2 runs
    python .ci/text_lora_floor.py PROJECT check     compare predict.py's raw outputs with test_pred.csv
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

project, step = Path(sys.argv[1]), sys.argv[2]
if step == "setup":
    import torch
    import yaml
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(0)  # random "pretrained" weights: what matters is that they are read from the folder
    AutoModel.from_config(AutoConfig.from_pretrained(project / "data/input/tiny-bert")).save_pretrained(
        project / "data/input/tiny-bert")
    path = project / "exp/exp001/config.yml"
    cfg = yaml.safe_load(path.read_text())
    cfg["model"].update(pretrained=True, max_length=32,
                        lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["query", "value"], "merge": True})
    cfg["cv"]["n_splits"], cfg["train"]["epochs"] = 2, 2
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    exp = project / "exp/exp001/exp.py"
    code = exp.read_text()
    start, end = code.index("RUNS = ["), code.index("# What --tune samples")
    runs = ["seed: 42", "model:\n  lora:\n    merge: false"]  # run001 merges (the default), run002 keeps apart
    exp.write_text(code[:start] + f"RUNS = {runs!r}\n\n" + code[end:])
else:
    for run in ("run001", "run002"):
        mine = pd.read_csv(project / f"{run}.csv", dtype={"id": str}).set_index("id")
        own = pd.read_csv(project / f"data/output/exp/exp001/{run}/test_pred.csv", dtype={"id": str}).set_index("id")
        columns = [c for c in own.columns if c.startswith("pred")]
        gap = float(np.abs(mine.loc[own.index, columns].to_numpy() - own[columns].to_numpy()).max())
        print(f"    LoRA {run} ({'merged' if run == 'run001' else 'kept apart'}): predict.py within {gap:.1e}")
        assert gap < 1e-5, f"{run}: predict.py's predictions differ from the run's own by {gap}"
