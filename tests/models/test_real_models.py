"""Real model families, exported from PyTorch with random weights (scripts/export_test_models.py),
run by ai-engine and by onnxruntime on the same inputs: outputs agree to 1e-4 relative.
"""

import os

import numpy as np
import onnxruntime as ort
import pytest

from ai_engine import InferenceSession, SessionOptions

DATA = os.path.join(os.path.dirname(__file__), "data")


def _feeds(name, batch, rng):
    if name == "transformer_encoder":
        return {"tokens": rng.integers(0, 100, (batch, 16)).astype(np.int64)}
    if name == "lstm_tagger":
        return {"features": rng.standard_normal((batch, 12, 16)).astype(np.float32)}
    return {"image": rng.standard_normal((batch, 3, 64, 64)).astype(np.float32)}


@pytest.mark.slow
@pytest.mark.parametrize("opt_level", [0, 99], ids=["unoptimized", "optimized"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", ["tiny_resnet", "tiny_mobilenet", "transformer_encoder",
                                  "lstm_tagger"])
def test_matches_onnxruntime(name, batch, opt_level):
    path = os.path.join(DATA, f"{name}.onnx")
    ours = InferenceSession(path, SessionOptions(graph_optimization_level=opt_level))
    peer = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = _feeds(name, batch, np.random.default_rng(batch))
    (got,) = ours.run(None, feeds)
    (want,) = peer.run(None, feeds)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("name", ["tiny_resnet", "tiny_mobilenet", "transformer_encoder"])
def test_results_survive_the_next_run(name):
    """Kernels reuse scratch buffers between runs: an output must never be one of them."""
    session = InferenceSession(os.path.join(DATA, f"{name}.onnx"))
    (first,) = session.run(None, _feeds(name, 1, np.random.default_rng(1)))
    kept = first.copy()
    (second,) = session.run(None, _feeds(name, 1, np.random.default_rng(2)))
    np.testing.assert_array_equal(first, kept)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("name", ["tiny_resnet", "transformer_encoder"])
def test_one_session_many_threads(name):
    """The server runs one session from several worker threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    session = InferenceSession(os.path.join(DATA, f"{name}.onnx"))
    feeds = [_feeds(name, 1 + i % 2, np.random.default_rng(i)) for i in range(8)]
    expected = [session.run(None, f)[0] for f in feeds]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            got = list(pool.map(lambda f: session.run(None, f)[0], feeds))
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
