"""The toy relay: a server that answers named endpoints on one end of a pipe, and a client that calls them with a
deadline from the other end.

Kaggle's relay does this over gRPC between two containers; here both ends live in one process, but the data still
crosses as bytes (pickled, as gRPC serializes it), so predict() gets its own copy of each batch, and a late answer
is a failed call whatever the server is still doing.
"""
import multiprocessing
import threading
import traceback


class GatewayError(Exception):
    """The gateway refused the submission: no answer in time, an error in predict(), or a batch of wrong rows."""


class Server:
    """Serves endpoint functions by name, in a thread of its own, from start() until stop()."""

    def __init__(self, *endpoints):
        self.endpoints = {f.__name__: f for f in endpoints}
        self.ours, self.theirs = multiprocessing.Pipe()
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.answer_calls, daemon=True)  # a late predict may still run
        self.thread.start()
        return self.theirs

    def answer_calls(self):
        while True:
            try:
                name, args = self.ours.recv()
            except (EOFError, OSError):
                return
            if name is None:
                return
            if name not in self.endpoints:
                self.ours.send(("error", f"no listener for {name} was registered"))
                continue
            try:
                self.ours.send(("ok", self.endpoints[name](*args)))
            except Exception:
                self.ours.send(("error", traceback.format_exc()))

    def stop(self):
        try:
            self.theirs.send((None, ()))
        except OSError:
            pass


class Client:
    """Calls the server's endpoints; each call must be answered within its deadline."""

    def __init__(self, connection):
        self.connection = connection

    def send(self, name, *args, deadline):
        self.connection.send((name, args))
        if not self.connection.poll(deadline):
            raise GatewayError(f"{name}: no answer within the deadline of {deadline:g} s")
        status, value = self.connection.recv()
        if status != "ok":
            raise GatewayError(f"{name} raised an exception in the inference server:\n{value}")
        return value
