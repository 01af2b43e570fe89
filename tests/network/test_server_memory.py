"""Unloading frees memory: 20 load/unload cycles of a ~100 MB model keep RSS within 10%."""

import httpx
import pytest

from server_harness import Server, add_model, big_model


@pytest.mark.slow
def test_unload_releases_memory(tmp_path):
    repo = str(tmp_path)
    add_model(repo, "big", big_model(100))
    srv = Server("--model-repository", repo, "--threads", "2")
    try:
        load = f"{srv.url}/v2/repository/models/big/load"
        unload = f"{srv.url}/v2/repository/models/big/unload"
        assert httpx.post(unload, timeout=60).status_code == 200
        baseline = srv.rss_bytes()
        loaded = []
        for _ in range(20):
            assert httpx.post(load, timeout=60).status_code == 200
            loaded.append(srv.rss_bytes())
            assert httpx.post(unload, timeout=60).status_code == 200
        final = srv.rss_bytes()
        assert min(loaded) > baseline + 80e6  # the model really was in memory each time
        assert final < baseline * 1.10, (baseline, final)
    finally:
        srv.stop()
