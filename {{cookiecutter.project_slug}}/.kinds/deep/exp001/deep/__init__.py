"""The image lab's plumbing: config checks, folds, the record's files. You rarely need to open it."""
