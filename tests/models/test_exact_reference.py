"""The exact quantized oracle agrees with NumPy's int64 arithmetic, where onnxruntime's own
u8 x s8 kernels may saturate (exact_reference.py says why); ai-engine agrees with both."""

import numpy as np
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from builders import make_model, tensor_info
from exact_reference import exact_session


def _matmul_integer_model(k):
    node = helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])
    return make_model([node], [tensor_info("a", TensorProto.UINT8, [3, k]),
                               tensor_info("b", TensorProto.INT8, [k, 4]),
                               tensor_info("az", TensorProto.UINT8, [3]),
                               tensor_info("bz", TensorProto.INT8, [4])],
                      [tensor_info("y", TensorProto.INT32, [3, 4])], opset=10)


def test_matmul_integer_oracle_is_exact_where_int16_pairs_saturate():
    k = 64
    rng = np.random.default_rng(0)
    # 255 * 127 + 255 * 127 does not fit an int16: the pairs vpmaddubsw would saturate
    feeds = {"a": np.full((3, k), 255, np.uint8), "b": np.full((k, 4), 127, np.int8),
             "az": np.array([0, 3, 200], np.uint8),
             "bz": rng.integers(-3, 3, 4).astype(np.int8)}
    feeds["b"][::3] = -128
    want = (feeds["a"].astype(np.int64) - feeds["az"][:, None]) @ \
        (feeds["b"].astype(np.int64) - feeds["bz"])
    model = _matmul_integer_model(k)
    oracle = exact_session(model).run(None, feeds)[0]
    np.testing.assert_array_equal(oracle, want)
    np.testing.assert_array_equal(InferenceSession(model).run(None, feeds)[0], want)
