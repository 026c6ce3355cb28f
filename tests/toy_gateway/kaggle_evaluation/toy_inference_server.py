"""The toy competition's inference server, in the shape of Kaggle's: ToyInferenceServer(predict), then serve() when
Kaggle reruns the notebook, run_local_gateway(data_paths) otherwise.

On a real rerun, serve() blocks while Kaggle's gateway, in a container of its own, calls predict(); this toy has
no second container, so serve() runs the same gateway on its default paths (the competition's test file).
"""
import os

from kaggle_evaluation.relay import Client, Server
from kaggle_evaluation.toy_gateway import ToyGateway


class ToyInferenceServer:
    def __init__(self, *endpoints):
        self.server = Server(*endpoints)

    def serve(self):
        if os.getenv("KAGGLE_IS_COMPETITION_RERUN") is None:
            raise RuntimeError("serve() is for Kaggle's rerun; call run_local_gateway() to test a notebook")
        self.run_local_gateway()

    def run_local_gateway(self, data_paths=None):
        connection = self.server.start()
        try:
            ToyGateway(data_paths).run(Client(connection))
        finally:
            self.server.stop()
