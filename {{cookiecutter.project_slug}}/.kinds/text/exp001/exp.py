"""Which package a docstring comes from, as a text competition: a tiny BERT from scratch, mean-pooled; describe here
what this experiment tries.

Each snippet in RUNS (just below the imports) is one run: run001, run002, ... in order. A run is
config.yml with its snippet merged in, and writes its record to data/output/exp/<this exp>/runNNN/.
Append new runs at the end: a run that has results keeps its number and its snippet.

    python exp/expNNN/exp.py              train every run that has no result yet
    python exp/expNNN/exp.py --run 2      only this run (also --run run002, --run 1-3)
    python exp/expNNN/exp.py --list       each run with its snippet and status
    python exp/expNNN/exp.py --dry-run    what each run changes; writes nothing
    python exp/expNNN/exp.py --debug      quick smoke test on a sample, under data/output/debug/
    python exp/expNNN/exp.py --force      redo runs that have results (the old record is kept)
    python exp/expNNN/exp.py --jobs 2     two runs at a time on this machine (each gets half the cores)
    python exp/expNNN/exp.py --gpus 0,1   one worker per GPU, each seeing only its own (--gpus all: every GPU)
    python exp/expNNN/exp.py --fresh      start stopped runs from scratch (by default they resume at their epoch)
    python exp/expNNN/exp.py --tune 20    20 Optuna trials over SEARCH, each a run recorded under tune/
    python exp/expNNN/exp.py --promote    append the best trial so far to RUNS, as a normal run
    python exp/expNNN/predict.py run002 --test PATH --out PATH    another test file, from a finished run's record

Start it as many times as you like (shells, GPUs, a Slurm array over a shared folder): each process
claims the next run that is neither done nor running, so every run is trained once.
The machinery behind these options is in runner/ (you rarely need to open it).
"""
import runner

# What this experiment tries: one YAML snippet per run (run001, run002, ...), merged over config.yml.
# Append new runs at the end; never insert, reorder or edit one that has results.
RUNS = [
    """
    model:
      max_length: 32
    dataset:
      batch_size: 32
    """,
    """
    model:
      max_length: 96  # longer texts read whole, so fewer of them per batch (on a GPU: what fits in its memory)
    dataset:
      batch_size: 16
    """,
]

# What --tune samples, merged over config.yml like a snippet: int(low, high) and float(low, high), each with an
# optional ", log"; choice(a, b, c); a plain value is set in every trial. Hopeless trials stop after a fold.
SEARCH = """
train:
  lr: float(0.0005, 0.005, log)
  layer_decay: choice(0.8, 1.0)
augment:
  token_dropout: choice(0.0, 0.1)
"""

if __name__ == "__main__":
    runner.main(RUNS)
