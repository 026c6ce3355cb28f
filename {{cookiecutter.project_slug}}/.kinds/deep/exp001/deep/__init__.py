"""The deep-learning lab's plumbing, the same for every DL kind (image, audio): config checks, folds, batches,
checkpoints and resume, the record's files. You rarely need to open it."""
