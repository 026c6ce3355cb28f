"""The model families that model.py (beside this folder) dispatches to: one module each, the same few calls.

    lightgbm.py  xgboost.py  catboost.py  sklearn.py (scikit-learn models by name)
    thread_count.py  the run's thread count, chosen and logged
    progress.py      the boosting libraries' callbacks that report a long fold's progress

To add a family: write a module here with the calls model.py's docstring lists, and add its line to FAMILIES there.
"""
