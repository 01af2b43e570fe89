"""Queue bound (429), request timeout (dropped unrun) and client disconnects, over HTTP."""

import concurrent.futures as cf
import time

import httpx
import pytest

from server_harness import SLOW, Server, add_model, affine_model

BODY = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    repo = str(tmp_path_factory.mktemp("sched_repo"))
    for name in ("slow_timeout", "slow_cancel"):
        add_model(repo, name, affine_model(), config=SLOW % "")
    add_model(repo, "slow_full", affine_model(),
              config=SLOW % "default_queue_policy { max_queue_size: 2 }")
    add_model(repo, "fast", affine_model())
    srv = Server("--model-repository", repo, "--threads", "2")
    yield srv
    srv.stop()


def stats(server, model):
    return httpx.get(f"{server.url}/v2/models/{model}/stats").json()["model_stats"][0]


def test_full_queue_answers_429(server):
    with cf.ThreadPoolExecutor(4) as pool:
        waiting = [pool.submit(httpx.post, server.url + "/v2/models/slow_full/infer",
                               json=BODY, timeout=10) for _ in range(2)]
        time.sleep(0.4)
        r = httpx.post(server.url + "/v2/models/slow_full/infer", json=BODY)
        assert r.status_code == 429 and "queue" in r.json()["error"]
        fast = httpx.post(server.url + "/v2/models/fast/infer", json=BODY)
        assert fast.status_code == 200  # other models are unaffected
        assert [w.result().status_code for w in waiting] == [200, 200]  # accepted work done


def test_timeout_drops_work_before_it_runs(server):
    """A request with a 100 ms timeout, queued behind a 1.5 s batching delay, is answered at
    its deadline: before an untimed request queued beside it (order, not wall-clock)."""
    body = {**BODY, "parameters": {"timeout": 100_000}}
    with cf.ThreadPoolExecutor(1) as pool:
        untimed = pool.submit(httpx.post, server.url + "/v2/models/slow_timeout/infer",
                              json=BODY, timeout=30)
        r = httpx.post(server.url + "/v2/models/slow_timeout/infer", json=body, timeout=30)
        assert not untimed.done()
        assert r.status_code == 503, r.text
        assert "timeout of 100 ms expired in the queue" in r.json()["error"]
        assert "phase: queue" in r.json()["error"]
        assert untimed.result().status_code == 200
    s = stats(server, "slow_timeout")
    assert s["execution_count"] == 1 and s["inference_count"] == 1  # only the untimed one
    assert s["inference_stats"]["fail"]["count"] == 1


def test_health_answers_while_requests_wait(server):
    with cf.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(httpx.post, server.url + "/v2/models/slow_cancel/infer",
                              json=BODY, timeout=10)
        time.sleep(0.2)
        assert httpx.get(server.url + "/v2/health/ready").status_code == 200
        assert not waiting.done()  # health answered while the request still waits
        assert waiting.result().status_code == 200


def test_client_disconnect_cancels_queued_work(server):
    before = stats(server, "slow_cancel")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.url + "/v2/models/slow_cancel/infer", json=BODY, timeout=0.3)
    time.sleep(1.8)
    after = stats(server, "slow_cancel")
    assert after["inference_stats"]["cancel"]["count"] == \
        before["inference_stats"]["cancel"]["count"] + 1
    assert after["execution_count"] == before["execution_count"]
