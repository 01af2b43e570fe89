"""Hostile bodies: each gets a 4xx JSON {"error"} naming the problem, before any allocation
it would cause; never a 500, never a dead worker."""

import gzip
import json
import tracemalloc

import httpx
import pytest

from ai_engine.network import codec_kserve
from ai_engine.network.errors import BadRequestError
from ai_engine.network.tensor_limits import TensorLimits
from ai_engine.privacy import PayloadTooLargeError

HDR = "Inference-Header-Content-Length"
GOOD = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}


def x(shape, datatype="FP32", name="x", **extra) -> dict:
    return {"name": name, "shape": shape, "datatype": datatype, **extra}


def raw_input(data: bytes, shape=b"[1,4]") -> bytes:
    return b'{"inputs":[{"name":"x","shape":' + shape + b',"datatype":"FP32","data":' + data + \
        b"}]}"


def binary(inputs: list, blob: bytes) -> tuple[bytes, dict]:
    header = json.dumps({"inputs": inputs}, separators=(",", ":")).encode()
    return header + blob, {HDR: str(len(header))}


GZ = gzip.compress(json.dumps(GOOD).encode())

V2_CASES = {  # id: (model, body (dict | bytes | (bytes, headers)), status, words)
    "nan": ("affine", raw_input(b"[NaN,1,2,3]"), 400, "NaN and Infinity are not JSON"),
    "infinity": ("affine", raw_input(b"[-Infinity,1,2,3]"), 400, "NaN and Infinity"),
    "number_overflowing_a_double": ("affine", raw_input(b"[1e999,1,2,3]"), 400,
                                    "infinity when parsed"),
    "fp32_out_of_range": ("affine", raw_input(b"[1e300,1,2,3]"), 400,
                          "value out of range for FP32"),
    "fp16_out_of_range": ("id_fp16", {"inputs": [x([1, 3], "FP16", data=[1, 7e4, 2])]}, 400,
                          "value out of range for FP16"),
    "int_out_of_range": ("id_int8", {"inputs": [x([1, 3], "INT8", data=[1, -129, 2])]}, 400,
                         "out of range for INT8"),
    "huge_dim": ("affine", {"inputs": [x([10 ** 12, 4], data=[1])]}, 413,
                 "dim 1000000000000 of shape"),
    "float_dim": ("affine", {"inputs": [x([1e12], data=[1])]}, 400, "non-negative integers"),
    "dim_beyond_uint64": ("affine", raw_input(b"[1]", b"[18446744073709551616]"), 400,
                          "non-negative integers"),
    "negative_dim": ("affine", {"inputs": [x([-3, 4], data=[1])]}, 400, "non-negative"),
    "overflowing_dims_of_an_empty_tensor": ("affine", {"inputs": [x([2 ** 62, 2 ** 62, 0],
                                                                    data=[])]}, 413,
                                            "exceeds the server's limit"),
    "elements_over_the_limit": ("affine", {"inputs": [x([8192, 8192, 2], data=[1])]}, 413,
                                "brings the request to 134217728 elements"),
    "rank_40": ("affine", {"inputs": [x([1] * 40, data=[1])]}, 400, "at most 32"),
    "deep_nesting": ("affine", raw_input(b"[" * 100_000 + b"]" * 100_000), 400,
                     "depth limit exceeded"),
    "nesting_deeper_than_the_shape": ("affine", raw_input(b"[" * 500 + b"1" + b"]" * 500), 400,
                                      "nested 500 levels deep, its shape has 2 dims"),
    "thousands_of_inputs": ("affine", {"inputs": [x([1], name=f"x{i}", data=[1])
                                                  for i in range(5000)]}, 400,
                            "has 5000 inputs; model 'affine' has 1"),
    "unicode_input_name": ("affine", {"inputs": [x([1, 4], name="\u00e9\U0001d4cd\u202e",
                                                   data=[1, 2, 3, 4])]}, 400, "unknown input"),
    "lone_surrogate_name": ("affine", b'{"inputs":[{"name":"\\ud800","shape":[1,4],'
                                      b'"datatype":"FP32","data":[1,2,3,4]}]}', 400,
                            "not valid JSON"),
    "unicode_model_name": ("\u00e9\U0001d4cd", GOOD, 404, "unknown model"),
    "input_twice": ("twoin", {"inputs": [x([1, 2], name="a", data=[1, 2])] * 2}, 400,
                    "given twice"),
    "bytes_data_longer_than_its_shape": ("id_bytes", {"inputs": [x([1, 2], "BYTES",
                                                                   data=["a", "b", "c"])]},
                                         400, "more than the 2 elements"),
    "bytes_shape_10M_in_a_tiny_body": ("id_bytes", binary(
        [x([10_000_000], "BYTES", parameters={"binary_data_size": 4})], b"\0\0\0\0"), 400,
        "needs at least 40000000 bytes"),
    "bytes_shape_1e12": ("id_bytes", binary(
        [x([10 ** 12], "BYTES", parameters={"binary_data_size": 4})], b"\0\0\0\0"), 413,
        "exceeds the server's limit"),
    "binary_shape_1e12": ("affine", binary(
        [x([10 ** 12, 4], parameters={"binary_data_size": 4})], b"\0\0\0\0"), 413,
        "exceeds the server's limit"),
    "bad_gzip": ("affine", (b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}), 400,
                 "cannot be decompressed"),
    "truncated_gzip": ("affine", (GZ[:30], {"Content-Encoding": "gzip"}), 400,
                       "truncated or corrupt"),
    "gzip_with_trailing_junk": ("affine", (GZ + b"junk", {"Content-Encoding": "gzip"}), 400,
                                "after the end of its compressed stream"),
    "unknown_encoding": ("affine", (b"{}", {"Content-Encoding": "br"}), 501, "not supported"),
}

V1_CASES = {  # id: (body bytes, status, words)
    "nan": (b'{"model":"affine","inputs":{"x":[[NaN,1,2,3]]}}', 400, "NaN and Infinity"),
    "deep_nesting": (b'{"model":"affine","inputs":{"x":' + b"[" * 100_000 + b"]" * 100_000 +
                     b"}}", 400, "depth limit exceeded"),
    "huge_shape": (json.dumps({"model": "affine", "inputs": {"x": {"data": [1],
                                                                     "shape": [10 ** 12]}}}),
                   413, "exceeds the server's limit"),
    "dtype_not_a_string": (json.dumps({"model": "affine", "inputs": {"x": {"data": [1],
                                                                             "dtype": [1]}}}),
                           400, "dtype must be a string"),
    "thousands_of_inputs": (json.dumps({"model": "affine",
                                        "inputs": {f"x{i}": [1] for i in range(3000)}}), 400,
                            "has 3000 inputs"),
    "huge_timeout": (b'{"model":"affine","inputs":{"x":[[1,2,3,4]]},"timeout_us":' +
                     b"9" * 30 + b"}", 400, "timeout_us"),
    "unicode_model": (json.dumps({"model": "\U0001d4cd", "inputs": {"x": [[1, 2, 3, 4]]}}), 404,
                      "unknown model"),
}


def check(r: httpx.Response, status: int, words: str) -> None:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    assert words in r.json()["error"], r.json()


@pytest.mark.parametrize("case", list(V2_CASES))
def test_hostile_v2_body(server, case):
    model, body, status, words = V2_CASES[case]
    headers = {}
    if isinstance(body, tuple):
        body, headers = body
    elif isinstance(body, dict):
        body = json.dumps(body).encode()
    r = httpx.post(f"{server.url}/v2/models/{model}/infer", content=body, headers=headers,
                   timeout=30)
    check(r, status, words)


@pytest.mark.parametrize("case", list(V1_CASES))
def test_hostile_api_v1_body(server, case):
    body, status, words = V1_CASES[case]
    r = httpx.post(server.url + "/api/v1/infer", timeout=30,
                   content=body.encode() if isinstance(body, str) else body)
    check(r, status, words)


def test_server_survives_every_hostile_body(server):
    for model, body, _, _ in V2_CASES.values():
        if isinstance(body, tuple):
            httpx.post(f"{server.url}/v2/models/{model}/infer", content=body[0],
                       headers=body[1], timeout=30)
    assert server.proc.poll() is None
    r = httpx.post(server.url + "/v2/models/affine/infer", json=GOOD)
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [2, 3, 4, 5]
    assert "internal error" not in server.log()


def test_bytes_shape_is_refused_before_its_array_is_allocated():
    """The issue's ~100-byte request: 10**7 BYTES elements would be a 76 MB object array."""
    body, headers = binary([x([10_000_000], "BYTES", parameters={"binary_data_size": 4})],
                           b"\0\0\0\0")
    assert len(body) < 110
    tracemalloc.start()
    try:
        with pytest.raises(BadRequestError, match="needs at least 40000000 bytes"):
            codec_kserve.decode_request(body, headers[HDR], "m", None, ["x"], TensorLimits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_limits_add_up_over_the_inputs_of_a_request():
    limits = TensorLimits(max_elements=1000, max_bytes=4000)
    body = {"inputs": [x([600], name="a", data=[1.0] * 600), x([600], name="b", data=[1.0] * 600)]}
    with pytest.raises(PayloadTooLargeError, match="input 'b'.* 1200 elements; the server's "
                                                   "limit is 1000"):
        codec_kserve.decode_request(json.dumps(body).encode(), None, "m", None, ["a", "b"],
                                    limits)
    body = {"inputs": [x([600], "FP64", name="a", data=[1.0] * 600)]}
    with pytest.raises(PayloadTooLargeError, match="4800 bytes of tensor data; the server's "
                                                   "limit is 4000"):
        codec_kserve.decode_request(json.dumps(body).encode(), None, "m", None, ["a"], limits)
