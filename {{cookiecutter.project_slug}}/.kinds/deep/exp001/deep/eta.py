"""The time a run has left, for the log: epochs left times the seconds an epoch takes."""


class Eta:
    """Seconds left in a run of `epochs_left` epochs, from the epochs this process has trained."""

    def __init__(self, epochs_left):
        self.left, self.times = epochs_left, []

    def skip(self, epochs):
        """Take off epochs that will not be trained here: done before a stop, or cut by train.patience."""
        self.left -= epochs

    def epoch_done(self, seconds):
        self.times.append(seconds)
        self.left -= 1

    def text(self):
        """Give '~95s left'. A fold's first epoch is often slow (workers start, caches fill): once there are
        others, it is left out of the mean."""
        times = self.times[1:] or self.times
        return f"~{sum(times) / len(times) * max(0, self.left):.0f}s left" if times else "time left unknown"
