"""An exact oracle for quantized models: onnxruntime running the model's integer ops as
float64 arithmetic, with its graph optimizer off.

onnxruntime is not an exact oracle for quantized models on every CPU. Its u8 x s8 kernels on
x86 without VNNI (AVX2-only machines, such as this project's AMD EPYCs) multiply with
``vpmaddubsw``, which adds two u8*s8 products into a saturating int16: 255*127 + 255*127
clips to 32767 (onnxruntime's quantization docs describe this and recommend ``reduce_range``
on such CPUs). Measured on an AVX2 EPYC: on ``bert_qdynamic`` onnxruntime's logits differ from
the exact result by up to 0.39 (13% of their range) while ai-engine's differ by 7e-7; on
``mobilenetv2_qdq`` (which onnxruntime fuses into QLinearConv) by 0.017 against 0.

The exact result is computed by onnxruntime itself on a rewritten model:
- ``MatMulInteger(A, B, a_zero, b_zero)`` becomes ``Cast(MatMul(double(A) - double(a_zero),
  double(B) - double(b_zero)), int32)``: every product and sum of 8-bit integers is exact in
  float64 (|sum| < 2^53 for any realistic K);
- ``ConvInteger`` is left alone: onnxruntime's CPU kernel takes only u8 x u8, which it
  widens to int16 before multiplying, and so is exact (it has no float64 Conv to rewrite to);
- QDQ graphs (QuantizeLinear / DequantizeLinear around float ops) stay as they are: with
  ``ORT_DISABLE_ALL`` onnxruntime does not fuse them into its integer kernels and computes
  the float ops in float32, which is the semantics the model's graph states.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

_REWRITTEN = {"MatMulInteger": "MatMul"}


def _as_float64(node, new_nodes):
    """The float64 twin of one MatMulInteger node."""
    base = (node.name or node.output[0]).replace("/", "_")
    operands = []
    for i, (x, zero) in enumerate(((node.input[0], node.input[2] if len(node.input) > 2 else ""),
                                   (node.input[1], node.input[3] if len(node.input) > 3 else ""))):
        name = f"{base}_exact{i}"
        new_nodes.append(helper.make_node("Cast", [x], [name], to=TensorProto.DOUBLE))
        if zero:
            new_nodes.append(helper.make_node("Cast", [zero], [f"{name}_zp"],
                                              to=TensorProto.DOUBLE))
            if i == 0:
                # a per-row zero point of A is 1-D (M,): make it a column
                new_nodes.append(helper.make_node(
                    "Constant", [], [f"{base}_column"],
                    value=helper.make_tensor("c", TensorProto.INT64, [2], [-1, 1])))
                new_nodes.append(helper.make_node("Reshape", [f"{name}_zp", f"{base}_column"],
                                                  [f"{name}_zpc"]))
                zero_name = f"{name}_zpc"
            else:
                zero_name = f"{name}_zp"
            new_nodes.append(helper.make_node("Sub", [name, zero_name], [f"{name}_c"]))
            name = f"{name}_c"
        operands.append(name)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    new_nodes.append(helper.make_node(_REWRITTEN[node.op_type], operands, [f"{base}_f64"],
                                      **attrs))
    new_nodes.append(helper.make_node("Cast", [f"{base}_f64"], list(node.output),
                                      to=TensorProto.INT32))


def exact_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose integer GEMMs compute in float64."""
    exact = onnx.ModelProto()
    exact.CopyFrom(model)
    nodes = []
    for node in exact.graph.node:
        if node.op_type in _REWRITTEN and node.domain in ("", "ai.onnx"):
            _as_float64(node, nodes)
        else:
            nodes.append(node)
    del exact.graph.node[:]
    exact.graph.node.extend(nodes)
    return exact


def is_quantized(model: onnx.ModelProto) -> bool:
    quantized = {"MatMulInteger", "ConvInteger", "QuantizeLinear", "DequantizeLinear",
                 "QLinearConv", "QLinearMatMul", "DynamicQuantizeLinear"}
    return any(n.op_type in quantized for n in model.graph.node)


def exact_session(model: onnx.ModelProto):
    """An onnxruntime session that computes ``model`` exactly (see the module docstring)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(exact_model(model).SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
