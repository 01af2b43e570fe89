"""API keys, the body limit and payload-free logs, against the real server process."""

import gzip
import json

import httpx
import pytest

from ai_engine.privacy.redaction import redact
from server_harness import Server, add_model, affine_model, identity_model

KEY = "s3cret-key"
MARKER = "PAYLOAD-MARKER-7781"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    repo = str(tmp_path_factory.mktemp("priv_repo"))
    add_model(repo, "affine", affine_model())
    add_model(repo, "strings", identity_model(8))  # ONNX STRING
    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys.write_text("# one key a line\nfile-key\n")
    srv = Server("--model-repository", repo, "--api-key", KEY, "--api-keys-file", str(keys),
                 "--max-body-bytes", "2048", "--max-request-elements", "1000", "--threads", "2",
                 "--log-level", "debug")
    yield srv
    srv.stop()


BODY = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
INFER = "/v2/models/affine/infer"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"X-API-Key": "wrong"}, {"Authorization": KEY}])
def test_requests_without_a_valid_key_get_401(guarded, headers):
    r = httpx.post(guarded.url + INFER, json=BODY, headers=headers)
    assert r.status_code == 401 and "API key" in r.json()["error"]
    assert httpx.get(guarded.url + "/metrics", headers=headers).status_code == 401


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY},
                                     {"X-API-Key": "file-key"}])
def test_valid_keys_pass(guarded, headers):
    assert httpx.post(guarded.url + INFER, json=BODY, headers=headers).status_code == 200


def test_health_stays_open(guarded):
    for path in ("/v2/health/live", "/v2/health/ready", "/api/v1/health"):
        assert httpx.get(guarded.url + path).status_code == 200


def test_body_over_the_limit_gets_413(guarded):
    big = {"inputs": [{"name": "x", "shape": [200, 4], "datatype": "FP32",
                       "data": [1.0] * 800}]}
    auth = {"X-API-Key": KEY}
    r = httpx.post(guarded.url + INFER, json=big, headers=auth)
    assert r.status_code == 413 and "limit of 2048 bytes" in r.json()["error"]

    def chunks():  # no Content-Length: counted while streaming
        raw = json.dumps(big).encode()
        for i in range(0, len(raw), 512):
            yield raw[i:i + 512]

    r = httpx.post(guarded.url + INFER, content=chunks(), headers=auth)
    assert r.status_code == 413
    r = httpx.post(guarded.url + INFER, content=gzip.compress(json.dumps(big).encode()),
                   headers={**auth, "Content-Encoding": "gzip"})
    assert r.status_code == 413 and "decompression" in r.json()["error"]
    r = httpx.post(guarded.url + "/api/v1/infer", headers=auth,
                   json={"model": "affine", "inputs": {"x": [[1.0] * 4] * 200}})
    assert r.status_code == 413


def test_declared_elements_over_the_limit_get_413(guarded):
    """--max-request-elements: a small body declaring a big tensor is refused unread."""
    body = {"inputs": [{"name": "x", "shape": [300, 4], "datatype": "FP32", "data": [1.0]}]}
    r = httpx.post(guarded.url + INFER, json=body, headers={"X-API-Key": KEY})
    assert r.status_code == 413, r.text
    assert "1200 elements; the server's limit is 1000" in r.json()["error"]


def test_payloads_never_reach_the_logs(guarded):
    auth = {"X-API-Key": KEY}
    good = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BYTES",
                        "data": [MARKER, MARKER, MARKER]}]}
    assert httpx.post(guarded.url + "/v2/models/strings/infer", json=good,
                      headers=auth).status_code == 200
    bad = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                       "data": [MARKER] * 4}]}
    assert httpx.post(guarded.url + INFER, json=bad, headers=auth).status_code == 400
    httpx.post(guarded.url + INFER, content=f'{{"{MARKER}'.encode(), headers=auth)
    log = guarded.log()
    assert "POST /v2/models/strings/infer" in log  # the request was logged ...
    assert MARKER not in log                      # ... its payload was not


def test_redaction_of_stray_payloads():
    assert "0.25" not in redact('failed on {"data": [0.25, 0.5]}')
    assert "123" not in redact("values 123 456 789 101 112 131 415 161 718 192")


def test_redaction_keeps_names_paths_versions_and_reasons():
    reason = ("model 'resnet50': no version folder with a model.onnx matches its version "
              "policy ('latest', 1); /srv/models/resnet50/1/model.onnx -> /mnt/store/r50.onnx")
    assert redact(reason) == reason


def test_redaction_removes_secrets():
    text = redact(f"headers Authorization: Bearer tok-123, X-API-Key: {KEY}; key {KEY} again",
                  secrets=(KEY,))
    assert "tok-123" not in text and KEY not in text
    assert text.count("<secret>") == 3
    assert "array([<redacted>])" in redact("got array([0.5, 0.25])")
