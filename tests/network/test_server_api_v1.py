"""The seed's /api/v1 and the no-argument start: the demo model, settings from AI_ENGINE_*."""

import httpx
import numpy as np
import pytest

from ai_engine.demo import samples
from server_harness import Server, free_port


@pytest.fixture(scope="module")
def demo():
    port = free_port()
    # No flags at all: everything from the environment, as a container would set it.
    srv = Server(env={"AI_ENGINE_PORT": str(port), "AI_ENGINE_THREADS": "2"}, port=port)
    yield srv
    srv.stop()


def test_demo_served_as_digits(demo):
    pixels, labels = samples()
    r = httpx.post(demo.url + "/api/v1/infer",
                   json={"model": "digits", "inputs": {"pixels": pixels[:5].tolist()}})
    assert r.status_code == 200, r.text
    out = r.json()["outputs"]
    assert out["label"]["dtype"] == "int64" and out["label"]["shape"] == [5]
    assert np.mean(np.array(out["label"]["data"]) == labels[:5]) >= 0.8
    assert np.allclose(np.sum(out["probabilities"]["data"], axis=1), 1, atol=1e-4)


def test_v1_tensor_object_form_and_outputs(demo):
    pixels, _ = samples()
    body = {"model": "digits", "version": "1", "outputs": ["label"],
            "inputs": {"pixels": {"data": pixels[:2].ravel().tolist(), "shape": [2, 64],
                                  "dtype": "float32"}}}
    r = httpx.post(demo.url + "/api/v1/infer", json=body)
    assert r.status_code == 200 and list(r.json()["outputs"]) == ["label"]


def test_v1_health_models_load_delete(demo):
    for method in ("GET", "POST"):
        h = httpx.request(method, demo.url + "/api/v1/health").json()
        assert h["status"] == "ok" and h["models"] == {"digits": "READY"}
    models = httpx.get(demo.url + "/api/v1/models").json()["models"]
    assert models[0]["name"] == "digits" and models[0]["inputs"][0]["shape"] == [-1, 64]
    r = httpx.delete(demo.url + "/api/v1/models/digits")
    assert r.status_code == 200 and r.json()["state"] == "UNAVAILABLE"
    assert httpx.get(demo.url + "/v2/models/digits/ready").status_code == 400
    r = httpx.post(demo.url + "/api/v1/models/load", json={"name": "digits"})
    assert r.status_code == 200 and r.json()["versions"] == ["1"]
    r = httpx.post(demo.url + "/api/v1/models/load", json={"name": "../etc"})
    assert r.status_code == 404


def test_v1_errors(demo):
    r = httpx.post(demo.url + "/api/v1/infer", json={"model": "nope", "inputs": {"x": [1]}})
    assert r.status_code == 404 and "unknown model" in r.json()["error"]
    r = httpx.post(demo.url + "/api/v1/infer",
                   json={"model": "digits",
                         "inputs": {"pixels": {"data": [1] * 64, "dtype": "int8"}}})
    assert r.status_code == 400 and "expects datatype FP32" in r.json()["error"]


def test_v1_accepts_json_sent_as_curl_form_data(demo):
    """``curl -d '{...}'`` labels JSON as a form; the seed's curl examples must still work."""
    import json

    pixels, labels = samples()
    body = json.dumps({"model": "digits", "inputs": {"pixels": pixels[:1].tolist()}})
    r = httpx.post(demo.url + "/api/v1/infer", content=body,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"]["label"]["data"] == [int(labels[0])]
