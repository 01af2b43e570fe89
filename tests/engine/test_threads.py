"""Default BLAS threads follow the cores the process may use: affinity and cgroup quota."""

import os

import pytest

from ai_engine.engine import threads


def _tree(tmp_path, proc_cgroup: str, files: dict):
    for rel, text in files.items():
        path = tmp_path / "cg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "cgroup").write_text(proc_cgroup)
    return str(tmp_path / "cg"), str(tmp_path / "cgroup")


@pytest.mark.parametrize("proc,files,quota", [
    ("0::/\n", {"cpu.max": "150000 100000\n"}, 1.5),
    ("0::/\n", {"cpu.max": "max 100000\n"}, None),
    ("0::/kubepods/pod1\n", {"cpu.max": "max 100000", "kubepods/cpu.max": "400000 100000",
                             "kubepods/pod1/cpu.max": "200000 100000"}, 2.0),
    ("0::/a/b\n", {"a/cpu.max": "100000 100000", "a/b/cpu.max": "max 100000"}, 1.0),
    ("4:cpu,cpuacct:/docker/x\n", {"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "300000",
                                   "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000"}, 3.0),
    ("4:cpu,cpuacct:/\n", {"cpu,cpuacct/cpu.cfs_quota_us": "-1",
                           "cpu,cpuacct/cpu.cfs_period_us": "100000"}, None),
    ("0::/\n", {}, None),
])
def test_cgroup_quota_v1_and_v2(tmp_path, proc, files, quota):
    root, proc_file = _tree(tmp_path, proc, files)
    assert threads.cgroup_cpu_quota(root, proc_file) == quota


def test_usable_cores_is_affinity_capped_by_quota(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    root, proc_file = _tree(tmp_path, "0::/\n", {"cpu.max": "150000 100000"})
    assert threads.usable_cores(root, proc_file) == 1  # 1.5 CPUs: one unthrottled thread
    root, proc_file = _tree(tmp_path, "0::/\n", {"cpu.max": "6400000 100000"})
    assert threads.usable_cores(root, proc_file) == affinity  # quota above the mask


def test_default_caps_blas_at_usable_cores_and_never_raises_it(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    monkeypatch.setattr(threads, "_owned_size", None)
    with threadpool_limits(limits=64, user_api="blas"):
        monkeypatch.setattr(threads, "_capped", False)
        monkeypatch.setattr(threads, "usable_cores", lambda: 1)
        threads.apply_intra_op_threads(0)
        assert set(blas_threads()) == {1}
    with threadpool_limits(limits=1, user_api="blas"):
        monkeypatch.setattr(threads, "_capped", False)
        monkeypatch.setattr(threads, "usable_cores", lambda: 2)
        threads.apply_intra_op_threads(0)
        assert set(blas_threads()) == {1}  # a smaller pool set before stays
    with pytest.raises(ValueError, match="intra_op_num_threads"):
        threads.apply_intra_op_threads(-1)


def test_tuner_keeps_the_faster_count_and_explores_the_other(monkeypatch):
    from ai_engine.engine import thread_tuner

    monkeypatch.setattr(thread_tuner, "_active_runs", 0)
    monkeypatch.setattr(threads, "resize_owned_pool", lambda n: True)
    tuner = thread_tuner.ThreadTuner(cores=2)
    latency = {2: 0.010, 1: 0.004}  # a loaded machine: one thread is faster
    used = []
    for _ in range(64):
        count = tuner.begin()
        used.append(count)
        tuner.end(count, latency[count])
    assert used[:2] == [2, 1]  # each count measured once first
    assert used.count(2) == 1 + 2  # then only at the exploring runs (every 32nd)
    assert all(c == 1 for i, c in enumerate(used[2:], 2) if i % 32 != 31)
    latency.update({2: 0.002})  # the load went away: two threads win again
    used = []
    for _ in range(40):
        count = tuner.begin()
        used.append(count)
        tuner.end(count, latency[count])
    assert used[-1] == 2 and used.count(2) >= 40 - 32  # switched at the first exploration


def test_tuner_leaves_the_pool_alone_when_another_run_is_in_flight(monkeypatch):
    from ai_engine.engine import thread_tuner

    monkeypatch.setattr(thread_tuner, "_active_runs", 0)
    monkeypatch.setattr(threads, "resize_owned_pool", lambda n: True)
    first, second = thread_tuner.ThreadTuner(2), thread_tuner.ThreadTuner(2)
    count = first.begin()
    assert count == 2 and second.begin() is None  # concurrent: no resize, not measured
    second.end(None, 0.5)
    first.end(count, 0.01)
    assert second.mean == {2: None, 1: None} and first.mean[2] == 0.01


def test_pool_set_by_someone_else_is_not_resized(monkeypatch):
    from threadpoolctl import threadpool_limits

    monkeypatch.setattr(threads, "_owned_size", 2)
    with threadpool_limits(limits=1, user_api="blas"):  # e.g. the server, or the user
        assert threads.resize_owned_pool(2) is False
        assert threads._owned_size is None
    assert threads.resize_owned_pool(1) is False


def test_concurrent_runs_with_the_tuner_give_the_same_results():
    import threading

    import numpy as np

    from ai_engine import InferenceSession
    from test_session import mlp_model

    model, ref = mlp_model()
    session = InferenceSession(model)
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    expected = ref(x)
    failures = []

    def work():
        for _ in range(60):
            got = session.run(None, {"x": x})[0]
            if not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
                failures.append(got)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not failures
    from ai_engine.engine import thread_tuner
    assert thread_tuner._active_runs == 0
