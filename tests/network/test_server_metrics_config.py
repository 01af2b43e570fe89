"""/metrics' queue-time histogram and /v2/models/M/config's enforced scheduling values."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ai_engine.network.repository import ModelRepository
from ai_engine.scheduler import BatchPolicy, QueueFullError
from ai_engine.scheduler.stats import QUEUE_BUCKETS_S, ModelStats
from server_harness import SLOW, add_model, affine_model

BODY = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}


def queue_histogram(server, model: str) -> dict:
    """{le: cumulative count, "count": n, "sum": s} of one model's queue-time histogram."""
    text = httpx.get(server.url + "/metrics").text
    (family,) = [f for f in text_string_to_metric_families(text)
                 if f.name == "ai_engine_queue_duration_seconds"]
    assert family.type == "histogram"
    out = {}
    for sample in family.samples:
        if sample.labels.get("model") != model:
            continue
        assert sample.labels["version"] == "1"
        if sample.name.endswith("_bucket"):
            out[sample.labels["le"]] = sample.value
        else:
            out[sample.name.rsplit("_", 1)[1]] = sample.value
    return out


def test_queue_time_histogram_counts_every_executed_request(server):
    before = queue_histogram(server, "affine")
    for _ in range(5):
        assert httpx.post(server.url + "/v2/models/affine/infer", json=BODY).status_code == 200
    after = queue_histogram(server, "affine")
    assert after["count"] - before.get("count", 0) == 5
    bounds = [float(le) for le in after if le not in ("+Inf", "count", "sum")]
    assert bounds == list(QUEUE_BUCKETS_S)
    cumulative = [after[le] for le in after if le not in ("count", "sum")]
    assert cumulative == sorted(cumulative) and cumulative[-1] == after["count"]
    assert after["sum"] >= before.get("sum", 0.0)
    stats = httpx.get(server.url + "/v2/models/affine/stats").json()["model_stats"][0]
    assert stats["inference_stats"]["queue"]["count"] == after["count"]
    assert abs(stats["inference_stats"]["queue"]["ns"] / 1e9 - after["sum"]) < 1e-6


def config(server, model):
    r = httpx.get(f"{server.url}/v2/models/{model}/config")
    assert r.status_code == 200, r.text
    return r.json()


def test_config_reports_the_enforced_server_defaults(server):
    """'affine' has no config file: the server's defaults (8 rows, no delay, 256 queued)."""
    cfg = config(server, "affine")
    assert cfg["max_batch_size"] == 8
    assert cfg["dynamic_batching"] == {"preferred_batch_size": [],
                                       "max_queue_delay_microseconds": 0,
                                       "default_queue_policy": {"max_queue_size": 256}}
    assert cfg["scheduler"] == {"batches_across_requests": True, "max_queue_size": 256,
                                "execution_timeout_microseconds": 60_000_000}
    assert cfg["instance_group"] == [{"count": 1, "kind": "KIND_CPU"}]


def test_config_reports_the_model_config_values(server):
    cfg = config(server, "batched")  # config.json: 32 rows, 300 ms, preferred [32]
    assert cfg["max_batch_size"] == 32
    assert cfg["dynamic_batching"] == {"preferred_batch_size": [32],
                                       "max_queue_delay_microseconds": 300000,
                                       "default_queue_policy": {"max_queue_size": 256}}
    cfg = config(server, "slow_full")  # pbtxt: 64 rows, 1.5 s, queue of 2
    assert cfg["max_batch_size"] == 64
    assert cfg["dynamic_batching"]["max_queue_delay_microseconds"] == 1500000
    assert cfg["dynamic_batching"]["default_queue_policy"] == {"max_queue_size": 2}
    cfg = config(server, "fixed")  # max_batch_size: 0 -> requests queue, unbatched
    assert cfg["max_batch_size"] == 0 and "dynamic_batching" not in cfg
    assert cfg["scheduler"] == {"batches_across_requests": False, "max_queue_size": 256,
                                "execution_timeout_microseconds": 60_000_000}
    assert config(server, "multi")["version_policy"] == {"specific": {"versions": [1, 3]}}


def test_reported_queue_bound_is_the_one_enforced(tmp_path):
    """In process: the bound in the config answer is the one at which submit refuses."""
    add_model(str(tmp_path), "m", affine_model(), config=SLOW % "")  # waits 1.5 s for more

    async def main():
        repo = ModelRepository(str(tmp_path), {}, ThreadPoolExecutor(1),
                               BatchPolicy(max_queue_size=3))
        await repo.load("m")
        mv = repo.get("m")
        bound = mv.triton_config()["dynamic_batching"]["default_queue_policy"]["max_queue_size"]
        x = {"x": np.ones((1, 4), np.float32)}
        waiting = [asyncio.ensure_future(mv.batcher.submit(x)) for _ in range(bound)]
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFullError):
            await mv.batcher.submit(x)
        await asyncio.gather(*waiting)
        await repo.close()
        return bound

    assert asyncio.run(main()) == 3


def test_queue_waits_fall_into_their_buckets():
    s = ModelStats("m", "1")
    for ns in (50_000, 100_000, 100_001, 3_000_000_000, 60_000_000_000):
        s.queue_wait(ns)
    idx = {b: i for i, b in enumerate(QUEUE_BUCKETS_S)}
    expected = [0] * (len(QUEUE_BUCKETS_S) + 1)
    expected[idx[0.0001]] = 2          # 50 us and exactly 100 us (le is inclusive)
    expected[idx[0.00025]] = 1         # 100.001 us
    expected[idx[5.0]] = 1             # 3 s
    expected[-1] = 1                   # 60 s: past the last bound
    assert s.queue_buckets == expected
    assert s.count["queue"] == 5 and s.ns["queue"] == 63_000_250_001
