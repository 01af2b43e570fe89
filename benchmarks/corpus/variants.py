"""Reduced-precision twins of a float32 corpus model: int8 QDQ, int8 dynamic, float16.

- int8 QDQ: onnxruntime's ``quantize_static`` in QDQ format (QuantizeLinear/DequantizeLinear
  pairs around float ops), calibrated on random inputs shaped like the benchmark's feeds;
- int8 dynamic: ``quantize_dynamic`` (int8 weights, activations quantized at run time:
  DynamicQuantizeLinear + MatMulInteger/ConvInteger);
- float16: onnxruntime's ``transformers.float16.convert_float_to_float16`` with float32 inputs
  and outputs kept (Casts at the boundary), so the twin takes the same feeds. (onnxconverter-
  common's converter of the same name left BERT ill-typed: a Cast kept ``to=float`` where its
  consumers had become float16, and the pooler's Gemm mixed float and float16.)
"""

from __future__ import annotations

import os

import onnx


class _RandomReader:
    """Calibration data: a few batches of the benchmark's own random feeds."""

    def __init__(self, make_feeds, count=8):
        self._feeds = iter([make_feeds(1, seed) for seed in range(count)])

    def get_next(self):
        return next(self._feeds, None)


def build_qdq(float_path: str, path: str, make_feeds, per_channel: bool) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    tmp = path + ".tmp"
    quantize_static(float_path, tmp, _RandomReader(make_feeds), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=per_channel)
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)


def build_dynamic(float_path: str, path: str, weight_type: str = "QInt8") -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = path + ".tmp"
    quantize_dynamic(float_path, tmp, weight_type=getattr(QuantType, weight_type))
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)


def build_float16(float_path: str, path: str) -> None:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(float_path), keep_io_types=True)
    _sort_nodes(model.graph)
    onnx.checker.check_model(model)
    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)



def _sort_nodes(graph: onnx.GraphProto) -> None:
    """Put the nodes in topological order, as ONNX requires: the converter appends the Casts
    of the graph inputs after the nodes that consume them."""
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise ValueError("float16 graph has a cycle or an input nothing produces")
        for node in ready:
            available.update(node.output)
        ordered += ready
        pending = [n for n in pending if n not in ready]
    nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in ordered]
    del graph.node[:]
    graph.node.extend(nodes)
