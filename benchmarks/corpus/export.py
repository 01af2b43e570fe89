"""Export helpers shared by the corpus builders: torch -> ONNX, atomically, with random weights.

Every model in the corpus is an architecture written here in plain torch with random weights
(nothing is downloaded). The legacy TorchScript exporter (``dynamo=False``) is used because it
needs no extra packages and folds BatchNorm into the convolutions in eval mode, as the
exports users meet in the wild do.
"""

from __future__ import annotations

import os
import warnings

import onnx


def randomize_norms(module, seed: int = 0) -> None:
    """Give every BatchNorm random running statistics and affine parameters.

    Fresh BatchNorms are the identity (mean 0, var 1, scale 1, shift 0); random statistics make
    the folded convolution weights differ from the raw ones, as in a trained model.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)


def export(module, example: tuple, path: str, input_names: list[str], output_names: list[str],
           batch_axes: dict[str, int] | None = None, opset: int = 17) -> None:
    """Export ``module`` (in eval mode) to ``path``; ``batch_axes`` names the inputs and outputs
    whose given axis is the symbolic ``batch`` dimension."""
    import torch

    module.eval()
    dynamic = {name: {axis: "batch"} for name, axis in (batch_axes or {}).items()}
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(module, example, tmp, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic or None,
                          opset_version=opset, dynamo=False, do_constant_folding=True)
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)


def save(model: onnx.ModelProto, path: str) -> None:
    """Check and write a model built or rewritten with the onnx API, atomically."""
    onnx.checker.check_model(model)
    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)
