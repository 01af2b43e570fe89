"""Wire formats and config parsing, without a server."""

import struct

import numpy as np
import pytest

from ai_engine.network import codec_binary, codec_kserve
from ai_engine.network.config import from_dict, parse_pbtxt
from ai_engine.network.errors import BadRequestError
from ai_engine.network.settings import Settings
from ai_engine.network.tensor_limits import TensorLimits
from ai_engine.network.types import InferResponse, Tensor

PBTXT = """
name: "m"  # Triton fields this server ignores are accepted
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100
  default_queue_policy { max_queue_size: 3 } }
instance_group [ { count: 2 kind: KIND_CPU } ]
version_policy: { latest: { num_versions: 2 } }
"""


def test_pbtxt_subset():
    cfg = from_dict(parse_pbtxt(PBTXT))
    assert (cfg.max_batch_size, cfg.preferred_batch_size, cfg.max_queue_delay_us,
            cfg.max_queue_size, cfg.instance_count) == (8, [4, 8], 100, 3, 2)
    assert cfg.select_versions([1, 2, 3]) == [2, 3]
    assert from_dict({"version_policy": {"all": {}}}).select_versions([3, 1]) == [1, 3]
    assert not from_dict(parse_pbtxt("max_batch_size: 4")).dynamic_batching


def test_bytes_tensor_round_trip_matches_tritonclient():
    from tritonclient.utils import deserialize_bytes_tensor, serialize_byte_tensor

    arr = np.array(["a", "", "é", "xyz"], dtype=object)
    ours = codec_binary.serialize(arr)
    theirs = serialize_byte_tensor(np.array([s.encode() for s in arr], dtype=object))
    assert ours == (theirs.item() if theirs.dtype == object else theirs.tobytes())
    back = codec_binary.deserialize_bytes("x", memoryview(ours), 4)
    assert list(back) == list(arr)
    assert list(deserialize_bytes_tensor(ours)) == [s.encode() for s in arr]


def test_binary_request_and_response():
    header = (b'{"inputs":[{"name":"x","shape":[2],"datatype":"INT32",'
              b'"parameters":{"binary_data_size":8}}],"parameters":{"binary_data_output":true}}')
    body = header + struct.pack("<2i", 7, -1)
    req = codec_kserve.decode_request(body, str(len(header)), "m", None, ["x"], TensorLimits())
    np.testing.assert_array_equal(req.inputs[0].array, [7, -1])
    out, n = codec_kserve.encode_response(
        InferResponse("m", "1", [Tensor("y", np.array([1.5], np.float32))]), req)
    assert out[n:] == struct.pack("<f", 1.5)


def test_truncated_bytes_element():
    with pytest.raises(BadRequestError, match="ends after 0"):
        codec_binary.deserialize_bytes("x", memoryview(b"\x01\x00"), 1)


def test_settings_env_then_flags():
    s = Settings.from_env({"AI_ENGINE_PORT": "9000", "AI_ENGINE_API_KEYS": "a, b",
                           "AI_ENGINE_MAX_BATCH_SIZE": "4"})
    assert (s.port, s.api_keys, s.max_batch_size, s.host) == (9000, ("a", "b"), 4, "127.0.0.1")
    assert s.override(port=1234, host=None).port == 1234
    with pytest.raises(ValueError, match="AI_ENGINE_PORT"):
        Settings.from_env({"AI_ENGINE_PORT": "x"})
    s = Settings.from_env({"AI_ENGINE_EXECUTION_TIMEOUT_S": "2.5",
                           "AI_ENGINE_SHUTDOWN_GRACE_S": "1"})
    assert (s.execution_timeout_s, s.shutdown_grace_s) == (2.5, 1.0)
    with pytest.raises(ValueError, match="AI_ENGINE_EXECUTION_TIMEOUT_S must be a number"):
        Settings.from_env({"AI_ENGINE_EXECUTION_TIMEOUT_S": "soon"})
    with pytest.raises(ValueError, match="execution_timeout_s must be a number of seconds"):
        Settings.from_env({"AI_ENGINE_EXECUTION_TIMEOUT_S": "-1"})
    with pytest.raises(ValueError, match="max_request_elements must be > 0"):
        Settings().override(max_request_elements=0)
