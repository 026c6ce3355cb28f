"""The audio kind's plumbing: decoding recordings (decode.py) and log-mel spectrograms (mel.py)."""
