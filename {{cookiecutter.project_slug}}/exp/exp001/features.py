"""Your features: add_features for a row's own features, fit_fold/apply_fold for those learned inside each fold.

`options` is the config's `features:` section: put your switches there (a run adds one with +name,
e.g. `features: {+target_encode: city}`) and read them here.
"""


def add_features(frame, options):
    """Give `frame` with your own feature columns added, each built from its row alone.

    It is called on each file alone: train, test, and, when a finished run predicts a new (hidden)
    test file, that file. So build a row's features from that row (and constants) only, never from
    other rows or from the train file: then a row gets the same features whichever file it comes in.
    New columns become features by themselves (unless listed in data.drop).
    """
    return frame


# ---------------------------------------------------------------- features learned inside each fold
# For what must be learned from train rows without leaking the fold's valid rows: target encoding,
# frequency encoding, a scaler. fit_fold sees only the fold's train rows; apply_fold adds the learned
# columns to that fold's train and valid rows and to test. Each fold's state is saved in the record
# (models/fold<k>_features.json) and used again by predict.py, so a hidden test file gets the same.
# X holds the encoded features (categories as pandas categoricals); y the target as the metric sees it
# (class codes, or the regression target). Example, out-of-fold target encoding of one column:
#
#   def fit_fold(X, y, options):
#       column = options.get("target_encode")
#       if not column:
#           return None
#       means = pd.Series(y, index=X.index).groupby(X[column].astype(str)).mean()
#       return {"column": column, "means": means.to_dict(), "prior": float(y.mean())}
#
#   def apply_fold(X, state, options):
#       encoded = X[state["column"]].astype(str).map(state["means"]).fillna(state["prior"])
#       return X.assign(**{state["column"] + "_te": encoded.astype("float32")})
#
# (with `import pandas as pd` at the top of this file).

def fit_fold(X, y, options):
    """Give what this fold's features learn from its train rows, as JSON-able values, or None for none."""
    return None


def apply_fold(X, state, options):
    """Give X with the columns that fit_fold's `state` describes added (train, valid or test rows)."""
    return X
