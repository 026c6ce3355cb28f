"""The tabular lab's plumbing, which you rarely need to open: it serves train.py, data.py and predict.py.

    folds.py       which fold each train row validates in, made once and shared by every run with the same CV
    encoding.py    features and target as the models read them, learned from train alone (features.json)
    submission.py  prediction frames, and the submission filled in from the sample and checked against it
    outputs.py     a run's oof.csv, test_pred.csv, submission.csv, importance and metrics.json
    checkpoints.py each finished fold, saved so that a stopped run goes on at its next fold
    advice.py      warnings a finished run's numbers give (seeds, rounds, cv.group, rmsle), also in the summary
    names.py       lists of names in messages, quoted when a name holds a comma
    checks.py      config values no run could train with, reported before any run starts
"""
