"""Queue bound (429), request timeout (dropped unrun) and client disconnects, over HTTP.

No assertion here is on wall-clock time (this machine's cores are shared): each test proves
*when* something happened by what else could still happen afterwards. The slow models wait
1.5 s for a batch to fill, so a request sent after event E joins the batch of a request that
was waiting before E exactly when that batch had not run yet at E; ``batch_stats`` then
shows one execution of size 2 instead of two of size 1. Waiting for requests to be queued
polls the server's ``nv_inference_pending_request_count`` gauge instead of sleeping.
"""

import concurrent.futures as cf
import json
import re
import socket
import time

import httpx
import pytest

from server_harness import HOST, SLOW, Server, add_model, affine_model

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


def batch_sizes(s) -> dict:
    """{batch size: executions} of one model's statistics."""
    return {b["batch_size"]: b["compute_infer"]["count"] for b in s["batch_stats"]}


def pending(server, model) -> int:
    text = httpx.get(server.url + "/metrics").text
    gauge = rf'nv_inference_pending_request_count\{{model="{re.escape(model)}",[^}}]*\}}'
    m = re.search(rf"^{gauge} (\d+)$", text, re.MULTILINE)
    assert m, f"no pending gauge for {model!r}"
    return int(m.group(1))


def wait_until(condition, what: str, limit_s: float = 30.0) -> None:
    """Poll ``condition`` until true; ``limit_s`` only bounds a hang, it asserts nothing
    about speed."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.01)


def post(server, model, body=BODY, timeout=30):
    return httpx.post(f"{server.url}/v2/models/{model}/infer", json=body, timeout=timeout)


def test_full_queue_answers_429(server):
    with cf.ThreadPoolExecutor(4) as pool:
        waiting = [pool.submit(post, server, "slow_full") for _ in range(2)]
        wait_until(lambda: pending(server, "slow_full") == 2, "2 requests queued")
        r = post(server, "slow_full")
        assert r.status_code == 429 and "queue" in r.json()["error"]
        fast = post(server, "fast")
        assert fast.status_code == 200  # other models are unaffected
        assert not any(w.done() for w in waiting)  # the 429 came while the queue was full
        assert [w.result().status_code for w in waiting] == [200, 200]  # accepted work done
    s = stats(server, "slow_full")
    assert s["inference_count"] == 2 and batch_sizes(s) == {2: 1}  # the refused one never ran


def test_timeout_drops_work_before_it_runs(server):
    """A request whose timeout (100 ms) is shorter than the queue delay (1.5 s) is answered
    503 at its deadline, while the batch it waited in is still open, and never runs."""
    with cf.ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, server, "slow_timeout")
        wait_until(lambda: pending(server, "slow_timeout") == 1, "first request queued")
        r = post(server, "slow_timeout", {**BODY, "parameters": {"timeout": 100_000}})
        assert r.status_code == 503 and "timeout expired" in r.json()["error"]
        assert not first.done()
        # Sent after the 503: it can only share the first request's batch if that batch had
        # not run yet, i.e. the 503 came at the deadline, not after the queue delay.
        last = pool.submit(post, server, "slow_timeout")
        assert first.result().status_code == 200 and last.result().status_code == 200
    s = stats(server, "slow_timeout")
    assert batch_sizes(s) == {2: 1}, s["batch_stats"]
    assert s["execution_count"] == 1 and s["inference_count"] == 2  # the expired one never ran
    assert s["inference_stats"]["fail"]["count"] == 1
    assert s["inference_stats"]["success"]["count"] == 2


def test_health_answers_while_requests_wait(server):
    before = stats(server, "slow_cancel")
    with cf.ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, server, "slow_cancel")
        wait_until(lambda: pending(server, "slow_cancel") == 1, "request queued")
        assert httpx.get(server.url + "/v2/health/ready").status_code == 200
        assert not first.done()
        # Joins the waiting request's batch only if that batch was still open after health
        # answered: health did not wait behind the queued request.
        last = pool.submit(post, server, "slow_cancel")
        assert first.result().status_code == 200 and last.result().status_code == 200
    after = stats(server, "slow_cancel")
    assert after["execution_count"] == before["execution_count"] + 1
    assert batch_sizes(after).get(2, 0) == batch_sizes(before).get(2, 0) + 1


def test_client_disconnect_cancels_queued_work(server):
    before = stats(server, "slow_cancel")
    body = json.dumps(BODY).encode()
    with socket.create_connection((HOST, server.port)) as conn:  # a client that goes away
        conn.sendall(b"POST /v2/models/slow_cancel/infer HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        wait_until(lambda: pending(server, "slow_cancel") == 1, "request queued")
    wait_until(lambda: stats(server, "slow_cancel")["inference_stats"]["cancel"]["count"]
               == before["inference_stats"]["cancel"]["count"] + 1, "cancel counted")
    wait_until(lambda: pending(server, "slow_cancel") == 0, "queue empty")
    after = stats(server, "slow_cancel")
    assert after["inference_stats"]["cancel"]["count"] == \
        before["inference_stats"]["cancel"]["count"] + 1
    assert after["execution_count"] == before["execution_count"]
    assert after["inference_count"] == before["inference_count"]
