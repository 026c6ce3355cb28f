"""The modules the commands in scripts/ use, one job each; the commands import them (from helpers import ...).

    project.py              the project's folders, UserError (a problem the user can fix), rel() for short
                            paths, data_dir() (where the competition's files are), read_table() (CSV or Parquet)
    blending.py             a blend's weighted predictions and its submission, for blend.py and predict_blend.py
    atomic_files.py         hidden temporary names to write a file or folder under, renamed into place when whole
    kaggle_project.py       the project as kaggle_cli.py sees it: folders, project.yml, finished runs and blends
    kaggle_auth.py          credentials, your Kaggle user name, running the `kaggle` command
    kaggle_submissions.py   checking a submission against the sample; saving what was sent to submissions.csv
    kaggle_package.py       the folder of a Kaggle dataset: an experiment's code and runs, or a blend's runs
    kaggle_notebook.py      the folder of a code-competition notebook that predicts offline on Kaggle
    leaderboard_records.py  the run records and saved public LB scores, read into leaderboard rows
    leaderboard_tables.py   the leaderboard as a terminal table, Markdown and CSV
    leaderboard_chart.py    the leaderboard chart: each metric's CV for every run in the order they finished
    run_diff.py             two run records compared: config keys, the code in src/, scores per fold, oof correlation
    stale.py                experiments whose config.yml reads data files that are gone or lack their target

Scripts are not copied per experiment, so what two commands need lives here once. Experiments never
import from here: each experiment folder keeps all of its own code.
"""
