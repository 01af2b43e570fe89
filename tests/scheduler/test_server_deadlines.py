"""The real server and a Loop of trip count 10**12: deadlines, disconnects and SIGTERM stop
its runs, and the model keeps answering. No wall-clock thresholds: every request has a
generous client timeout (30 s), and the test asserts statuses, messages and order."""

import concurrent.futures as cf
import signal
import time

import httpx
import pytest

from server_harness import Server, add_model, counting_loop_model

FOREVER = 10 ** 15
CLIENT_TIMEOUT = 30


def v2_body(stop: int, timeout_us: int | None = None) -> dict:
    body = {"inputs": [{"name": "stop", "shape": [1], "datatype": "INT64", "data": [stop]}]}
    if timeout_us is not None:
        body["parameters"] = {"timeout": timeout_us}
    return body


def post(server, body, path="/v2/models/loop/infer", timeout=CLIENT_TIMEOUT):
    return httpx.post(server.url + path, json=body, timeout=timeout)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = str(tmp_path_factory.mktemp("loop_repo"))
    add_model(repo, "loop", counting_loop_model())
    return repo


@pytest.fixture(scope="module")
def server(repo):
    srv = Server("--model-repository", repo, "--threads", "2", "--execution-timeout-s", "1")
    yield srv
    srv.stop()


def test_timeout_stops_the_run_and_the_model_answers_the_next_request(server):
    r = post(server, v2_body(FOREVER, 200_000))
    assert r.status_code == 503, r.text
    assert "200 ms expired during the execution" in r.json()["error"]
    assert "phase: execution" in r.json()["error"]
    r = post(server, v2_body(5))
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [5]


def test_api_v1_timeout_bounds_the_execution(server):
    r = post(server, {"model": "loop", "inputs": {"stop": {"data": [FOREVER], "dtype": "int64"}},
                      "timeout_us": 200_000}, path="/api/v1/infer")
    assert r.status_code == 503 and "phase: execution" in r.json()["error"], r.text
    r = post(server, {"model": "loop", "inputs": {"stop": {"data": [4], "dtype": "int64"}}},
             path="/api/v1/infer")
    assert r.status_code == 200 and r.json()["outputs"]["count"]["data"] == [4]


def test_server_execution_limit_applies_to_requests_without_a_timeout(server):
    r = post(server, v2_body(FOREVER))
    assert r.status_code == 503 and "execution limit of 1 s" in r.json()["error"], r.text
    config = httpx.get(server.url + "/v2/models/loop/config").json()
    assert config["scheduler"]["execution_timeout_microseconds"] == 1_000_000


def test_client_disconnect_stops_the_run(server):
    # The request's own 60 s timeout overrides the 1 s limit: only the disconnect can stop it.
    with pytest.raises(httpx.ReadTimeout):
        post(server, v2_body(FOREVER, 60_000_000), timeout=0.5)
    r = post(server, v2_body(3))  # would wait ~60 s (past the client timeout) if it ran on
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [3]
    stats = httpx.get(server.url + "/v2/models/loop/stats").json()["model_stats"][0]
    assert stats["inference_stats"]["cancel"]["count"] >= 1


def test_sigterm_stops_runs_in_flight_and_exits(repo):
    # No execution limit (the env twin of --execution-timeout-s): only SIGTERM's grace ends it.
    srv = Server("--model-repository", repo, "--threads", "2", "--shutdown-grace-s", "1",
                 env={"AI_ENGINE_EXECUTION_TIMEOUT_S": "0"})
    try:
        r = post(srv, v2_body(FOREVER, 200_000))
        assert r.status_code == 503 and "phase: execution" in r.json()["error"]
        assert post(srv, v2_body(2)).json()["outputs"][0]["data"] == [2]
        config = httpx.get(srv.url + "/v2/models/loop/config").json()
        assert config["scheduler"]["execution_timeout_microseconds"] == 0
        with cf.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(post, srv, v2_body(FOREVER))
            while httpx.get(srv.url + "/metrics").text.find(
                    'ai_engine_queue_duration_seconds_count{model="loop",version="1"} 3.0') < 0:
                time.sleep(0.05)  # until the third request has started executing
            srv.proc.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal after its graceful shutdown: killed by SIGTERM,
            # but only after the application shut down.
            assert srv.proc.wait(timeout=60) == -signal.SIGTERM
            r = in_flight.result()
        assert r.status_code == 503 and "shutting down" in r.json()["error"], r.text
        assert "phase: execution" in r.json()["error"]
        assert "Application shutdown complete" in srv.log()
    finally:
        srv.stop()
