"""The test builders themselves: the one-node model they write, and that check_op fails on
every kind of mismatch it claims to catch (count, dtype, shape, values)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

from builders import assert_outputs, check_op, const, one_node_model, run_op, run_op_peer

X = np.arange(6, dtype=np.float32).reshape(2, 3)


def test_one_node_model_inputs_outputs_and_opsets():
    model, feeds = one_node_model("Op", X, None, const(np.int64(2)), [X, X], outputs=["a", "", "b"],
                                  opset={"": 21, "my.domain": 3}, domain="my.domain",
                                  out_types=[TensorProto.FLOAT, None, None], axis=1)
    node = model.graph.node[0]
    assert (node.op_type, node.domain) == ("Op", "my.domain")
    assert list(node.input) == ["x0", "", "c2", "x3"]
    assert list(node.output) == ["a", "", "b"]
    assert [a.name for a in node.attribute] == ["axis"]
    assert sorted(feeds) == ["x0", "x3"]
    graph_inputs = {i.name: i.type for i in model.graph.input}
    assert graph_inputs["x0"].tensor_type.elem_type == TensorProto.FLOAT
    assert [d.dim_value for d in graph_inputs["x0"].tensor_type.shape.dim] == [2, 3]
    assert graph_inputs["x3"].HasField("sequence_type")
    assert [i.name for i in model.graph.initializer] == ["c2"]
    outs = {o.name: o for o in model.graph.output}
    assert sorted(outs) == ["a", "b"]
    assert outs["a"].type.tensor_type.elem_type == TensorProto.FLOAT
    assert not outs["b"].HasField("type")
    assert {o.domain: o.version for o in model.opset_import} == {"": 21, "my.domain": 3}


def test_run_op_returns_every_declared_output():
    y, i = run_op("TopK", X, const(np.array([2], np.int64)), outputs=2, opset=11, axis=1)
    np.testing.assert_array_equal(y, [[2, 1], [5, 4]])
    assert i.dtype == np.int64


def test_check_op_passes_on_a_match_and_returns_ours():
    (y,) = check_op("Neg", X, expected=-X, opset=13)
    np.testing.assert_array_equal(y, -X)
    check_op("Neg", X, expected=lambda x: -x, opset=13)
    check_op("Sqrt", np.array([np.nan, 4.0], np.float32),
             expected=np.array([np.nan, 2.0], np.float32), opset=13)  # NaN equals NaN


@pytest.mark.parametrize("expected,message", [
    ([-X, -X], "1 outputs, expected 2"),
    (-X.astype(np.float64), "dtype float32, expected float64"),
    (-X.reshape(3, 2), r"shape \(2, 3\), expected \(3, 2\)"),
    (-X + np.float32(1e-3), "output 0 vs expected"),
])
def test_check_op_fails_on_each_mismatch(expected, message):
    with pytest.raises(AssertionError, match=message):
        check_op("Neg", X, expected=expected, opset=13)


def test_tolerances_are_the_callers():
    near = -X + np.float32(1e-4)
    with pytest.raises(AssertionError):
        check_op("Neg", X, expected=near, opset=13)  # exact by default
    check_op("Neg", X, expected=near, atol=2e-4, opset=13)
    with pytest.raises(AssertionError):
        check_op("Neg", X, expected=near, atol=5e-5, opset=13)


def test_check_op_needs_an_oracle():
    with pytest.raises(AssertionError, match="needs an oracle"):
        check_op("Neg", X, opset=13)


def test_assert_outputs_sequences_and_empty_optionals():
    assert_outputs([[X, X], None], [[X, X], None])
    with pytest.raises(AssertionError, match="1 outputs, expected 2"):
        assert_outputs([[X]], [[X, X]])
    with pytest.raises(AssertionError, match="output 0"):
        assert_outputs([None], [X])


def test_peer_compares_with_onnxruntime():
    pytest.importorskip("onnxruntime")
    check_op("Softmax", X, peer=True, rtol=1e-6, atol=1e-7, opset=13, axis=1)
    np.testing.assert_array_equal(run_op_peer("Neg", X, opset=13)[0], -X)


def test_peer_widen_runs_onnxruntime_on_float64_where_it_lacks_the_dtype():
    ort = pytest.importorskip("onnxruntime")
    x = np.arange(9, dtype=np.int8).reshape(3, 3)
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.NotImplemented):
        run_op_peer("Trilu", x, opset=14)
    (got,) = check_op("Trilu", x, peer=True, peer_widen=[0], opset=14)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, np.triu(x))
