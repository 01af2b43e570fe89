"""One-node com.microsoft models run by ai-engine and by onnxruntime (the oracle)."""

from __future__ import annotations

import numpy as np
from builders import run_ours, run_peer
from onnx import TensorProto, ValueInfoProto, helper


def contrib_model(op, inputs, outputs, attrs=None, domain="com.microsoft", out_types=None):
    """``inputs``: (name, array or None) in the op's input order (None: omitted optional);
    ``outputs``: names ("" skips a position); ``out_types``: name -> TensorProto type for
    outputs onnxruntime cannot infer (float by default where given)."""
    out_types = out_types or {}
    node = helper.make_node(op, [n if a is not None else "" for n, a in inputs],
                            list(outputs), domain=domain, **(attrs or {}))
    graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype),
                                                  a.shape) for n, a in inputs if a is not None]
    graph_outputs = [helper.make_tensor_value_info(o, out_types[o], None) if o in out_types
                     else ValueInfoProto(name=o) for o in outputs if o]
    graph = helper.make_graph([node], op, graph_inputs, graph_outputs)
    opsets = [helper.make_opsetid("", 17)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def feeds_of(inputs):
    return {n: a for n, a in inputs if a is not None}


def ours(op, inputs, outputs, attrs=None, **kw):
    return run_ours(contrib_model(op, inputs, outputs, attrs, **kw), feeds_of(inputs))


def peer(op, inputs, outputs, attrs=None, **kw):
    return run_peer(contrib_model(op, inputs, outputs, attrs, **kw), feeds_of(inputs))


def assert_close(got, want, rtol=1e-4, atol=1e-5):
    """Output by output, to 1e-4 relative (plus a small absolute floor near zero)."""
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"output {i}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"output {i}: dtype {g.dtype} != {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"output {i}")


def check_against_peer(op, inputs, outputs, attrs=None, rtol=1e-4, atol=1e-5, **kw):
    """Run both and compare; returns ai-engine's outputs."""
    got = ours(op, inputs, outputs, attrs, **kw)
    assert_close(got, peer(op, inputs, outputs, attrs, **kw), rtol, atol)
    return got


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(r, *shape, dtype=np.float32):
    return r.standard_normal(shape).astype(dtype)


def softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def float_out(*names):
    return {n: TensorProto.FLOAT for n in names}


