"""KServe V2 against the real server process, through the unmodified tritonclient.http."""

import httpx
import ml_dtypes
import numpy as np
import pytest
import tritonclient.http as tc
from tritonclient.utils import InferenceServerException

from server_harness import DTYPES


@pytest.fixture(scope="module")
def client(server):
    return tc.InferenceServerClient(server.url.removeprefix("http://"))


def sample(datatype: str) -> np.ndarray:
    if datatype == "BYTES":
        return np.array([[b"a", b"", "é".encode()], [b"xyz", b"0", b"longer text"]],
                        dtype=object)
    if datatype == "BOOL":
        return np.array([[True, False, True], [False, False, True]])
    if datatype == "BF16":
        return np.array([[1.5, -2.0, 3.25], [0.0, 8.0, -0.5]], dtype=ml_dtypes.bfloat16)
    floats = {"FP16": np.float16, "FP32": np.float32, "FP64": np.float64}
    dtype = floats[datatype] if datatype in floats else np.dtype(datatype.lower())
    return (np.arange(6).reshape(2, 3) * 7 % 120).astype(dtype)


def infer(client, model, array, datatype, binary):
    x = tc.InferInput("x", list(array.shape), datatype)
    x.set_data_from_numpy(array, binary_data=binary)
    out = tc.InferRequestedOutput("y", binary_data=binary)
    return client.infer(model, [x], outputs=[out])


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("datatype", list(DTYPES))
def test_every_datatype_round_trips(client, datatype, binary):
    if datatype == "BF16" and not binary:
        pytest.skip("tritonclient sends BF16 only as binary data (covered by httpx below)")
    array = sample(datatype)
    result = infer(client, f"id_{datatype.lower()}", array, datatype, binary)
    out = result.as_numpy("y")
    assert result.get_output("y")["datatype"] == datatype
    assert out.shape == array.shape
    if datatype == "BYTES" and not binary:  # tritonclient hands JSON strings back as str
        array = np.vectorize(bytes.decode, otypes=[object])(array)
    np.testing.assert_array_equal(out, array)


def test_bf16_as_json_numbers(server):
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BF16",
                        "data": [1.5, 2.0, -3.0]}]}
    r = httpx.post(server.url + "/v2/models/id_bf16/infer", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == [1.5, 2.0, -3.0]


def test_health_and_server_metadata(client):
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata()
    assert meta["name"] == "ai-engine"
    assert {"binary_tensor_data", "model_repository", "statistics"} <= set(meta["extensions"])


def test_model_metadata_readiness_and_config(client):
    meta = client.get_model_metadata("affine")
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"][0]["name"] == "y"
    assert client.get_model_metadata("multi", "3")["versions"] == ["1", "3"]
    assert client.is_model_ready("affine") and client.is_model_ready("multi", "1")
    assert not client.is_model_ready("multi", "2")
    assert not client.is_model_ready("broken")
    config = client.get_model_config("batched")
    assert config["max_batch_size"] == 32
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 300000
    assert config["input"][0]["data_type"] == "TYPE_FP32"


def test_versions_are_routed(client):
    x = np.ones((1, 4), np.float32)
    for version, scale in (("1", 1.0), ("3", 3.0), ("", 3.0)):
        inp = tc.InferInput("x", [1, 4], "FP32")
        inp.set_data_from_numpy(x)
        result = client.infer("multi", [inp], model_version=version)
        np.testing.assert_array_equal(result.as_numpy("y"), x * scale)
    with pytest.raises(InferenceServerException, match="no version '2'"):
        client.infer("multi", [inp], model_version="2")


def test_two_inputs_and_output_selection(client):
    a = np.array([[1, -5]], np.float32)
    b = np.array([[2, 1]], np.float32)
    inputs = []
    for name, arr in (("a", a), ("b", b)):
        inputs.append(tc.InferInput(name, [1, 2], "FP32"))
        inputs[-1].set_data_from_numpy(arr)
    result = client.infer("twoin", inputs, outputs=[tc.InferRequestedOutput("relu")],
                          request_id="req-7")
    assert [o["name"] for o in result.get_response()["outputs"]] == ["relu"]
    assert result.get_response()["id"] == "req-7"
    np.testing.assert_array_equal(result.as_numpy("relu"), np.maximum(a + b, 0))


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_request(client, algorithm):
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    inp = tc.InferInput("x", [2, 4], "FP32")
    inp.set_data_from_numpy(x)
    result = client.infer("affine", [inp], request_compression_algorithm=algorithm)
    np.testing.assert_array_equal(result.as_numpy("y"), x + 1)


def test_nested_json_data(server):
    body = {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32",
                        "data": [[1, 2, 3, 4], [5, 6, 7, 8]]}],
            "parameters": {"binary_data_output": False}}
    r = httpx.post(server.url + "/v2/models/affine/versions/1/infer", json=body)
    assert r.status_code == 200
    assert r.json()["outputs"][0]["data"] == [2, 3, 4, 5, 6, 7, 8, 9]


def test_statistics_and_metrics(client, server):
    x = tc.InferInput("x", [1, 4], "FP32")
    x.set_data_from_numpy(np.zeros((1, 4), np.float32))
    client.infer("affine", [x])
    stats = client.get_inference_statistics("affine")["model_stats"][0]
    assert stats["inference_stats"]["success"]["count"] >= 1
    assert stats["execution_count"] >= 1 and stats["batch_stats"]
    text = httpx.get(server.url + "/metrics").text
    for name in ("nv_inference_request_success", "nv_inference_request_failure",
                 "nv_inference_count", "nv_inference_exec_count",
                 "nv_inference_queue_duration_us", "nv_inference_compute_infer_duration_us",
                 "ai_engine_batch_size_bucket"):
        assert f'{name}{{' in text, name
    assert 'nv_inference_request_success{model="affine",version="1"}' in text


def test_openapi_docs(server):
    assert httpx.get(server.url + "/docs").status_code == 200
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert "/api/v1/infer" in paths and "/v2/models/{model}/infer" in paths
