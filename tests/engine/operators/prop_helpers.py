"""Shared helpers of the property tests (test_properties_*.py):
one-node models run through ai-engine and onnxruntime, and the strategies they draw from."""

import os

import numpy as np
import onnxruntime as ort
from hypothesis import assume, settings
from hypothesis import strategies as st

from ai_engine import InferenceSession
from builders import one_node_model

# PROP_EXAMPLES=500 when hunting; the default keeps the file fast
SETTINGS = settings(max_examples=int(os.environ.get("PROP_EXAMPLES", 30)), deadline=None)
DIM = st.integers(1, 4)
SHAPE = st.lists(DIM, min_size=1, max_size=4)


def _ort(model, feeds):
    return ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, feeds)


def _both(op, feeds, n_out=1, opset=18, via_f64=(), **attrs):
    """Every output of a one-node model, from us and from onnxruntime.

    ``via_f64`` names data inputs of a data-movement op: where ORT has no kernel for their
    dtype, ORT runs on them cast to float64 (lossless for every dtype drawn here) and its
    outputs of that dtype are cast back.
    """
    outs = [f"y{i}" for i in range(n_out)]
    model = one_node_model(op, feeds, outs, opset, attrs)
    feeds = {k: v for k, v in feeds.items() if k}
    ours = InferenceSession(model).run(None, feeds)
    try:
        peer = _ort(model, feeds)
    except ort.capi.onnxruntime_pybind11_state.NotImplemented:
        if not via_f64:
            raise
        dtype = feeds[via_f64[0]].dtype
        for wide in (np.float64, np.float32):  # float32: where ORT lacks float64 too
            cast = {k: v.astype(wide) if k in via_f64 else v for k, v in feeds.items()}
            model = one_node_model(op, cast, outs, opset, attrs)
            try:
                peer = [p.astype(dtype) if p.dtype == wide else p for p in _ort(model, cast)]
                break
            except ort.capi.onnxruntime_pybind11_state.NotImplemented:
                if wide == np.float32:
                    raise
    return ours, peer


def _same(ours, peer, rtol=1e-5, atol=1e-6):
    assert len(ours) == len(peer)
    for a, b in zip(ours, peer):
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        assert a.shape == b.shape, (a.shape, b.shape)
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64),
                                   rtol=rtol, atol=atol)


def _check(op, feeds, n_out=1, opset=18, rtol=1e-5, atol=1e-6, **attrs):
    _same(*_both(op, feeds, n_out, opset, **attrs), rtol=rtol, atol=atol)


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -100), min(info.max, 100), shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


DTYPES = st.sampled_from([np.float32, np.float16, np.float64, np.int8, np.uint8, np.int32,
                          np.int64, np.bool_])
FLOATS = st.sampled_from([np.float32, np.float64, np.float16])


@st.composite
def broadcast_shapes(draw, n):
    rank = draw(st.integers(0, 4))
    shape = draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
    out = []
    for _ in range(n):
        s = [d if draw(st.booleans()) else 1 for d in shape]
        out.append(tuple(s[draw(st.integers(0, rank)):]))
    return out


def _check_if_ort(op, feeds, n_out=1, opset=18, rtol=1e-5, atol=1e-6, **attrs):
    """_check, skipping the draws whose dtype ORT has no kernel (or schema) for."""
    try:
        ours, peer = _both(op, feeds, n_out, opset, **attrs)
    except Exception as exc:
        assume("NOT_IMPLEMENTED" not in str(exc) and "Type Error" not in str(exc))
        raise
    _same(ours, peer, rtol=rtol, atol=atol)
