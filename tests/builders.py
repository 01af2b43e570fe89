"""Small helpers to build ONNX models in tests."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def tensor_info(name, elem=TensorProto.FLOAT, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def make_model(nodes, inputs, outputs, initializers=(), opset=17, ir_version=8, **kw):
    graph = helper.make_graph(nodes, "test", inputs, outputs,
                              initializer=[numpy_helper.from_array(np.asarray(v), n)
                                           for n, v in dict(initializers).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **kw)
    model.ir_version = ir_version
    return model


def single_node_model(op_type, input_arrays: dict, outputs=("y",), opset=17, **attrs):
    """A one-node model whose inputs are ``input_arrays``' names, dtypes and shapes."""
    from ai_engine.core.dtypes import to_onnx

    inputs = [tensor_info(n, to_onnx(a.dtype), list(a.shape)) for n, a in input_arrays.items()]
    node = helper.make_node(op_type, list(input_arrays), list(outputs), **attrs)
    outs = [helper.make_empty_tensor_value_info(o) for o in outputs]
    return make_model([node], inputs, outs, opset=opset)


def one_node_model(op, feeds: dict, outputs, opset: int, attrs: dict, domain: str = "",
                   consts: dict | None = None):
    """A model of one ``op`` node whose inputs are ``feeds``' names, dtypes and shapes, then
    the ``consts`` as initializers.

    A feed named ``""`` is an omitted optional input; outputs are declared by name only
    (onnxruntime rejects an undefined output type).
    """
    from onnx import ValueInfoProto

    consts = consts or {}
    node = helper.make_node(op, list(feeds) + list(consts), list(outputs), domain=domain,
                            **attrs)
    graph = helper.make_graph(
        [node], op,
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for n, a in feeds.items() if n],
        [ValueInfoProto(name=o) for o in outputs],
        initializer=[numpy_helper.from_array(v, n) for n, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, opset)])
    model.ir_version = 8
    return model


def run_ours(model, feeds: dict) -> list:
    """ai-engine's outputs; feeds named ``""`` (omitted optional inputs) are dropped."""
    from ai_engine import InferenceSession

    return InferenceSession(model).run(None, {n: a for n, a in feeds.items() if n})


def run_peer(model, feeds: dict) -> list:
    """onnxruntime's outputs for the same model and feeds (the test skips without it)."""
    import pytest

    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {n: a for n, a in feeds.items() if n})
