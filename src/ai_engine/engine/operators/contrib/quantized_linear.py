"""com.microsoft integer GEMMs with float or requantized outputs: MatMulIntegerToFloat,
DynamicQuantizeMatMul, QGemm and QAttention.

Spec: onnxruntime docs/ContribOperators.md; the CPU kernels (dynamic_quantize_matmul.cc,
quant_gemm.cc, attention_quant.cc) fix what the doc leaves open: the output multiplier is formed
in float32 in onnxruntime's order (``a_scale * b_scale``, ``alpha * a_scale * b_scale /
y_scale``), and DynamicQuantizeMatMul quantizes A exactly as ONNX DynamicQuantizeLinear (uint8,
range including 0).

The integer product is exact and B stays 8-bit (integer_gemm.py: float BLAS on integers in
bounded column tiles, split so no partial sum leaves float's exact range). onnxruntime's
u8 x s8 kernels on x86 CPUs without VNNI add pairs of products in saturating int16 and can be
off by far more than a rounding step, so the tests compare these ops with an exact NumPy
reference and with onnxruntime only on weights that cannot saturate.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.contrib.integer_gemm import integer_product
from ai_engine.engine.operators.contrib.quantized import (
    MS_DOMAIN, eight_bit, requantize, scalar)
from ai_engine.engine.operators.quantization import dynamic_quantize_linear
from ai_engine.engine.registry import register


def _per_column(p, n, op, what):
    """A scalar or (N,) parameter as a float64 row that broadcasts over the output columns."""
    if p.size == 1 and p.ndim <= 1:
        return np.float64(np.asarray(p).reshape(()))
    if p.ndim != 1 or p.shape[0] != n:
        raise ValueError(f"{op}: {what} must be a scalar or have one value per output column "
                         f"({n}), got shape {tuple(p.shape)}")
    return p.astype(np.float64)


def _zero_point_of(zp, dtype, n, op, what):
    """A per-tensor or per-column zero point of type ``dtype`` (None: 0)."""
    if zp is None:
        return None
    if zp.dtype != dtype:
        raise ValueError(f"{op}: {what} has type {zp.dtype}, the data has {dtype}")
    if zp.size == 1:
        return zp.reshape(())
    if zp.ndim != 1 or zp.shape[0] != n:
        raise ValueError(f"{op}: {what} must be a scalar or have one value per column ({n}), "
                         f"got shape {tuple(zp.shape)}")
    return zp


def _matmul_shapes(a, b, op):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"{op}: A and B must have rank >= 1, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != k_b:
        raise ValueError(f"{op}: A {tuple(a.shape)} and B {tuple(b.shape)} do not multiply "
                         f"(inner dimensions {a.shape[-1]} and {k_b})")
    return b.shape[-1] if b.ndim > 1 else 1


def _to_float(xp, acc, multiplier, bias, dtype):
    """``acc * multiplier (+ bias)`` rounded once to ``dtype``."""
    y = xp.multiply(acc, multiplier, dtype=np.float64)
    y = y.astype(dtype)
    if bias is not None:
        y += bias.astype(dtype, copy=False)
    return y


def _bias(bias, n, op):
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != n):
        raise ValueError(f"{op}: bias must have shape ({n},), got {tuple(bias.shape)}")
    return bias


def _integer_to_float(xp, op, a, b, a_scale, b_scale, a_zero_point, b_zero_point, bias):
    eight_bit(a, op, "A")
    eight_bit(b, op, "B")
    n = _matmul_shapes(a, b, op)
    sa = np.float32(scalar(a_scale, op, "a_scale"))
    mult = _per_column(b_scale, n, op, "b_scale").astype(np.float32) * sa  # float32, as ORT
    if a_zero_point is not None:
        scalar(a_zero_point, op, "a_zero_point")
        if a_zero_point.dtype != a.dtype:
            raise ValueError(f"{op}: a_zero_point has type {a_zero_point.dtype}, A has "
                             f"{a.dtype}")
    b_zp = _zero_point_of(b_zero_point, b.dtype, n, op, "b_zero_point")
    acc = integer_product(xp, a, None if a_zero_point is None else a_zero_point.reshape(()),
                           b, b_zp)
    return _to_float(xp, acc, np.float64(mult) if np.ndim(mult) == 0 else mult.astype(np.float64),
                     _bias(bias, n, op), b_scale.dtype)


@register("MatMulIntegerToFloat", since=1, domain=MS_DOMAIN)
def matmul_integer_to_float(xp, a, b, a_scale, b_scale, a_zero_point=None, b_zero_point=None,
                            bias=None):
    """MatMulIntegerToFloat-1: ``(A - a_zp) @ (B - b_zp) * (a_scale * b_scale) + bias`` with
    MatMul broadcasting; B's scale and zero point per tensor or per column."""
    return _integer_to_float(xp, "MatMulIntegerToFloat", a, b, a_scale, b_scale, a_zero_point,
                             b_zero_point, bias)


@register("DynamicQuantizeMatMul", since=1, domain=MS_DOMAIN)
def dynamic_quantize_matmul(xp, a, b, b_scale, b_zero_point=None, bias=None):
    """DynamicQuantizeMatMul-1: A is quantized to uint8 as DynamicQuantizeLinear does (one scale
    and zero point for the whole tensor), then MatMulIntegerToFloat."""
    op = "DynamicQuantizeMatMul"
    if a.dtype != np.float32:
        raise ValueError(f"{op}: A must be float32, got {a.dtype}")
    aq, a_scale, a_zp = dynamic_quantize_linear(xp, a)
    return _integer_to_float(xp, op, aq, b, a_scale, b_scale, a_zp, b_zero_point, bias)


@register("QGemm", since=1, domain=MS_DOMAIN)
def qgemm(xp, a, a_scale, a_zero_point, b, b_scale, b_zero_point=None, c=None, y_scale=None,
          y_zero_point=None, *, alpha=1.0, transA=0, transB=0):
    """QGemm-1: ``acc = op(A - a_zp) @ op(B - b_zp) + C`` in exact integers (C is int32 with
    scale ``alpha * a_scale * b_scale``), then ``acc * alpha * a_scale * b_scale`` as float32,
    or requantized with (y_scale, y_zero_point) when they are given."""
    op = "QGemm"
    eight_bit(a, op, "A")
    eight_bit(b, op, "B")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{op}: A and B must be 2-D, got {tuple(a.shape)} and {tuple(b.shape)}")
    at = a.T if transA else a
    bt = b.T if transB else b
    n = _matmul_shapes(at, bt, op)
    sa = np.float32(scalar(a_scale, op, "a_scale"))
    za = None
    if a_zero_point is not None:
        if a_zero_point.dtype != a.dtype:
            raise ValueError(f"{op}: a_zero_point has type {a_zero_point.dtype}, A has {a.dtype}")
        scalar(a_zero_point, op, "a_zero_point")
        za = a_zero_point.reshape(())
    zb = b_zero_point
    if zb is not None:
        zb = _zero_point_of(zb, b.dtype, n, op, "b_zero_point")
    acc = integer_product(xp, at, za, bt, zb).astype(np.float64)
    if c is not None:
        if c.dtype != np.int32:
            raise ValueError(f"{op}: C must be int32, got {c.dtype}")
        try:
            np.broadcast_shapes(c.shape, acc.shape)
        except ValueError:
            raise ValueError(f"{op}: C {tuple(c.shape)} does not broadcast to "
                             f"{tuple(acc.shape)}") from None
        acc += c
    # onnxruntime's order: alpha * a_scale * b_scale[i] (then / y_scale), all in float32.
    mult = np.float32(alpha) * sa * _per_column(b_scale, n, op, "b_scale").astype(np.float32)
    if (y_scale is None) != (y_zero_point is None):
        raise ValueError(f"{op}: y_scale and y_zero_point must be given together (a quantized "
                         f"output) or both omitted (a float output)")
    if y_scale is None:
        return _to_float(xp, acc, np.asarray(mult, np.float64), None, np.dtype(np.float32))
    mult = mult / np.float32(scalar(y_scale, op, "y_scale"))
    dt = eight_bit(y_zero_point, op, "y_zero_point")
    y = acc * np.asarray(mult, np.float64)
    y += scalar(y_zero_point, op, "y_zero_point")
    return requantize(xp, y, dt)


# --------------------------------------------------------------------------- QAttention

def _mask_bias(xp, mask_index, batch, seq, total, past, unidirectional, filter_value, op):
    """The additive (B, 1, S, total) float32 bias onnxruntime's attention applies: the mask
    filter value where mask_index masks a key and where the unidirectional mask hides a
    future one (the two add up, as in onnxruntime)."""
    bias = None
    fv = np.float32(filter_value)
    j = np.arange(total)
    if mask_index is not None:
        m = np.asarray(mask_index)
        if m.ndim == 1 and m.shape[0] in (batch, 2 * batch):
            end = m[:batch].reshape(batch, 1)
            hidden = j[None, :] >= end
            if m.shape[0] == 2 * batch:
                hidden |= j[None, :] < m[batch:].reshape(batch, 1)
            bias = np.where(hidden, fv, np.float32(0))[:, None, None, :]
        elif m.ndim == 2 and m.shape == (batch, total):
            bias = np.where(m == 0, fv, np.float32(0))[:, None, None, :]
        elif m.ndim == 3 and m.shape == (batch, seq, total):
            bias = np.where(m == 0, fv, np.float32(0))[:, None, :, :]
        else:
            raise ValueError(f"{op}: mask_index of shape {tuple(m.shape)} is none of ({batch},), "
                             f"({2 * batch},), ({batch}, {total}), ({batch}, {seq}, {total})")
    if unidirectional:
        future = j[None, :] > (past + np.arange(seq))[:, None]
        causal = np.where(future, fv, np.float32(0))[None, None]
        bias = causal if bias is None else bias + causal
    return None if bias is None else xp.asarray(bias.astype(np.float32))


def _attend(xp, q, k, v, bias, scale):
    """softmax(q k^T * scale + bias) v over (B, H, S, D) float32 arrays."""
    scores = xp.matmul(q, k.transpose(0, 1, 3, 2))
    scores *= np.float32(scale)
    if bias is not None:
        scores += bias
    scores -= scores.max(axis=-1, keepdims=True)
    xp.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return xp.matmul(scores, v)


@register("QAttention", since=1, domain=MS_DOMAIN, num_outputs=True)
def qattention(xp, x, weight, bias, input_scale, weight_scale, mask_index=None,
               input_zero_point=None, weight_zero_point=None, past=None, *, num_heads,
               do_rotary=0, mask_filter_value=-10000.0, past_present_share_buffer=0, scale=None,
               unidirectional=0, n_outputs=1):
    """QAttention-1: ``QKV = (input - izp) @ (weight - wzp) * input_scale * weight_scale +
    bias`` (exact integers, per-tensor or per-column weight quantization), then multi-head
    attention as com.microsoft.Attention computes it on the CPU: scale ``1/sqrt(head_size)``
    unless given, mask_index (right-padding lengths (B), end and start positions (2B), or a
    0/1 mask (B, total) or (B, S, total)) and the unidirectional mask add mask_filter_value,
    past (2, B, H, P, D) is prepended to K and V and present is the result."""
    op = "QAttention"
    if do_rotary:
        raise ValueError(f"{op}: do_rotary=1 is not implemented (onnxruntime's CPU kernel "
                         f"has none either)")
    if past_present_share_buffer:
        raise ValueError(f"{op}: past_present_share_buffer=1 is not implemented")
    eight_bit(x, op, "input")
    eight_bit(weight, op, "weight")
    if x.ndim != 3 or weight.ndim != 2 or weight.shape[0] != x.shape[2]:
        raise ValueError(f"{op}: input must be (B, S, I) and weight (I, 3*hidden), got "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")
    b, s, _ = x.shape
    three_h = weight.shape[1]
    if three_h % 3 or (three_h // 3) % num_heads:
        raise ValueError(f"{op}: weight has {three_h} columns, not 3 * num_heads ({num_heads}) "
                         f"* head_size")
    hidden = three_h // 3
    d = hidden // num_heads
    if bias is None or bias.shape != (three_h,):
        raise ValueError(f"{op}: bias must have shape ({three_h},)")
    qkv = _integer_to_float(xp, op, x, weight, input_scale, weight_scale, input_zero_point,
                            weight_zero_point, bias)
    qkv = qkv.reshape(b, s, 3, num_heads, d).transpose(2, 0, 3, 1, 4)   # (3, B, H, S, D)
    q, k, v = qkv[0], qkv[1], qkv[2]
    p = 0
    if past is not None:
        if past.ndim != 5 or past.shape[:3] != (2, b, num_heads) or past.shape[4] != d:
            raise ValueError(f"{op}: past must be (2, {b}, {num_heads}, P, {d}), got "
                             f"{tuple(past.shape)}")
        p = past.shape[3]
        k = xp.concatenate([past[0].astype(k.dtype, copy=False), k], axis=2)
        v = xp.concatenate([past[1].astype(v.dtype, copy=False), v], axis=2)
    mask = _mask_bias(xp, None if mask_index is None else np.asarray(mask_index), b, s, p + s,
                      p, unidirectional, mask_filter_value, op)
    out = _attend(xp, q, k, v, mask, scale if scale is not None else 1.0 / np.sqrt(d))
    out = out.transpose(0, 2, 1, 3).reshape(b, s, hidden)
    if n_outputs < 2:
        return out
    return out, xp.stack([k, v])
