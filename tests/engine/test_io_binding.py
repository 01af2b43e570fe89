"""OrtValue, run_with_ort_values and IOBinding, against onnxruntime's behaviour."""

import numpy as np
import onnxruntime as ort
import pytest

import ai_engine
from ai_engine import InferenceSession, InvalidInputError, OrtValue
from test_session import mlp_model


def test_ortvalue_wraps_numpy_memory_like_onnxruntime():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    for cls in (OrtValue, ort.OrtValue):
        v = cls.ortvalue_from_numpy(a)
        assert v.data_ptr() == a.ctypes.data  # no copy
        assert (v.device_name(), v.shape(), v.data_type(), v.element_type()) == \
            ("cpu", [2, 3], "tensor(float)", 1)
        assert v.is_tensor() and v.has_value() and not v.is_tensor_sequence()
        assert v.tensor_size_in_bytes() == 24
        assert np.shares_memory(v.numpy(), a)
    ours = OrtValue.ortvalue_from_numpy(np.zeros(3))
    ours.update_inplace(np.ones(3))
    np.testing.assert_array_equal(ours.numpy(), np.ones(3))
    with pytest.raises(InvalidInputError, match="update_inplace"):
        ours.update_inplace(np.ones(4))


def test_ortvalue_from_shape_and_type_and_onnx_type():
    v = OrtValue.ortvalue_from_shape_and_type([2, 5], np.int64)
    assert (v.shape(), v.data_type()) == ([2, 5], "tensor(int64)")
    assert OrtValue.ortvalue_from_shape_and_type([3], 10).data_type() == "tensor(float16)"
    bits = np.array([0x3F80], np.uint16)  # bfloat16 1.0
    v = OrtValue.ortvalue_from_numpy_with_onnx_type(bits, 16)
    assert v.data_type() == "tensor(bfloat16)" and float(v.numpy()[0]) == 1.0
    with pytest.raises(InvalidInputError, match="unknown device type"):
        OrtValue.ortvalue_from_numpy(bits, "npu")


def test_run_with_ort_values_matches_run():
    model, ref = mlp_model()
    session = InferenceSession(model)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    (y,) = session.run_with_ort_values(["y"], {"x": OrtValue.ortvalue_from_numpy(x)})
    assert isinstance(y, OrtValue) and y.device_name() == "cpu"
    np.testing.assert_allclose(y.numpy(), ref(x), rtol=1e-5)
    with pytest.raises(InvalidInputError, match="takes OrtValues"):
        session.run_with_ort_values(None, {"x": x})


def test_io_binding_writes_into_the_callers_buffer_across_runs():
    model, ref = mlp_model()
    session = InferenceSession(model)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    out = np.full((2, 3), np.nan, np.float32)
    binding = session.io_binding()
    binding.bind_cpu_input("x", x)
    binding.bind_output("y", "cpu", 0, np.float32, [2, 3], out.ctypes.data)
    session.run_with_iobinding(binding)
    np.testing.assert_allclose(out, ref(x), rtol=1e-5)
    (y,) = binding.get_outputs()
    assert y.data_ptr() == out.ctypes.data
    x[:] = rng.standard_normal((2, 4))  # the input is bound by reference: rerun sees it
    session.run_with_iobinding(binding)
    np.testing.assert_allclose(out, ref(x), rtol=1e-5)
    copies = binding.copy_outputs_to_cpu()
    assert not np.shares_memory(copies[0], out)


def test_io_binding_same_results_as_onnxruntimes():
    model, _ = mlp_model()
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    results = []
    for module, session in ((ai_engine, InferenceSession(model)),
                            (ort, ort.InferenceSession(model.SerializeToString()))):
        binding = session.io_binding()
        binding.bind_ortvalue_input("x", module.OrtValue.ortvalue_from_numpy(x))
        binding.bind_output("y", "cpu")  # no buffer: the runtime allocates it
        session.run_with_iobinding(binding)
        results.append(binding.copy_outputs_to_cpu()[0])
        target = module.OrtValue.ortvalue_from_shape_and_type([5, 3], np.float32)
        binding.clear_binding_outputs()
        binding.bind_ortvalue_output("y", target)
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        results.append(target.numpy().copy())
    np.testing.assert_allclose(results[0], results[2], rtol=1e-5)
    np.testing.assert_allclose(results[1], results[3], rtol=1e-5)
    np.testing.assert_array_equal(results[0], results[1])


def test_io_binding_errors_name_the_problem():
    model, _ = mlp_model()
    session = InferenceSession(model)
    binding = session.io_binding()
    with pytest.raises(InvalidInputError, match="unknown input 'q'"):
        binding.bind_cpu_input("q", np.zeros(1))
    with pytest.raises(InvalidInputError, match="unknown output 'z'"):
        binding.bind_output("z")
    binding.bind_cpu_input("x", np.zeros((2, 4), np.float32))
    with pytest.raises(InvalidInputError, match="no output is bound"):
        session.run_with_iobinding(binding)
    wrong = np.zeros((3, 3), np.float32)
    binding.bind_output("y", "cpu", 0, np.float32, wrong.shape, wrong.ctypes.data)
    with pytest.raises(InvalidInputError, match=r"output 'y' is float32\[2, 3\] but its "
                                                r"bound buffer is float32\[3, 3\]"):
        session.run_with_iobinding(binding)
    binding.clear_binding_inputs()
    with pytest.raises(InvalidInputError, match="input 'x' is missing"):
        session.run_with_iobinding(binding)
    other = InferenceSession(model).io_binding()
    with pytest.raises(InvalidInputError, match="made by this session"):
        session.run_with_iobinding(other)
