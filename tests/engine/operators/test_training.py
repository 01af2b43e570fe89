"""Optimizer kernels of ai.onnx.preview.training through InferenceSession (training.py).

The ONNX backend node cases cover one float32 step at T=1 (and one with two tensors); these
add float64, T = 0 (Momentum ignores beta, Adam skips bias correction), the post-update
decay of Adam, and three tensors of different shapes in one node, against the spec's pseudo
code in float64. onnxruntime has no CPU kernels for this domain.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError

DOMAIN = "ai.onnx.preview.training"
rng = np.random.default_rng(0)


def run(op, r, t, groups, n_out_groups, **attrs):
    tensors = [a for g in groups for a in g]
    names = ["R", "T"] + [f"i{k}" for k in range(len(tensors))]
    n = len(groups[0])
    outs = [f"o{k}" for k in range(n * n_out_groups)]
    node = helper.make_node(op, names, outs, domain=DOMAIN, **attrs)
    arrays = [np.asarray(r), np.asarray(t, dtype=np.int64)] + tensors
    vi = [helper.make_tensor_value_info(nm, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
          for nm, a in zip(names, arrays)]
    graph = helper.make_graph([node], op, vi, [
        helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(DOMAIN, 1)])
    res = InferenceSession(model).run(None, dict(zip(names, arrays)))
    return [res[i * n:(i + 1) * n] for i in range(n_out_groups)]


def _tensors(dtype, shapes=((3,), (2, 2), (1,)), positive=False):
    out = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return [np.abs(a) for a in out] if positive else out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("t", [0, 3])
def test_adagrad(dtype, t):
    xs, gs, hs = _tensors(dtype), _tensors(dtype), _tensors(dtype, positive=True)
    r, decay, eps, norm = 0.1, 0.5, 1e-5, 0.01
    x_new, h_new = run("Adagrad", np.array(r, dtype), t, [xs, gs, hs], 2,
                       decay_factor=decay, epsilon=eps, norm_coefficient=norm)
    for x, g, h, xn, hn in zip(xs, gs, hs, x_new, h_new, strict=True):
        rate = r / (1 + t * decay)
        gr = norm * x.astype(np.float64) + g
        h2 = h + gr * gr
        assert xn.dtype == dtype and hn.dtype == dtype
        np.testing.assert_allclose(hn, h2, rtol=1e-5)
        np.testing.assert_allclose(xn, x - rate * gr / (np.sqrt(h2) + eps), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("t", [0, 2])
def test_adam(dtype, t):
    xs, gs, vs = _tensors(dtype), _tensors(dtype), _tensors(dtype)
    hs = _tensors(dtype, positive=True)
    r, a, b, eps, norm, post = 0.05, 0.8, 0.9, 1e-4, 0.02, 0.1
    x_new, v_new, h_new = run("Adam", np.array(r, dtype), t, [xs, gs, vs, hs], 3, alpha=a,
                              beta=b, epsilon=eps, norm_coefficient=norm,
                              norm_coefficient_post=post)
    for x, g, v, h, xn, vn, hn in zip(xs, gs, vs, hs, x_new, v_new, h_new, strict=True):
        gr = norm * x.astype(np.float64) + g
        v2 = a * v + (1 - a) * gr
        h2 = b * h + (1 - b) * gr * gr
        rate = r * np.sqrt(1 - b ** t) / (1 - a ** t) if t > 0 else r
        expect = (1 - post) * (x - rate * v2 / (np.sqrt(h2) + eps))
        np.testing.assert_allclose(vn, v2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(hn, h2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(xn, expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["standard", "nesterov"])
@pytest.mark.parametrize("t", [0, 5])
def test_momentum(mode, t):
    xs, gs, vs = _tensors(np.float64), _tensors(np.float64), _tensors(np.float64)
    # Attributes are float32 in the model: exactly representable values keep 1e-12 exact.
    r, a, b, norm = 0.1, 0.75, 0.25, 0.015625
    x_new, v_new = run("Momentum", np.array(r), t, [xs, gs, vs], 2, alpha=a, beta=b,
                       mode=mode, norm_coefficient=norm)
    for x, g, v, xn, vn in zip(xs, gs, vs, x_new, v_new, strict=True):
        gr = norm * x + g
        v2 = a * v + (b if t > 0 else 1.0) * gr
        expect = x - r * (gr + a * v2) if mode == "nesterov" else x - r * v2
        np.testing.assert_allclose(vn, v2, rtol=1e-12)
        np.testing.assert_allclose(xn, expect, rtol=1e-12)


def test_momentum_bad_mode():
    x = [np.zeros(2, np.float32)]
    with pytest.raises(KernelError, match="Momentum: mode must be .* got 'heavy'"):
        run("Momentum", np.array(0.1, np.float32), 1, [x, x, x], 2, alpha=0.9, beta=0.1,
            mode="heavy", norm_coefficient=0.0)
