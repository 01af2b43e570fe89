"""Dynamic batching over HTTP: concurrent requests share executions, answers stay exact."""

import concurrent.futures as cf

import httpx
import numpy as np


def stats(server, model):
    return httpx.get(f"{server.url}/v2/models/{model}/stats").json()["model_stats"][0]


def post(server, model, x):
    body = {"inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32",
                        "data": x.ravel().tolist()}]}
    r = httpx.post(f"{server.url}/v2/models/{model}/infer", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return np.array(r.json()["outputs"][0]["data"], np.float32).reshape(r.json()["outputs"][0]
                                                                       ["shape"])


def test_concurrent_requests_are_batched_and_exact(server):
    rng = np.random.default_rng(1)
    xs = [rng.random((int(rng.integers(1, 4)), 4), dtype=np.float32) for _ in range(16)]
    before = stats(server, "batched")
    with cf.ThreadPoolExecutor(16) as pool:
        outs = list(pool.map(lambda x: post(server, "batched", x), xs))
    after = stats(server, "batched")
    for x, y in zip(xs, outs, strict=True):
        np.testing.assert_allclose(y, x * 2.0 + 0.5, rtol=1e-6)  # what an unbatched run gives
    executions = after["execution_count"] - before["execution_count"]
    rows = after["inference_count"] - before["inference_count"]
    assert rows == sum(len(x) for x in xs)
    assert executions < len(xs) // 2, executions
    assert max(b["batch_size"] for b in after["batch_stats"]) > 4
    text = httpx.get(server.url + "/metrics").text
    assert 'ai_engine_batch_size_count{model="batched",version="1"}' in text


def test_api_v1_batch_runs_as_one_batch(server):
    before = stats(server, "batched")["execution_count"]
    requests = [{"inputs": {"x": [[float(i)] * 4]}} for i in range(6)]
    requests.append({"inputs": {"x": [[1.0, 2.0]]}})  # a bad one fails alone
    r = httpx.post(server.url + "/api/v1/batch", json={"model": "batched", "requests": requests})
    assert r.status_code == 200, r.text
    responses = r.json()["responses"]
    for i, resp in enumerate(responses[:6]):
        assert resp["outputs"]["y"]["data"] == [[i * 2.0 + 0.5] * 4]
    assert responses[6]["status"] == 400 and "expects shape" in responses[6]["error"]
    assert stats(server, "batched")["execution_count"] - before == 1
