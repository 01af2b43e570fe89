"""com.microsoft.GroupQueryAttention against onnxruntime (and a NumPy formula), with the KV
cache laid out as onnxruntime-genai does: a prompt, then decode steps feeding present back."""

import numpy as np
import pytest
from contrib_helpers import (
    assert_close,
    check_against_peer,
    float_out,
    ours,
    peer,
    randn,
    rng,
    softmax,
)

from ai_engine.errors import KernelError

B, N, KV, H = 2, 4, 2, 16


def _caches(r, positions=32, rdim=H):
    angles = np.arange(positions)[:, None] / (10000.0 ** (np.arange(0, rdim, 2) / rdim))
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def _inputs(q, k, v, past, seqlens, total, rotary=None, position_ids=None, attention_bias=None,
            head_sink=None):
    pk, pv = past if past is not None else (None, None)
    cos, sin = rotary if rotary is not None else (None, None)
    return [("q", q), ("k", k), ("v", v), ("past_k", pk), ("past_v", pv),
            ("seqlens", np.asarray(seqlens, np.int32)), ("total", np.array(total, np.int32)),
            ("cos", cos), ("sin", sin), ("pos", position_ids), ("ab", attention_bias),
            ("sink", head_sink)]


def _new_qkv(r, s, packed=False):
    if packed:
        return randn(r, B, s, (N + 2 * KV) * H), None, None
    return randn(r, B, s, N * H), randn(r, B, s, KV * H), randn(r, B, s, KV * H)


def test_prompt_matches_numpy_causal_gqa_formula():
    r = rng(0)
    s = 5
    q, k, v = _new_qkv(r, s)
    got = ours("GroupQueryAttention", _inputs(q, k, v, None, [s - 1] * B, s),
               ["y", "pk", "pv"], {"num_heads": N, "kv_num_heads": KV})
    qh = q.reshape(B, s, N, H).transpose(0, 2, 1, 3)
    kh = np.repeat(k.reshape(B, s, KV, H).transpose(0, 2, 1, 3), N // KV, axis=1)
    vh = np.repeat(v.reshape(B, s, KV, H).transpose(0, 2, 1, 3), N // KV, axis=1)
    scores = qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(H) + np.triu(np.full((s, s), -np.inf), 1)
    want = (softmax(scores) @ vh).transpose(0, 2, 1, 3).reshape(B, s, N * H)
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got[1], k.reshape(B, s, KV, H).transpose(0, 2, 1, 3))


@pytest.mark.parametrize("packed", [False, True], ids=["separate", "packed-qkv"])
@pytest.mark.parametrize("buffer", ["growing", "max-length"])
@pytest.mark.parametrize("rotary", [None, 0, 1], ids=["no-rotary", "rotary", "interleaved"])
def test_prompt_then_decode_steps(packed, buffer, rotary):
    """Right-padded batched prompt, then three decode steps with the present fed back."""
    r = rng(1)
    prompt, max_len = 4, 12
    attrs = {"num_heads": N, "kv_num_heads": KV}
    caches = None
    if rotary is not None:
        attrs.update(do_rotary=1, rotary_interleaved=rotary)
        caches = _caches(r)
    lengths = np.array([prompt, prompt - 2])          # entry 1 is right-padded
    past = None
    if buffer == "max-length":
        past = (np.zeros((B, KV, max_len, H), np.float32),) * 2
    q, k, v = _new_qkv(r, prompt, packed)
    out = check_against_peer("GroupQueryAttention",
                             _inputs(q, k, v, past, lengths - 1, prompt, caches),
                             ["y", "pk", "pv"], attrs)
    past = (out[1], out[2])
    for _ in range(3):
        lengths = lengths + 1
        q, k, v = _new_qkv(r, 1, packed)
        out = check_against_peer("GroupQueryAttention",
                                 _inputs(q, k, v, past, lengths - 1, int(lengths.max()),
                                         caches),
                                 ["y", "pk", "pv"], attrs)
        expected_len = max_len if buffer == "max-length" else int(lengths.max())
        assert out[1].shape == (B, KV, expected_len, H)
        past = (out[1], out[2])


def test_subsequent_prompt_chunk_after_cache():
    """A second multi-token chunk after a cached prompt (onnxruntime allows it for batch 1)."""
    r = rng(2)
    attrs = {"num_heads": N, "kv_num_heads": KV, "do_rotary": 1}
    caches = _caches(r)
    q, k, v = (t[:1] for t in _new_qkv(r, 3))
    out = check_against_peer("GroupQueryAttention", _inputs(q, k, v, None, [2], 3, caches),
                             ["y", "pk", "pv"], attrs)
    q, k, v = (t[:1] for t in _new_qkv(r, 2))
    check_against_peer("GroupQueryAttention",
                       _inputs(q, k, v, (out[1], out[2]), [4], 5, caches),
                       ["y", "pk", "pv"], attrs)


@pytest.mark.parametrize("attrs", [
    {"local_window_size": 2}, {"softcap": 2.0}, {"scale": 0.5}, {"smooth_softmax": 1},
    {"kv_num_heads": 1}, {"kv_num_heads": 4}, {"causal": 0}],
    ids=["window", "softcap", "scale", "smooth", "mqa", "mha", "bidirectional"])
def test_attention_variants(attrs):
    r = rng(3)
    kv = attrs.pop("kv_num_heads", KV)
    s = 6
    q = randn(r, B, s, N * H)
    k, v = randn(r, B, s, kv * H), randn(r, B, s, kv * H)
    past = None
    check_against_peer("GroupQueryAttention", _inputs(q, k, v, past, [s - 1, s - 1], s),
                       ["y", "pk", "pv"], dict(num_heads=N, kv_num_heads=kv, **attrs))
    # and one decode step with a window over the cache
    out = ours("GroupQueryAttention", _inputs(q, k, v, past, [s - 1, s - 1], s),
               ["y", "pk", "pv"], dict(num_heads=N, kv_num_heads=kv, **attrs))
    q1, k1, v1 = randn(r, B, 1, N * H), randn(r, B, 1, kv * H), randn(r, B, 1, kv * H)
    if attrs.get("causal", 1) != 0:
        check_against_peer("GroupQueryAttention",
                           _inputs(q1, k1, v1, (out[1], out[2]), [s, s], s + 1),
                           ["y", "pk", "pv"], dict(num_heads=N, kv_num_heads=kv, **attrs))


def test_head_sink_attention_bias_and_position_ids():
    r = rng(4)
    s = 4
    q, k, v = _new_qkv(r, s)
    ab = randn(r, B, 1, s, s)
    sink = randn(r, N)
    check_against_peer("GroupQueryAttention",
                       _inputs(q, k, v, None, [s - 1] * B, s, attention_bias=ab,
                               head_sink=sink),
                       ["y", "pk", "pv"], {"num_heads": N, "kv_num_heads": KV})
    pos = np.array([[3, 4, 5, 6], [0, 1, 2, 3]], np.int64)
    out = check_against_peer("GroupQueryAttention",
                             _inputs(q, k, v, None, [s - 1] * B, s, _caches(r), pos),
                             ["y", "pk", "pv"],
                             {"num_heads": N, "kv_num_heads": KV, "do_rotary": 1})
    assert out[0].shape == (B, s, N * H)


@pytest.mark.parametrize("mode", [1, 2])
def test_qk_output(mode):
    r = rng(5)
    s = 3
    q, k, v = _new_qkv(r, s)
    check_against_peer("GroupQueryAttention", _inputs(q, k, v, None, [2, 1], s),
                       ["y", "pk", "pv", "qk"],
                       {"num_heads": N, "kv_num_heads": KV, "qk_output": mode},
                       out_types=float_out("qk"))


def test_quantized_cache_and_bad_heads_are_clear_errors():
    r = rng(6)
    q, k, v = _new_qkv(r, 2)
    with pytest.raises(KernelError, match="quantized KV cache"):
        ours("GroupQueryAttention", _inputs(q, k, v, None, [1, 1], 2), ["y"],
             {"num_heads": N, "kv_num_heads": KV, "k_quant_type": "PER_TENSOR"})
    with pytest.raises(KernelError, match="multiple of kv_num_heads"):
        ours("GroupQueryAttention", _inputs(q, k, v, None, [1, 1], 2), ["y"],
             {"num_heads": N, "kv_num_heads": 3})
    with pytest.raises(KernelError, match="seqlens_k"):
        ours("GroupQueryAttention", _inputs(q, k, v, None, [1, 1, 1], 2), ["y"],
             {"num_heads": N, "kv_num_heads": KV})


def test_assert_close_is_strict():
    """The comparison helper itself fails on a wrong answer (guards the tests above)."""
    with pytest.raises(AssertionError):
        assert_close([np.ones(3, np.float32)], [np.ones(3, np.float32) * 1.01])
    assert peer is not None


def test_decode_step_uses_given_position_ids():
    r = rng(7)
    attrs = {"num_heads": N, "kv_num_heads": KV, "do_rotary": 1}
    caches = _caches(r)
    q, k, v = _new_qkv(r, 3)
    out = ours("GroupQueryAttention", _inputs(q, k, v, None, [2, 2], 3, caches),
               ["y", "pk", "pv"], attrs)
    q, k, v = _new_qkv(r, 1)
    pos = np.array([[7], [3]], np.int64)     # not the cache position: must be honoured
    got = check_against_peer("GroupQueryAttention",
                             _inputs(q, k, v, (out[1], out[2]), [3, 3], 4, caches, pos),
                             ["y", "pk", "pv"], attrs)
    default = ours("GroupQueryAttention", _inputs(q, k, v, (out[1], out[2]), [3, 3], 4, caches),
                   ["y", "pk", "pv"], attrs)
    assert not np.allclose(got[0][0], default[0][0])
