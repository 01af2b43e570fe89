"""The model repository extension: index, load, unload, confinement, work in flight."""

import concurrent.futures as cf

import httpx
import numpy as np
import pytest
import tritonclient.http as tc
from tritonclient.utils import InferenceServerException


@pytest.fixture(scope="module")
def client(server):
    return tc.InferenceServerClient(server.url.removeprefix("http://"), concurrency=16)


def infer_affine(client, model, value=1.0):
    x = tc.InferInput("x", [1, 4], "FP32")
    x.set_data_from_numpy(np.full((1, 4), value, np.float32))
    return client.infer(model, [x]).as_numpy("y")


def test_index_lists_states_and_reasons(client):
    index = {(m["name"], m.get("version")): m for m in client.get_model_repository_index()}
    assert index[("affine", "1")]["state"] == "READY"
    assert index[("multi", "1")]["state"] == "READY" and ("multi", "2") not in index
    assert index[("broken", None)]["state"] == "UNAVAILABLE"
    assert "not a valid ONNX model" in index[("broken", None)]["reason"]


def test_symlinked_model_is_served(client):
    np.testing.assert_array_equal(infer_affine(client, "linked"), np.full((1, 4), 4.0))


def test_load_failure_is_in_the_server_log_with_its_reason(server):
    lines = [line for line in server.log().splitlines() if "model broken failed to load" in line]
    assert lines and "not a valid ONNX model" in lines[0], lines
    assert "<redacted" not in lines[0]


def test_ready_only_index(server):
    rows = httpx.post(server.url + "/v2/repository/index", json={"ready": True}).json()
    assert rows and all(r["state"] == "READY" for r in rows)
    assert "broken" not in {r["name"] for r in rows}


def test_unload_then_load(client):
    np.testing.assert_array_equal(infer_affine(client, "cycle"), np.full((1, 4), 2.0))
    client.unload_model("cycle")
    assert not client.is_model_ready("cycle")
    with pytest.raises(InferenceServerException, match="not"):
        infer_affine(client, "cycle")
    states = {m["name"]: m["state"] for m in client.get_model_repository_index()}
    assert states["cycle"] == "UNAVAILABLE"
    client.load_model("cycle")
    assert client.is_model_ready("cycle")
    np.testing.assert_array_equal(infer_affine(client, "cycle"), np.full((1, 4), 2.0))


@pytest.mark.parametrize("name", ["..", "...", "a..b", ".hidden", "%2e%2e", "x%2F..%2F..",
                                  "%2Fetc"])
def test_names_escaping_the_repository_are_refused(server, name):
    r = httpx.post(f"{server.url}/v2/repository/models/{name}/load")
    assert r.status_code in (400, 404), r.text
    if r.headers["content-type"].startswith("application/json"):
        assert "error" in r.json() or "detail" in r.json()


def test_load_unknown_and_broken_models(server):
    r = httpx.post(server.url + "/v2/repository/models/nosuch/load")
    assert r.status_code == 404 and "unknown model" in r.json()["error"]
    r = httpx.post(server.url + "/v2/repository/models/broken/load")
    assert r.status_code == 400 and "not a valid ONNX model" in r.json()["error"]
    assert httpx.post(server.url + "/v2/repository/models/nosuch/unload").status_code == 404


@pytest.mark.slow
def test_load_and_unload_while_requests_are_in_flight(client, server):
    """Requests to other models never fail; the cycled model answers right or 'not ready'."""
    def hammer(model, value):
        body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                            "data": [value] * 4}]}
        return httpx.post(f"{server.url}/v2/models/{model}/infer", json=body, timeout=30)

    with cf.ThreadPoolExecutor(8) as pool:
        steady = [pool.submit(hammer, "affine", float(i)) for i in range(60)]
        cycled = [pool.submit(hammer, "inflight", float(i)) for i in range(60)]
        for _ in range(3):
            client.unload_model("inflight")
            client.load_model("inflight")
        for i, f in enumerate(steady):
            assert f.result().json()["outputs"][0]["data"] == [i + 1.0] * 4
        for i, f in enumerate(cycled):
            r = f.result()
            if r.status_code == 200:
                assert r.json()["outputs"][0]["data"] == [i + 1.0] * 4
            else:
                assert r.status_code == 503 and "not" in r.json()["error"], r.text
    assert client.is_model_ready("inflight")
