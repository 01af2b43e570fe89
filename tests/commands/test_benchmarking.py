"""The benchmark measurement core: block order, untimed calls, statistics, the output check,
the worker processes and the tables (no timing thresholds: counts, order and values only)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import onnx
import pytest
from builders import make_model, tensor_info
from onnx import helper

from ai_engine.commands import bench_engines, bench_report, benchmarking
from ai_engine.commands.benchmarking import (Agreement, EngineResult, LoadProbe, ModelResult,
                                             RunCounts, compare_outputs, time_blocks)


def test_every_round_visits_every_engine_in_the_same_order():
    assert benchmarking.block_schedule(["a", "b", "c"], 2) == ["a", "b", "c", "a", "b", "c"]


def test_time_blocks_alternates_engines_and_passes_the_warmup_and_block_size():
    log = []

    def fake_engine(name):
        counter = itertools.count()

        def block(warmup, timed):
            log.append((name, warmup, timed))
            return [float(next(counter)) for _ in range(timed)]
        return block

    times = time_blocks({"ours": fake_engine("ours"), "peer": fake_engine("peer")},
                        {"ours": 3, "peer": 1}, rounds=3, warmup=2)
    assert log == [("ours", 2, 3), ("peer", 2, 1)] * 3
    assert times == {"ours": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                     "peer": [0.0, 1.0, 2.0]}


def test_a_block_times_only_the_calls_after_its_untimed_ones():
    calls, now = [], [0.0]

    def run(feeds):  # the n-th call takes n seconds on the fake clock
        calls.append(feeds["x"])
        now[0] += len(calls)

    times = bench_engines.run_block(run, {"x": 7}, warmup=2, timed=3, clock=lambda: now[0])
    assert calls == [7] * 5
    assert times == [3.0, 4.0, 5.0]  # not the two untimed calls (1 s and 2 s)


@pytest.mark.parametrize("call_s, per_block", [(1e-4, 20), (0.1, 5), (0.3, 1), (30.0, 1)])
def test_blocks_are_sized_to_the_call_time(call_s, per_block):
    assert RunCounts().calls_per_block(call_s) == per_block


def test_slow_models_get_fewer_rounds_but_never_fewer_than_the_minimum():
    counts = RunCounts(rounds=5, warmup=2, engine_seconds=60.0, min_rounds=3)
    assert counts.rounds_for(0.01) == 5
    assert counts.rounds_for(5.0) == 4        # 60 s // (5 s * 3 calls a block)
    assert counts.rounds_for(100.0) == 3


def test_a_fixed_block_size_overrides_the_sizing():
    counts = RunCounts(rounds=5, per_block=4)
    assert counts.calls_per_block(10.0) == 4 and counts.rounds_for(10.0) == 5


def test_percentile_is_a_measured_value_by_nearest_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 6.0, 7.0, 8.0, 9.0]
    assert benchmarking.percentile(values, 90) == 9.0
    assert benchmarking.percentile(values, 50) == 5.0
    assert benchmarking.percentile([2.0], 90) == 2.0


def test_median_p90_ratio_and_geomean():
    ours = EngineResult("ai-engine", times_s=[3.0, 1.0, 2.0])
    peer = EngineResult("onnxruntime", times_s=[1.0, 1.0, 1.0, 2.0])
    res = ModelResult("m", 1, 1.0, {"ai-engine": ours, "onnxruntime": peer}, "onnxruntime")
    assert ours.median_s == 2.0 and ours.p90_s == 3.0
    assert res.ratio("ai-engine") == 2.0
    assert math.isclose(benchmarking.geomean([2.0, 8.0]), 4.0)
    assert benchmarking.geomean([]) is None


def test_outputs_agree_within_the_tolerance_of_the_largest_magnitude():
    ref = [np.array([100.0, 1e-6], np.float32), np.array([1, 2], np.int64)]
    close = [np.array([100.01, 2e-6], np.float32), np.array([1, 2], np.int64)]
    a = compare_outputs(ref, close, rtol=1e-3)
    assert a.ok and 0 < a.max_rel_err < 1e-3


@pytest.mark.parametrize("outputs, detail", [
    ([np.array([100.0, 1.0], np.float32), np.array([1, 3])], "1 of 2 values differ"),
    ([np.array([100.0, 5.0], np.float32), np.array([1, 2])], "max error 4.00e-02"),
    ([np.array([100.0], np.float32), np.array([1, 2])], "shape [1], reference [2]"),
    ([np.array([100.0, 1.0], np.float32)], "1 outputs, reference has 2"),
    ([np.array([np.nan, 1.0], np.float32), np.array([1, 2])], "NaN in different places"),
])
def test_outputs_that_differ_say_how(outputs, detail):
    ref = [np.array([100.0, 1.0], np.float32), np.array([1, 2])]
    a = compare_outputs(ref, outputs, rtol=1e-3)
    assert not a.ok and detail in a.detail


def test_nans_in_the_same_places_and_equal_infinities_agree():
    ref = [np.array([np.nan, np.inf, 1.0])]
    assert compare_outputs(ref, [np.array([np.nan, np.inf, 1.0])], rtol=1e-3).ok
    differ = compare_outputs(ref, [np.array([np.nan, -np.inf, 1.0])], rtol=1e-3)
    assert not differ.ok and "infinities differ" in differ.detail


def _double_model(path):
    model = make_model([helper.make_node("Mul", ["x", "two"], ["y"])],
                       [tensor_info("x", shape=["n", 4])], [tensor_info("y", shape=["n", 4])],
                       initializers={"two": np.full(4, 2.0, np.float32)})
    onnx.save(model, path)
    return str(path)


def test_measure_runs_each_engine_in_its_worker_and_reports_everything(tmp_path):
    path = _double_model(tmp_path / "double.onnx")
    feeds = {"x": np.arange(8, dtype=np.float32).reshape(2, 4)}
    engines = ["ai-engine"] + [e for e in ("onnxruntime",) if bench_engines.installed(e)]
    counts = RunCounts(rounds=2, per_block=3)
    res = benchmarking.measure(path, feeds, engines, threads=1, counts=counts, name="double",
                               batch=2, cold=True)
    assert res.model == "double" and res.batch == 2 and list(res.engines) == engines
    for engine in engines:
        r = res.engines[engine]
        assert r.error is None and len(r.times_s) == 2 * 3
        # the load probe recorded every figure (their size is the benchmark's business)
        assert all(isinstance(v, float) for v in (r.load.create_s, r.load.first_run_s,
                                                   r.load.peak_rss_mib))
    assert isinstance(res.engines["ai-engine"].cold_load.create_s, float)
    if "onnxruntime" in engines:
        assert res.reference == "onnxruntime"
        assert res.engines["ai-engine"].agreement.ok
        assert res.engines["ai-engine"].agreement.max_rel_err == 0.0


def test_an_engine_that_cannot_load_the_model_is_a_result_not_a_crash(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"not a model")
    res = benchmarking.measure(str(path), {"x": np.zeros(1, np.float32)}, ["ai-engine"],
                               counts=RunCounts(rounds=1, per_block=1))
    r = res.engines["ai-engine"]
    assert r.error and "ModelDecodeError" in r.error and r.times_s == [] and res.reference is None


def _result(model, gflop, ours_s, ref_s, rss=(10.0, 10.0), agree=True):
    ours = EngineResult("ai-engine", [ours_s], Agreement(agree, 1e-6, "" if agree else "bad"),
                        LoadProbe(0.01, 0.002, rss[0]))
    ref = EngineResult("onnxruntime", [ref_s], None, LoadProbe(0.01, 0.001, rss[1]))
    return ModelResult(model, 1, gflop, {"ai-engine": ours, "onnxruntime": ref},
                       "onnxruntime")


def test_the_latency_table_has_a_row_per_model_with_ratio_rss_and_check():
    rows = bench_report.latency_table([_result("big", 2.0, 0.002, 0.001),
                                       _result("tiny", 0.01, 0.003, 0.001, agree=False)],
                                      ["ai-engine", "onnxruntime"], {"big": "Big model"})
    assert len(rows) == 4 and rows[0].count("|") == rows[2].count("|")
    assert rows[2].startswith("| Big model | 2 | 2.00 (2.00) | 1.00 (1.00) | 2.00x | 10 / 10")
    assert "ai-engine DIFFERS" in rows[3]


def test_summary_splits_big_and_small_models_and_flags_memory():
    results = [_result("a", 1.0, 0.002, 0.001), _result("b", 4.0, 0.008, 0.001),
               _result("c", 0.1, 0.003, 0.001, rss=(100.0, 10.0))]
    lines = bench_report.summary_lines(results, ["ai-engine", "onnxruntime"])
    assert "big models (>= 0.5 GFLOP): geomean 4.00x over 2, worst 8.00x (b)" in lines[0]
    assert "small models: geomean 3.00x over 1" in lines[1]
    assert lines[2] == "- peak RSS within 1.25x ORT + 16 MiB: 2 of 3 (over: c 100 vs 10)"
