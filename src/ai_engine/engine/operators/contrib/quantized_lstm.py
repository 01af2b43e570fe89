"""com.microsoft DynamicQuantizeLSTM: an LSTM whose W and R are 8-bit and whose inputs to each
GEMM are quantized on the fly, as onnxruntime's quantize_dynamic writes old LSTM models.

Spec: onnxruntime docs/ContribOperators.md; dynamic_quantize_lstm.cc and rnn_helpers.cc
(ComputeGemm for 8-bit weights) fix the arithmetic the doc leaves out:
- W is (D, input_size, 4H) and R is (D, H, 4H) (transposed against ONNX LSTM), quantized per
  direction, or per direction and column (W_scale/W_zero_point of shape (D,) or (D, 4H));
- each GEMM quantizes its float operand to uint8 as DynamicQuantizeLinear does, one scale and
  zero point per call: X of every time step at once for ``X @ W``, then ``h`` (all batch
  rows) at every step for ``h @ R``;
- the exact integer product is scaled by ``a_scale * w_scale[column]`` (float32).
Everything else (gate order i, o, f, c, peepholes, clip, input_forget, activations,
sequence_lens) is ONNX LSTM's, run by the same code (rnn.run_lstm).
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.contrib.integer_gemm import CentredWeight
from ai_engine.engine.operators.contrib.quantized import MS_DOMAIN, eight_bit
from ai_engine.engine.operators.quantization import dynamic_quantize_linear
from ai_engine.engine.operators.rnn import _Setup, run_lstm
from ai_engine.engine.registry import register


class _QuantizedWeight:
    """One of W / R: per direction, the (K, 4H) 8-bit weight with its zero points (integer_gemm
    converts it to float in bounded tiles, once per run when it fits) and column scales."""

    def __init__(self, w, scale, zero_point, d, four_h, what):
        op = "DynamicQuantizeLSTM"
        eight_bit(w, op, what)
        if w.ndim != 3 or w.shape[0] != d or w.shape[2] != four_h:
            raise ValueError(f"{op}: {what} must have shape ({d}, *, {four_h}), got "
                             f"{tuple(w.shape)}")
        self.scale = self._param(scale, d, four_h, f"{what}_scale", np.float32)
        if zero_point.dtype != w.dtype:
            raise ValueError(f"{op}: {what}_zero_point type {zero_point.dtype} differs from "
                             f"{what}'s {w.dtype}")
        zp = self._param(zero_point, d, four_h, f"{what}_zero_point", np.float32)
        self.directions = [CentredWeight(w[k], zp[k]) for k in range(d)]

    @staticmethod
    def _param(p, d, four_h, what, dtype):
        if p.shape == (d,):
            return np.repeat(p.astype(dtype).reshape(d, 1), four_h, axis=1)
        if p.shape == (d, four_h):
            return p.astype(dtype)
        raise ValueError(f"DynamicQuantizeLSTM: {what} must have shape ({d},) or ({d}, "
                         f"{four_h}), got {tuple(p.shape)}")

    def product(self, xp, a, d):
        """``a @ dequantize(weight[d])`` with ``a`` quantized dynamically (one scale)."""
        aq, a_scale, a_zp = dynamic_quantize_linear(xp, a)
        acc = self.directions[d].product(xp, aq.astype(np.float32) - np.float32(a_zp))
        mult = np.float32(a_scale) * self.scale[d]                   # float32, as onnxruntime
        return (acc * mult.astype(np.float64)).astype(np.float32)


@register("DynamicQuantizeLSTM", since=1, domain=MS_DOMAIN)
def dynamic_quantize_lstm(xp, X, W, R, B=None, sequence_lens=None, initial_h=None,
                          initial_c=None, P=None, W_scale=None, W_zero_point=None,
                          R_scale=None, R_zero_point=None, *, activation_alpha=None,
                          activation_beta=None, activations=None, clip=None,
                          direction="forward", hidden_size=None, input_forget=0):
    """DynamicQuantizeLSTM-1 -> (Y, Y_h, Y_c): ONNX LSTM (layout 0) with 8-bit W (D, I, 4H) and
    R (D, H, 4H) and dynamically quantized GEMM inputs (module docstring)."""
    op = "DynamicQuantizeLSTM"
    for name, v in (("W_scale", W_scale), ("W_zero_point", W_zero_point),
                    ("R_scale", R_scale), ("R_zero_point", R_zero_point)):
        if v is None:
            raise ValueError(f"{op}: input {name} is required")
    if X.dtype != np.float32:
        raise ValueError(f"{op}: X must be float32, got {X.dtype}")
    if R.ndim != 3:
        raise ValueError(f"{op}: R must be 3-D (D, hidden, 4*hidden), got {tuple(R.shape)}")
    d = R.shape[0]
    four_h = R.shape[2]
    w = _QuantizedWeight(W, W_scale, W_zero_point, d, four_h, "W")
    r = _QuantizedWeight(R, R_scale, R_zero_point, d, four_h, "R")

    def project(x2):
        return xp.concatenate([w.product(xp, x2, k) for k in range(d)], axis=1)

    # W and R transposed to ONNX LSTM's (D, 4H, K) layout are views: _Setup checks their
    # shapes; the products go through project/recur.
    s = _Setup(xp, op, X, W.transpose(0, 2, 1), R.transpose(0, 2, 1), B, sequence_lens,
               initial_h, 0, direction, hidden_size, 4, lambda b: b[:, 0] + b[:, 1],
               project=project, recur=lambda k, h: r.product(xp, h, k))
    return run_lstm(xp, s, X.dtype, initial_c, P, activation_alpha=activation_alpha,
                    activation_beta=activation_beta, activations=activations, clip=clip,
                    input_forget=input_forget, layout=0, op=op)
