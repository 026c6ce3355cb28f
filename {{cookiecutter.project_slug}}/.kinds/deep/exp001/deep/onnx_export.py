"""Fold models as ONNX for a notebook on the CPU: exported from a run's checkpoints, run by ONNX Runtime.

`kaggle_cli.py package expNNN/runNNN --onnx` calls predict.py --export-onnx DIR, which exports each fold with
export_fold() and checks that ONNX Runtime (OnnxNet) predicts the run's test rows as PyTorch does, within TOLERANCE;
`predict.py --onnx` (the notebook) predicts with OnnxNet in place of the network, through the same infer() loop.
With --openvino (package --onnx --openvino), OpenVINO's runtime runs the same .onnx files instead of ONNX Runtime,
checked against PyTorch in the same way.
The audio front-end (decoding, log-mel) stays in torch beside it: the loader makes the spectrograms either way.
"""
import importlib
import inspect
import os
import warnings

import torch

# 17: ONNX Runtime 1.16, the floor in requirements.txt, runs it, and torch 2.3's exporter writes it (its range ends at
# 18). LayerNormalization, which transformer blocks export to, came in 17.
OPSET = 17
# The largest difference allowed between ONNX Runtime's and PyTorch's predictions (probabilities, or targets in the
# units of train.py's predictions): float32 kernels that add in another order differ by about 1e-6.
TOLERANCE = 1e-4
RUNTIME_NAMES = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}


def export_fold(net, example, path):
    """Write `net` (in eval mode) as ONNX at `path`, its batch size (and image or spectrogram size) left free."""
    net.eval()
    axes = {0: "batch", **({2: "height", 3: "width"} if example.dim() == 4 else {})}
    # torch 2.5+ may export through torch.export (dynamo), which needs onnxscript; torch 2.3's only exporter is the
    # TorchScript one, which every version up to today still has: ask for it by name where the choice exists.
    choice = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # newer torch warns that this exporter is the older of two
            torch.onnx.export(net, (example.float().contiguous(),), str(tmp), input_names=["input"],
                              output_names=["output"], opset_version=OPSET, do_constant_folding=True,
                              dynamic_axes={"input": axes, "output": {0: "batch"}}, **choice)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def import_runtime(name):
    """Give the module of an ONNX runtime (onnxruntime or openvino), or raise DataError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        from runner.util import DataError
        option = "--onnx --openvino" if name == "openvino" else "--onnx"
        raise DataError(f"this run was packaged with {option}, and {name} is not installed here. Fix: pip install "
                        f"{name} (a Kaggle notebook without it: add a dataset holding its wheel and pip install "
                        f"--no-index --find-links it), or package the run without {option}.") from None


class OnnxNet(torch.nn.Module):
    """A fold's ONNX model in ONNX Runtime (or OpenVINO's runtime) on the CPU, called like the PyTorch network it was
    exported from."""

    def __init__(self, path, runtime="onnxruntime"):
        super().__init__()
        module = import_runtime(runtime)
        if runtime == "openvino":
            # float32 as exported: on a CPU with bfloat16 units OpenVINO would otherwise compute in bfloat16, off by
            # 1e-2, not 1e-6
            self.model = module.Core().compile_model(str(path), "CPU", {
                "INFERENCE_NUM_THREADS": torch.get_num_threads(), "INFERENCE_PRECISION_HINT": "f32"})
            return
        options = module.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # as many threads as torch would use here
        self.session = module.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def forward(self, x):
        array = x.detach().cpu().float().contiguous().numpy()
        if hasattr(self, "model"):
            return torch.from_numpy(self.model([array])[0].copy())
        return torch.from_numpy(self.session.run(None, {self.input: array})[0])


def export_and_check(cfg, fold_net, n_splits, dataset, target_stats, out_dir, runtimes=("onnxruntime",)):
    """Export each fold (fold_net(k) gives it) to out_dir/fold<k>.onnx and check that each of `runtimes` (ONNX Runtime,
    and OpenVINO's with --openvino) predicts `dataset` as PyTorch does, within TOLERANCE; write out_dir/onnx_check.json.
    A fold beyond it removes every fold written and raises DataError: a notebook must never ship a model that predicts
    something else."""
    import json

    import numpy as np

    import data as data_io
    import train
    from deep.loader import make_loader
    from runner.util import DataError, log

    cpu = torch.device("cpu")
    example = data_io.to_input(next(iter(make_loader(cfg, dataset, shuffle=False)))[0], cfg, cpu)
    tta, written, differences = data_io.tta_views(cfg), [], {runtime: [] for runtime in runtimes}
    try:
        for k in range(n_splits):
            net, path = fold_net(k), out_dir / f"fold{k}.onnx"
            with torch.no_grad():
                export_fold(net, example, path)
            written.append(path)
            expected = train.infer(cfg, net, dataset, cpu, target_stats, tta)[0]
            for runtime in runtimes:
                got = train.infer(cfg, OnnxNet(path, runtime), dataset, cpu, target_stats, tta)[0]
                differences[runtime].append(float(np.abs(expected - got).max()))
                name = RUNTIME_NAMES[runtime]
                log.info(f"fold {k}: {path.name}, {name} vs PyTorch on {len(dataset):,} test rows: largest "
                         f"difference {differences[runtime][-1]:.2g} (tolerance {TOLERANCE:g})")
                if differences[runtime][-1] > TOLERANCE:
                    raise DataError(f"fold {k}: {name}'s predictions differ from PyTorch's by up to "
                                    f"{differences[runtime][-1]:.3g}, over the tolerance of {TOLERANCE:g}, so no fold "
                                    "is exported. Fix: an operation the exporter gets wrong (look for a warning "
                                    "above), or predict with PyTorch (package without --onnx).")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    ort = differences["onnxruntime"]
    report = {"folds": n_splits, "rows": len(dataset), "max_difference": max(ort), "differences": ort,
              "tolerance": TOLERANCE, "opset": OPSET, "torch": torch.__version__,
              "onnxruntime": import_runtime("onnxruntime").__version__}
    if "openvino" in runtimes:  # checked too: the notebook runs OpenVINO (package --onnx --openvino)
        report["openvino"] = {"version": import_runtime("openvino").__version__,
                              "max_difference": max(differences["openvino"]), "differences": differences["openvino"]}
    (out_dir / "onnx_check.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
