"""Every malformed request gets a 4xx JSON {"error": ...} naming the problem; none a 500."""

import json

import httpx
import numpy as np
import pytest

HDR = "Inference-Header-Content-Length"


def binary_body(header: dict, *blobs: bytes) -> tuple[bytes, int]:
    raw = json.dumps(header).encode()
    return raw + b"".join(blobs), len(raw)


def x_input(shape=(1, 4), datatype="FP32", **extra):
    return {"name": "x", "shape": list(shape), "datatype": datatype, **extra}


JSON_CASES = {  # id: (model, body, status, words the error must contain)
    "garbage_json": ("affine", b"{not json", 400, "not valid JSON"),
    "not_an_object": ("affine", b"[1, 2]", 400, "JSON object"),
    "no_inputs": ("affine", b'{"inputs": []}', 400, "'inputs'"),
    "data_shape_mismatch": ("affine", {"inputs": [x_input(data=[1, 2, 3])]}, 400,
                            "needs 4 elements"),
    "model_shape_mismatch": ("fixed", {"inputs": [x_input((1, 3), data=[1, 2, 3])]}, 400,
                             "expects shape"),
    "wrong_dtype": ("affine", {"inputs": [x_input(datatype="FP64", data=[1, 2, 3, 4])]}, 400,
                    "expects datatype FP32, got FP64"),
    "unknown_datatype": ("affine", {"inputs": [x_input(datatype="FP8", data=[1, 2, 3, 4])]},
                         400, "unknown datatype"),
    "strings_for_floats": ("affine", {"inputs": [x_input(data=["a", "b", "c", "d"])]}, 400,
                           "must be numbers"),
    "ragged": ("affine", {"inputs": [x_input((2, 2), data=[[1, 2], [3]])]}, 400, "ragged"),
    "out_of_range": ("id_uint8", {"inputs": [x_input((1, 3), "UINT8", data=[1, 2, 999])]},
                     400, "out of range"),
    "negative_shape": ("affine", {"inputs": [x_input((-1, 4), data=[1, 2, 3, 4])]}, 400,
                       "non-negative"),
    "no_data": ("affine", {"inputs": [x_input()]}, 400, "neither 'data'"),
    "missing_input": ("twoin", {"inputs": [{"name": "a", "shape": [1, 2], "datatype": "FP32",
                                            "data": [1, 2]}]}, 400, "'b' is missing"),
    "unknown_input": ("twoin", {"inputs": [{"name": "a", "shape": [1, 2], "datatype": "FP32",
                                            "data": [1, 2]},
                                           {"name": "zz", "shape": [1], "datatype": "FP32",
                                            "data": [1]}]}, 400, "unknown input 'zz'"),
    "more_inputs_than_the_model": ("affine", {"inputs": [x_input(data=[1, 2, 3, 4]),
                                                         {"name": "zz", "shape": [1],
                                                          "datatype": "FP32", "data": [1]}]},
                                   400, "the request has 2 inputs; model 'affine' has 1"),
    "unknown_output": ("affine", {"inputs": [x_input(data=[1, 2, 3, 4])],
                                  "outputs": [{"name": "nope"}]}, 400, "unknown output"),
    "bad_timeout": ("affine", {"inputs": [x_input(data=[1, 2, 3, 4])],
                               "parameters": {"timeout": "soon"}}, 400, "timeout"),
    "unknown_model": ("nosuchmodel", {"inputs": [x_input(data=[1, 2, 3, 4])]}, 404,
                      "unknown model"),
    "not_loaded_model": ("broken", {"inputs": [x_input(data=[1, 2, 3, 4])]}, 503,
                         "not ready"),
    "classification": ("affine", {"inputs": [x_input(data=[1, 2, 3, 4])],
                                  "outputs": [{"name": "y", "parameters":
                                               {"classification": 2}}]}, 501,
                       "classification"),
}


def check_error(r: httpx.Response, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert words in r.json()["error"], r.json()


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_bad_json_request(server, case):
    model, body, status, words = JSON_CASES[case]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = httpx.post(f"{server.url}/v2/models/{model}/infer", content=content)
    check_error(r, status, words)


def test_unknown_version(server):
    body = {"inputs": [x_input(data=[1, 2, 3, 4])]}
    check_error(httpx.post(server.url + "/v2/models/multi/versions/7/infer", json=body), 404,
                "no version '7'")


FLOATS = np.arange(4, dtype=np.float32).tobytes()
BINARY_CASES = {  # id: (header, blobs, header length delta, words)
    "truncated_body": ({"inputs": [x_input(parameters={"binary_data_size": 16})]},
                       [FLOATS[:10]], 0, "runs past the end"),
    "size_not_matching_shape": ({"inputs": [x_input(parameters={"binary_data_size": 12})]},
                                [FLOATS[:12]], 0, "needs 16 bytes"),
    "extra_bytes": ({"inputs": [x_input(parameters={"binary_data_size": 16})]},
                    [FLOATS, b"junk"], 0, "after the last binary input"),
    "header_length_too_short": ({"inputs": [x_input(parameters={"binary_data_size": 16})]},
                                [FLOATS], -5, "not valid JSON"),
    "header_length_too_long": ({"inputs": [x_input(parameters={"binary_data_size": 16})]},
                               [FLOATS], 100, "body has only"),
    "bytes_bad_prefix": ({"inputs": [x_input((1, 1), "BYTES",
                                             parameters={"binary_data_size": 6})]},
                         [b"\xff\x00\x00\x00ab"], 0, "claims"),
    "negative_size": ({"inputs": [x_input(parameters={"binary_data_size": -1})]},
                      [FLOATS], 0, "non-negative"),
}


@pytest.mark.parametrize("case", list(BINARY_CASES))
def test_bad_binary_request(server, case):
    header, blobs, delta, words = BINARY_CASES[case]
    body, n = binary_body(header, *blobs)
    model = "id_bytes" if case == "bytes_bad_prefix" else "affine"
    r = httpx.post(f"{server.url}/v2/models/{model}/infer", content=body,
                   headers={HDR: str(n + delta)})
    check_error(r, 400, words)


def test_non_integer_header_length(server):
    body, _ = binary_body({"inputs": [x_input(data=[1, 2, 3, 4])]})
    check_error(httpx.post(server.url + "/v2/models/affine/infer", content=body,
                           headers={HDR: "abc"}), 400, "must be an integer")


def test_bad_gzip(server):
    r = httpx.post(server.url + "/v2/models/affine/infer", content=b"not gzip",
                   headers={"Content-Encoding": "gzip"})
    check_error(r, 400, "cannot be decompressed")


@pytest.mark.parametrize("body,words", [(b"{oops", "request body is not valid JSON"),
                                        (b'{"inputs": {}}', "model"),
                                        (b'{"model": "affine", "inputs": {"x": [[1, 2]]}}',
                                         "expects shape")])
def test_bad_api_v1_request(server, body, words):
    r = httpx.post(server.url + "/api/v1/infer", content=body,
                   headers={"content-type": "application/json"})
    check_error(r, 400, words)


def test_server_keeps_serving_after_bad_input(server):
    for case in JSON_CASES.values():
        httpx.post(f"{server.url}/v2/models/{case[0]}/infer", content=b"\x00\xff garbage")
    r = httpx.post(server.url + "/v2/models/affine/infer",
                   json={"inputs": [x_input(data=[1, 2, 3, 4])]})
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [2, 3, 4, 5]
    assert httpx.get(server.url + "/v2/health/ready").status_code == 200
