"""com.microsoft.Attention and MultiHeadAttention against onnxruntime and NumPy."""

import numpy as np
import pytest
from contrib_helpers import check_against_peer, float_out, ours, randn, rng, softmax

from ai_engine.errors import KernelError

B, S, N, H = 2, 4, 2, 8
D = N * H


def _attention_inputs(r, seq=S, din=12, sizes=(D, D, D), mask=None, past=None, bias=True,
                      attention_bias=None, past_len=None):
    return [("x", randn(r, B, seq, din)), ("w", randn(r, din, sum(sizes))),
            ("b", randn(r, sum(sizes)) if bias else None), ("mask", mask), ("past", past),
            ("attn_bias", attention_bias), ("past_len", past_len)]


def _heads(t):
    b, s, d = t.shape
    return t.reshape(b, s, N, d // N).transpose(0, 2, 1, 3)


def _reference(inputs, mask_bias=None, sizes=(D, D, D)):
    """NumPy: project, split heads, softmax(QK^T/sqrt(H) + bias) V."""
    feeds = dict(inputs)
    qkv = feeds["x"] @ feeds["w"] + (feeds["b"] if feeds["b"] is not None else 0)
    q, k, v = np.split(qkv, np.cumsum(sizes)[:2], axis=-1)
    q, k, v = _heads(q), _heads(k), _heads(v)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1])
    if mask_bias is not None:
        s = s + mask_bias
    out = softmax(s) @ v
    return out.transpose(0, 2, 1, 3).reshape(B, q.shape[2], -1)


@pytest.mark.parametrize("mask", [
    None,
    np.array([3, 2], np.int32),                                   # right padding lengths
    np.array([4, 3, 1, 0], np.int32),                             # end then start positions
    np.array([[1, 1, 0, 1], [1, 0, 1, 1]], np.int32),             # raw 2-D key mask
    (rng(5).random((B, S, S)) > 0.3).astype(np.int32),            # raw 3-D mask
], ids=["none", "1d-lengths", "1d-start", "2d", "3d"])
@pytest.mark.parametrize("unidirectional", [0, 1])
def test_attention_masks(mask, unidirectional):
    r = rng(1)
    check_against_peer("Attention", _attention_inputs(r, mask=mask), ["y", "present"],
                       {"num_heads": N, "unidirectional": unidirectional})


def test_attention_matches_numpy_formula_with_padding_mask():
    r = rng(2)
    mask = np.array([3, 2], np.int32)
    inputs = _attention_inputs(r, mask=mask)
    pad = np.where(np.arange(S)[None, :] < mask[:, None], 0.0, -10000.0)[:, None, None, :]
    got = ours("Attention", inputs, ["y"], {"num_heads": N})[0]
    np.testing.assert_allclose(got, _reference(inputs, pad), rtol=1e-4, atol=1e-5)


def test_attention_4d_megatron_mask_against_numpy():
    """(B, 1, M, M) raw mask: rows past..past+S, columns :T (onnxruntime CPU rejects 4-D)."""
    r = rng(3)
    m = 6
    mask4 = np.tril(np.ones((m, m), np.int32))[None, None].repeat(B, 0)
    mask4[1, 0, 3:, 1] = 0
    inputs = _attention_inputs(r, mask=mask4)
    want = _reference(inputs, np.where(mask4[:, :, :S, :S] > 0, 0.0, -10000.0))
    got = ours("Attention", inputs, ["y"], {"num_heads": N})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("unidirectional", [0, 1])
def test_attention_past_present_decode_steps(unidirectional):
    """GPT-2 style: a prompt, then single-token steps feeding present back as past."""
    r = rng(4)
    w, b = randn(r, 12, 3 * D), randn(r, 3 * D)
    past = np.zeros((2, B, N, 0, H), np.float32)
    for seq in (3, 1, 1):
        inputs = [("x", randn(r, B, seq, 12)), ("w", w), ("b", b), ("mask", None),
                  ("past", past)]
        _y, present = check_against_peer("Attention", inputs, ["y", "present"],
                                        {"num_heads": N, "unidirectional": unidirectional})
        assert present.shape == (2, B, N, past.shape[3] + seq, H)
        past = present


def test_attention_past_with_2d_mask_over_total_length():
    r = rng(6)
    past = randn(r, 2, B, N, 3, H)
    mask = np.array([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]], np.int32)
    check_against_peer("Attention", _attention_inputs(r, seq=3, mask=mask, past=past),
                       ["y", "present"], {"num_heads": N, "unidirectional": 1})


def test_attention_qkv_hidden_sizes_scale_bias_and_attention_bias():
    r = rng(7)
    sizes = (D, D, 2 * D)
    ab = randn(r, 1, N, S, S)
    check_against_peer("Attention", _attention_inputs(r, sizes=sizes, attention_bias=ab),
                       ["y"], {"num_heads": N, "qkv_hidden_sizes": list(sizes), "scale": 0.3})
    check_against_peer("Attention", _attention_inputs(r, bias=False), ["y"],
                       {"num_heads": N, "mask_filter_value": -50.0})


def test_attention_past_present_share_buffer_against_numpy():
    """(2, B, N, M, H) buffer: new K/V written at past_sequence_length, attention over the
    first past + 1 positions (onnxruntime's CPU kernel rejects this mode)."""
    r = rng(8)
    buf = randn(r, 2, B, N, 8, H)
    inputs = _attention_inputs(r, seq=1, past=buf, past_len=np.array(5, np.int32))
    y, present = ours("Attention", inputs, ["y", "present"],
                      {"num_heads": N, "past_present_share_buffer": 1, "unidirectional": 1})
    feeds = dict(inputs)
    qkv = feeds["x"] @ feeds["w"] + feeds["b"]
    q, k, v = (_heads(t) for t in np.split(qkv, 3, axis=-1))
    want_present = buf.copy()
    want_present[0, :, :, 5:6], want_present[1, :, :, 5:6] = k, v
    np.testing.assert_allclose(present, want_present, rtol=1e-6)
    keys, values = want_present[0, :, :, :6], want_present[1, :, :, :6]
    want = softmax(q @ keys.transpose(0, 1, 3, 2) / np.sqrt(H)) @ values
    np.testing.assert_allclose(y, want.transpose(0, 2, 1, 3).reshape(B, 1, D), rtol=1e-4,
                               atol=1e-5)


def test_attention_rejects_do_rotary_and_bad_mask_with_clear_errors():
    r = rng(9)
    with pytest.raises(KernelError, match="do_rotary"):
        ours("Attention", _attention_inputs(r), ["y"], {"num_heads": N, "do_rotary": 1})
    with pytest.raises(KernelError, match="mask of shape"):
        ours("Attention", _attention_inputs(r, mask=np.ones((B, 7), np.int32)), ["y"],
             {"num_heads": N})
    with pytest.raises(KernelError, match="CUDA-only"):
        ours("Attention", _attention_inputs(r, mask=np.ones(3 * B + 2, np.int32)), ["y"],
             {"num_heads": N})


# ------------------------------------------------------------------ MultiHeadAttention

def _mha_inputs(r, seq=S, kv_seq=5, bias=True, mask=None, attention_bias=None, past=None,
                key=None, value=None):
    key = randn(r, B, kv_seq, D) if key is None else key
    value = randn(r, B, kv_seq, D) if value is None else value
    past_k, past_v = past if past is not None else (None, None)
    return [("q", randn(r, B, seq, D)), ("k", key), ("v", value),
            ("bias", randn(r, 3 * D) if bias else None), ("mask", mask),
            ("attn_bias", attention_bias), ("past_k", past_k), ("past_v", past_v)]


@pytest.mark.parametrize("mask", [
    None, np.array([5, 3], np.int32), np.array([[1, 1, 0, 1, 1], [0, 1, 1, 1, 1]], np.int32),
    (rng(11).random((B, S, 5)) > 0.3).astype(np.int32)], ids=["none", "1d", "2d", "3d"])
def test_mha_cross_attention_masks_and_qk(mask):
    r = rng(10)
    check_against_peer("MultiHeadAttention", _mha_inputs(r, mask=mask), ["y", "", "", "qk"],
                       {"num_heads": N}, out_types=float_out("qk"))


def test_mha_self_attention_past_causal_attention_bias():
    r = rng(12)
    past = (randn(r, B, N, 3, H), randn(r, B, N, 3, H))
    ab = randn(r, B, 1, S, 3 + S)
    check_against_peer("MultiHeadAttention",
                       _mha_inputs(r, kv_seq=S, past=past, attention_bias=ab),
                       ["y", "pk", "pv", "qk"], {"num_heads": N, "unidirectional": 1, "scale": 0.2},
                       out_types=float_out("qk"))


def test_mha_bnsh_key_value_takes_bias_on_query_only():
    r = rng(13)
    inputs = _mha_inputs(r, key=randn(r, B, N, 5, H), value=randn(r, B, N, 5, H))
    check_against_peer("MultiHeadAttention", inputs, ["y", "pk", "pv"], {"num_heads": N})


def test_mha_packed_qkv_and_packed_kv_match_unpacked():
    """onnxruntime's CPU kernel rejects packed layouts; they must equal the unpacked op."""
    r = rng(14)
    qkv = randn(r, B, S, N, 3, H)
    bias = randn(r, 3 * D)
    flat = [qkv[:, :, :, i].reshape(B, S, D) for i in range(3)]
    packed = ours("MultiHeadAttention", [("q", qkv), ("k", None), ("v", None), ("b", bias)],
                  ["y"], {"num_heads": N})[0]
    plain = ours("MultiHeadAttention", [("q", flat[0]), ("k", flat[1]), ("v", flat[2]),
                                        ("b", bias)], ["y"], {"num_heads": N})[0]
    np.testing.assert_allclose(packed, plain, rtol=1e-5, atol=1e-6)
    kv = randn(r, B, 5, N, 2, H)
    q = randn(r, B, S, D)
    packed = ours("MultiHeadAttention", [("q", q), ("k", kv)], ["y"], {"num_heads": N})[0]
    plain = ours("MultiHeadAttention", [("q", q), ("k", kv[:, :, :, 0].reshape(B, 5, D)),
                                        ("v", kv[:, :, :, 1].reshape(B, 5, D))], ["y"],
                 {"num_heads": N})[0]
    np.testing.assert_allclose(packed, plain, rtol=1e-5, atol=1e-6)
    # and the plain path is onnxruntime's
    check_against_peer("MultiHeadAttention", [("q", flat[0]), ("k", flat[1]), ("v", flat[2]),
                                              ("b", bias)], ["y"], {"num_heads": N})


def test_mha_rejects_left_padding_mask_form():
    r = rng(15)
    with pytest.raises(KernelError, match="key_padding_mask"):
        ours("MultiHeadAttention", _mha_inputs(r, mask=np.array([5, 5, 0, 0], np.int32)),
             ["y"], {"num_heads": N})
