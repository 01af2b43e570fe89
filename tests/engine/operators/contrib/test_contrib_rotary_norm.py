"""com.microsoft RotaryEmbedding and the normalization fusions against onnxruntime and NumPy."""

import numpy as np
import pytest
from contrib_helpers import check_against_peer, float_out, ours, randn, rng

from ai_engine.errors import KernelError

B, S, N, H = 2, 5, 3, 8


def _cache(r, rows=16, half=H // 2):
    return randn(r, rows, half), randn(r, rows, half)


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("layout", ["bsd", "bnsh"])
@pytest.mark.parametrize("positions", ["per-token", "offset"])
def test_rotary_embedding(interleaved, layout, positions):
    r = rng(0)
    x = randn(r, B, S, N * H) if layout == "bsd" else randn(r, B, N, S, H)
    pos = r.integers(0, 16, (B, S)).astype(np.int64) if positions == "per-token" \
        else np.array([3], np.int64)
    cos, sin = _cache(r)
    attrs = {"interleaved": interleaved, "num_heads": N} if layout == "bsd" else \
        {"interleaved": interleaved}
    check_against_peer("RotaryEmbedding", [("x", x), ("pos", pos), ("cos", cos), ("sin", sin)],
                       ["y"], attrs)


def test_rotary_partial_dim_matches_numpy():
    r = rng(1)
    x = randn(r, B, S, N * H)
    cos, sin = _cache(r, half=2)                   # rotary_embedding_dim 4 of head size 8
    pos = np.array([0], np.int64)
    inputs = [("x", x), ("pos", pos), ("cos", cos), ("sin", sin)]
    got = check_against_peer("RotaryEmbedding", inputs, ["y"],
                             {"num_heads": N, "rotary_embedding_dim": 4})[0]
    xs = x.reshape(B, S, N, H)
    c, s = cos[:S][None, :, None], sin[:S][None, :, None]
    x1, x2 = xs[..., :2], xs[..., 2:4]
    want = np.concatenate([x1 * c - x2 * s, x1 * s + x2 * c, xs[..., 4:]], -1)
    np.testing.assert_allclose(got, want.reshape(x.shape), rtol=1e-5, atol=1e-6)


def test_rotary_position_out_of_cache_is_a_clear_error():
    r = rng(2)
    cos, sin = _cache(r, rows=4)
    with pytest.raises(KernelError, match="outside the cos/sin cache"):
        ours("RotaryEmbedding", [("x", randn(r, B, S, N * H)), ("pos", np.array([2], np.int64)),
                                 ("cos", cos), ("sin", sin)], ["y"], {"num_heads": N})


@pytest.mark.parametrize("skip_shape", [(B, S, 16), (1, S, 16), (S, 16)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_skip_layer_normalization(skip_shape, with_bias):
    r = rng(3)
    inputs = [("x", randn(r, B, S, 16)), ("skip", randn(r, *skip_shape)),
              ("gamma", randn(r, 16)), ("beta", randn(r, 16) if with_bias else None),
              ("bias", randn(r, 16) if with_bias else None)]
    got = check_against_peer("SkipLayerNormalization", inputs, ["y", "mean", "inv", "sum"],
                             {"epsilon": 1e-5})
    s = inputs[0][1] + inputs[1][1] + (inputs[4][1] if with_bias else 0)
    mu = s.mean(-1, keepdims=True)
    want = (s - mu) / np.sqrt(((s - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * inputs[2][1]
    want = want + (inputs[3][1] if with_bias else 0)
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-5)
    # output alone (the sum is then normalized in place) and with the statistics
    check_against_peer("SkipLayerNormalization", inputs, ["y"], {"epsilon": 1e-5})
    check_against_peer("SkipLayerNormalization", inputs, ["y", "mean", "inv"],
                       {"epsilon": 1e-5})


def test_skip_simplified_layer_normalization_2d_input():
    r = rng(4)
    inputs = [("x", randn(r, 6, 16)), ("skip", randn(r, 6, 16)), ("gamma", randn(r, 16)),
              ("bias", randn(r, 16))]
    got = check_against_peer("SkipSimplifiedLayerNormalization", inputs,
                             ["y", "mean", "inv", "sum"], {"epsilon": 1e-6})
    s = inputs[0][1] + inputs[1][1] + inputs[3][1]
    want = s / np.sqrt((s * s).mean(-1, keepdims=True) + 1e-6) * inputs[2][1]
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("axis", [-1, 1])
def test_simplified_layer_normalization_onnx_domain(axis):
    r = rng(5)
    scale = randn(r, 16) if axis == -1 else randn(r, S, 16)
    check_against_peer("SimplifiedLayerNormalization", [("x", randn(r, B, S, 16)),
                                                        ("scale", scale)],
                       ["y", "inv"], {"axis": axis, "epsilon": 1e-5}, domain="",
                       out_types=float_out("y", "inv"))


def test_layer_normalization_before_opset_17_is_the_contrib_schema():
    """onnxruntime's optimizer writes LayerNormalization into opset-11..16 models."""
    from builders import run_ours, run_peer
    from contrib_helpers import contrib_model

    r = rng(6)
    inputs = [("x", randn(r, B, S, 16)), ("g", randn(r, 16)), ("b", randn(r, 16))]
    model = contrib_model("LayerNormalization", inputs, ["y", "m", "inv"], {"epsilon": 1e-5},
                          domain="", out_types=float_out("y", "m", "inv"))
    model.opset_import[0].version = 13
    feeds = dict(inputs)
    for got, want in zip(run_ours(model, feeds), run_peer(model, feeds)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("variant", ["full", "no-segment", "position-ids-2d", "position-ids-1s"])
def test_embed_layer_normalization(variant):
    r = rng(7)
    hidden = 16
    ids = r.integers(0, 20, (B, S)).astype(np.int32)
    seg = r.integers(0, 2, (B, S)).astype(np.int32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.int32)
    pos = None
    if variant == "position-ids-2d":
        pos = r.integers(0, 8, (B, S)).astype(np.int32)
    elif variant == "position-ids-1s":
        pos = r.integers(0, 8, (1, S)).astype(np.int32)
    segment = variant == "full"
    inputs = [("ids", ids), ("seg", seg if segment else None), ("word", randn(r, 20, hidden)),
              ("posemb", randn(r, 8, hidden)), ("segemb", randn(r, 2, hidden) if segment
                                                 else None),
              ("gamma", randn(r, hidden)), ("beta", randn(r, hidden)), ("mask", mask),
              ("pos", pos)]
    got = check_against_peer("EmbedLayerNormalization", inputs, ["y", "mask_index", "sum"],
                             {"epsilon": 1e-5})
    np.testing.assert_array_equal(got[1], [3, 5])


def test_embed_layer_normalization_bad_id_is_a_clear_error():
    r = rng(8)
    inputs = [("ids", np.array([[0, 25]], np.int32)), ("seg", None),
              ("word", randn(r, 20, 16)), ("posemb", randn(r, 8, 16)), ("segemb", None),
              ("gamma", randn(r, 16)), ("beta", randn(r, 16))]
    with pytest.raises(KernelError, match="word ids range"):
        ours("EmbedLayerNormalization", inputs, ["y"])
