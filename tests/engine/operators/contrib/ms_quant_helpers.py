"""Shared by the test_quantized_* files: one-node com.microsoft models run in ai-engine and in
onnxruntime, and the rounding references the tests compare with."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import ValueInfoProto, helper, numpy_helper

from ai_engine import InferenceSession

MS = "com.microsoft"


def ms_model(op, feeds: dict, consts: dict | None = None, n_out: int = 1, order=None,
             **attrs):
    """A model of one com.microsoft ``op`` node. Inputs are ``order`` (names of ``feeds`` and
    ``consts``, "" for an omitted optional input) or feeds then consts."""
    consts = consts or {}
    names = order if order is not None else list(feeds) + list(consts)
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, domain=MS, **attrs)
    graph = helper.make_graph(
        [node], op,
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for n, a in feeds.items()],
        [ValueInfoProto(name=o) for o in outs],
        initializer=[numpy_helper.from_array(np.asarray(v), n) for n, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(MS, 1)])
    model.ir_version = 8
    return model


def run_ours(model, feeds):
    return InferenceSession(model).run(None, feeds)


def run_ort(model, feeds):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def both(op, feeds, consts=None, n_out=1, order=None, **attrs):
    """(ai-engine outputs, onnxruntime outputs) of the same one-node model."""
    model = ms_model(op, feeds, consts, n_out, order, **attrs)
    return run_ours(model, feeds), run_ort(model, feeds)


def saturate(q, dtype):
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


def quantize_exact(real, scale, zp, dtype):
    """``real / scale`` (float64) rounded half to even, shifted and saturated."""
    return saturate(np.rint(np.asarray(real, np.float64) / np.float64(np.float32(scale))) + zp,
                    dtype)


def dequantize32(x, scale, zp):
    """ONNX DequantizeLinear: float32 ``(x - zp) * scale``."""
    return (x.astype(np.float32) - np.float32(zp)) * np.float32(scale)


def assert_within_one_step(ours, theirs, frac_exact=0.9):
    """Quantized outputs that differ by at most one step, and mostly not at all."""
    d = np.abs(ours.astype(np.int32) - theirs.astype(np.int32))
    assert d.max() <= 1, f"max difference {d.max()} steps"
    assert (d == 0).mean() >= frac_exact, f"only {(d == 0).mean():.3f} equal"


def random_q(rng, shape, dtype):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
