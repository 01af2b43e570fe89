"""Loading: every way a model can be wrong gets a ModelLoadError that names the problem."""

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession, ModelLoadError, UnsupportedOperatorError
from builders import make_model, tensor_info


def relu_model(**kw):
    return make_model([helper.make_node("Relu", ["x"], ["y"])], [tensor_info("x", shape=[2])],
                      [tensor_info("y", shape=[2])], **kw)


def test_loads_from_path_bytes_and_proto(tmp_path):
    model = relu_model()
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    x = np.array([-1.0, 2.0], np.float32)
    for source in (str(path), path, model.SerializeToString(), model):
        (y,) = InferenceSession(source).run(None, {"x": x})
        np.testing.assert_array_equal(y, [0.0, 2.0])


def test_missing_file():
    with pytest.raises(ModelLoadError, match="does not exist"):
        InferenceSession("/no/such/model.onnx")


def test_not_onnx_and_truncated_bytes(tmp_path):
    with pytest.raises(ModelLoadError, match="not"):
        InferenceSession(b"hello, this is not a protobuf at all \xff\xff\xff")
    data = relu_model().SerializeToString()
    with pytest.raises(ModelLoadError):
        InferenceSession(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="empty"):
        InferenceSession(b"")


def test_unsupported_ir_and_opset():
    with pytest.raises(ModelLoadError, match="IR version 99"):
        InferenceSession(relu_model(ir_version=99))
    with pytest.raises(ModelLoadError, match="opset version 999"):
        InferenceSession(relu_model(opset=999))


def test_dangling_input_names_node():
    model = make_model([helper.make_node("Relu", ["nowhere"], ["y"], name="r1")],
                       [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    with pytest.raises(ModelLoadError, match="'nowhere' of Relu node 'r1'"):
        InferenceSession(model)


def test_cycle_is_reported():
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
             helper.make_node("Relu", ["a"], ["b"], name="n2")]
    model = make_model(nodes + [helper.make_node("Identity", ["a"], ["y"])],
                       [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    with pytest.raises(ModelLoadError, match="cycle"):
        InferenceSession(model)


def test_value_produced_twice():
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["x"], ["y"])]
    model = make_model(nodes, [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    with pytest.raises(ModelLoadError, match="produced twice"):
        InferenceSession(model)


def test_all_unsupported_ops_listed_at_once():
    nodes = [helper.make_node("FancyOp", ["x"], ["a"], name="f1"),
             helper.make_node("OtherOp", ["a"], ["b"], domain="com.example", name="o1"),
             helper.make_node("Relu", ["b"], ["y"])]
    model = make_model(nodes, [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedOperatorError) as info:
        InferenceSession(model)
    message = str(info.value)
    assert "FancyOp" in message and "com.example::OtherOp" in message and "'f1'" in message
    assert len(info.value.missing) == 2


def test_unknown_attribute_is_a_load_error():
    model = make_model([helper.make_node("Relu", ["x"], ["y"], name="r", bogus=3)],
                       [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    with pytest.raises(ModelLoadError, match="bogus"):
        InferenceSession(model)


def _external_model(tmp_path, weight):
    model = make_model([helper.make_node("Add", ["x", "w"], ["y"])],
                       [tensor_info("x", shape=[weight.size])],
                       [tensor_info("y", shape=[weight.size])], initializers={"w": weight})
    path = tmp_path / "ext.onnx"
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    return path


def test_external_data_is_memory_mapped(tmp_path):
    weight = np.arange(1024, dtype=np.float32)
    path = _external_model(tmp_path, weight)
    session = InferenceSession(path)
    const = session.graph.values["w"].const
    assert isinstance(const, np.memmap)
    (y,) = session.run(None, {"x": np.ones(1024, np.float32)})
    np.testing.assert_array_equal(y, weight + 1)


def test_missing_external_data_file(tmp_path):
    path = _external_model(tmp_path, np.arange(16, dtype=np.float32))
    os.remove(tmp_path / "weights.bin")
    with pytest.raises(ModelLoadError, match="weights.bin"):
        InferenceSession(path)


def test_external_data_may_not_escape_model_dir(tmp_path):
    path = _external_model(tmp_path, np.arange(16, dtype=np.float32))
    model = onnx.load(path, load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../../etc/passwd"
    onnx.save(model, path)
    with pytest.raises(ModelLoadError, match="escapes"):
        InferenceSession(path)


def test_raw_initializers_are_not_copied():
    w = np.arange(8, dtype=np.float32)
    model = make_model([helper.make_node("Add", ["x", "w"], ["y"])], [tensor_info("x", shape=[8])],
                       [tensor_info("y", shape=[8])], initializers={"w": w})
    session = InferenceSession(model)
    const = session.graph.values["w"].const
    assert not const.flags.owndata  # a view of the protobuf bytes


def test_local_functions_are_inlined():
    fn = helper.make_function("custom", "Double", ["a"], ["b"],
                              [helper.make_node("Add", ["a", "a"], ["b"])],
                              [helper.make_opsetid("", 17)])
    model = make_model([helper.make_node("Double", ["x"], ["y"], domain="custom")],
                       [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    model.opset_import.append(helper.make_opsetid("custom", 1))
    model.functions.append(fn)
    (y,) = InferenceSession(model).run(None, {"x": np.array([1, 2], np.float32)})
    np.testing.assert_array_equal(y, [2, 4])


def test_subgraph_reads_outer_scope():
    then_g = helper.make_graph([helper.make_node("Add", ["x", "x"], ["t"])], "then", [],
                               [tensor_info("t", shape=[2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                               [tensor_info("e", shape=[2])])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    model = make_model([node], [tensor_info("c", TensorProto.BOOL, []),
                                tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])
    s = InferenceSession(model)
    x = np.array([1, -2], np.float32)
    np.testing.assert_array_equal(s.run(None, {"c": np.array(True), "x": x})[0], [2, -4])
    np.testing.assert_array_equal(s.run(None, {"c": np.array(False), "x": x})[0], [-1, 2])


def test_initializers_listed_as_inputs_can_be_overridden():
    """IR >= 4: an initializer that is also a graph input is a default (onnxruntime's rule)."""
    w = np.array([1.0, 2.0], np.float32)
    model = make_model([helper.make_node("Mul", ["x", "w"], ["y"])],
                       [tensor_info("x", shape=[2]), tensor_info("w", shape=[2])],
                       [tensor_info("y", shape=[2])], initializers={"w": w})
    s = InferenceSession(model)
    assert [a.name for a in s.get_inputs()] == ["x"]
    assert [a.name for a in s.get_overridable_initializers()] == ["w"]
    x = np.array([3.0, 4.0], np.float32)
    np.testing.assert_array_equal(s.run(None, {"x": x})[0], [3, 8])
    np.testing.assert_array_equal(s.run(None, {"x": x, "w": np.float32([10, 10])})[0], [30, 40])
    np.testing.assert_array_equal(s.run(None, {"x": x})[0], [3, 8])
