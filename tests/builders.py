"""The one place tests build ONNX models.

Multi-node graphs: :func:`make_model` and :func:`tensor_info`.

One-node operator tests: :func:`run_op` (ai-engine's outputs), :func:`run_op_peer`
(onnxruntime's, the oracle; the test skips without it) and :func:`check_op`, which builds the
model once, runs ai-engine and compares with ``expected`` and/or onnxruntime through
:func:`assert_outputs`: output count first, then per output dtype, shape and values.

The positional inputs of an op become the node's inputs in order: an array (or NumPy scalar)
is a graph input named ``x<i>`` declared with its dtype and shape, a list of arrays a tensor
sequence, ``None`` an omitted optional input (name ``""``), ``const(array)`` an initializer.
``outputs`` is a count (outputs ``y0``, ``y1``, ...) or a list of names where ``""`` skips an
optional output; outputs are declared by name only, their types left to the engine, unless
``out_types`` (one TensorProto element type or None per entry of ``outputs``) gives them (for
ops whose output type onnxruntime cannot infer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto, ValueInfoProto, helper, numpy_helper


def tensor_info(name, elem=TensorProto.FLOAT, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def make_model(nodes, inputs, outputs, initializers=(), opset=17, ir_version=8, **kw):
    graph = helper.make_graph(nodes, "test", inputs, outputs,
                              initializer=[numpy_helper.from_array(np.asarray(v), n)
                                           for n, v in dict(initializers).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **kw)
    model.ir_version = ir_version
    return model


@dataclass(frozen=True)
class const:  # lower case: it reads as a marker at the call site, run_op("Op", x, const(w))
    """An op input stored in the model as an initializer instead of fed at run time."""

    value: np.ndarray


def _value_info(name, value):
    if isinstance(value, list):
        elem = helper.np_dtype_to_tensor_dtype(value[0].dtype) if value else TensorProto.FLOAT
        return helper.make_tensor_sequence_value_info(name, elem, None)
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype),
                                         value.shape)


def _opset_imports(opset, domain):
    versions = opset if isinstance(opset, dict) else {domain: opset}
    return [helper.make_opsetid(d, v) for d, v in versions.items()]


def one_node_model(op, *inputs, outputs=1, opset, domain="", scope=None, out_types=None,
                   **attrs):
    """A model of one ``op`` node over ``inputs`` (see the module docstring) and its feeds.

    ``opset`` is the version of the node's domain, or a dict domain -> version to import
    several. ``scope`` maps more graph input names to arrays that no node input takes (values
    a subgraph attribute reads from the outer scope). Returns ``(model, feeds)``.
    """
    names, feeds, initializers = [], {}, []
    for i, value in enumerate(inputs):
        if value is None:
            names.append("")
        elif isinstance(value, const):
            names.append(f"c{i}")
            initializers.append(numpy_helper.from_array(np.asarray(value.value), f"c{i}"))
        else:
            names.append(f"x{i}")
            feeds[f"x{i}"] = value if isinstance(value, list) else np.asarray(value)
    feeds.update(scope or {})
    outs = [f"y{i}" for i in range(outputs)] if isinstance(outputs, int) else list(outputs)
    types = list(out_types) if out_types is not None else [None] * len(outs)
    assert len(types) == len(outs), f"{len(types)} out_types for {len(outs)} outputs"
    node = helper.make_node(op, names, outs, domain=domain, **attrs)
    declared = [ValueInfoProto(name=o) if t is None else helper.make_tensor_value_info(o, t, None)
                for o, t in zip(outs, types) if o]
    graph = helper.make_graph([node], op, [_value_info(n, v) for n, v in feeds.items()],
                              declared, initializer=initializers)
    return helper.make_model(graph, opset_imports=_opset_imports(opset, domain)), feeds


def run_ours(model, feeds: dict) -> list:
    """ai-engine's outputs of ``model``."""
    from ai_engine import InferenceSession

    return InferenceSession(model).run(None, feeds)


def run_peer(model, feeds: dict) -> list:
    """onnxruntime's outputs for the same model and feeds (the test skips without it)."""
    import pytest

    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _checked_count(model, results):
    declared = len(model.graph.output)
    assert len(results) == declared, f"{len(results)} outputs for {declared} declared"
    return results


def run_op(op, *inputs, **kw) -> list:
    """ai-engine's outputs of a one-node model (arguments as :func:`one_node_model`)."""
    model, feeds = one_node_model(op, *inputs, **kw)
    return _checked_count(model, run_ours(model, feeds))


def run_op_peer(op, *inputs, peer_widen=(), **kw) -> list:
    """onnxruntime's outputs of the same one-node model; see :func:`check_op` for
    ``peer_widen``."""
    model, feeds = one_node_model(op, *inputs, **kw)
    return _checked_count(model, _run_peer_widening(op, inputs, peer_widen, kw, model, feeds))


def _run_peer_widening(op, inputs, widen, kw, model, feeds):
    import pytest

    ort = pytest.importorskip("onnxruntime")
    try:
        return run_peer(model, feeds)
    except ort.capi.onnxruntime_pybind11_state.NotImplemented:
        if not widen:
            raise
    dtype = np.asarray(inputs[widen[0]]).dtype
    for wide in (np.float64, np.float32):  # float32: where ORT lacks float64 too
        cast = [np.asarray(a).astype(wide) if i in widen else a for i, a in enumerate(inputs)]
        model, feeds = one_node_model(op, *cast, **kw)
        try:
            return [p.astype(dtype) if p.dtype == wide else p for p in run_peer(model, feeds)]
        except ort.capi.onnxruntime_pybind11_state.NotImplemented:
            if wide == np.float32:
                raise


def assert_outputs(got, want, rtol=0.0, atol=0.0, what="expected"):
    """``got`` matches ``want`` (lists of outputs): count, then each one's dtype, shape and
    values; exact (NaN equal to NaN) when both tolerances are 0, else within them in float64.
    ``None`` (an empty optional) matches only ``None``."""
    assert len(got) == len(want), f"{len(got)} outputs, {what} {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        if w is None or g is None:
            assert g is None and w is None, f"output {i}: {g!r} vs {what} {w!r}"
            continue
        if isinstance(w, list):
            assert_outputs(g, w, rtol, atol, what)
            continue
        w = np.asarray(w)
        assert g.dtype == w.dtype, f"output {i}: dtype {g.dtype}, {what} {w.dtype}"
        assert g.shape == w.shape, f"output {i}: shape {g.shape}, {what} {w.shape}"
        if rtol == 0 and atol == 0 or g.dtype.kind in "OUSb":
            np.testing.assert_array_equal(g, w, err_msg=f"output {i} vs {what}")
        else:
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                                       atol=atol, err_msg=f"output {i} vs {what}")


def check_op(op, *inputs, expected=None, peer=False, rtol=0.0, atol=0.0, peer_widen=(),
             **kw) -> list:
    """Run a one-node model through ai-engine and check its outputs against ``expected`` (an
    array, a list of them, or a callable taking the input values and returning either) and,
    with ``peer=True``, against onnxruntime on the same model (see :func:`assert_outputs`).

    ``peer_widen`` lists the indices of data inputs of a data-movement op: where onnxruntime
    has no kernel for their dtype, it runs on them cast to float64 (or float32 where it lacks
    that too; lossless for the values tests draw) and its outputs of that dtype are cast back.
    Returns ai-engine's outputs.
    """
    assert expected is not None or peer, "check_op needs an oracle: expected= or peer=True"
    model, feeds = one_node_model(op, *inputs, **kw)
    ours = _checked_count(model, run_ours(model, feeds))
    if expected is not None:
        if callable(expected):
            expected = expected(*(a.value if isinstance(a, const) else a for a in inputs))
        if not isinstance(expected, (list, tuple)):
            expected = [expected]
        assert_outputs(ours, list(expected), rtol, atol)
    if peer:
        theirs = _run_peer_widening(op, inputs, peer_widen, kw, model, feeds)
        assert_outputs(ours, theirs, rtol, atol, what="onnxruntime")
    return ours


def adding_loop_model(trips: int):
    """``y = x + trips``: a Loop of ``trips`` iterations whose body adds one to a carried
    float[1] (a trip count of 10**12 never ends on its own: the run-control tests stop it)."""
    body = helper.make_graph(
        [helper.make_node("Add", ["x_in", "one"], ["x_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
        [tensor_info("i", TensorProto.INT64, []), tensor_info("cond_in", TensorProto.BOOL, []),
         tensor_info("x_in", shape=[1])],
        [tensor_info("cond_out", TensorProto.BOOL, []), tensor_info("x_out", shape=[1])],
        initializer=[helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])])
    nodes = [helper.make_node("Loop", ["trips", "cond", "x"], ["y"], body=body)]
    return make_model(nodes, [tensor_info("x", shape=[1])], [tensor_info("y", shape=[1])],
                      initializers={"trips": np.array(trips, np.int64),
                                    "cond": np.array(True)})
