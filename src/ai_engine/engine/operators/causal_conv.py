"""CausalConvWithState-27: https://onnx.ai/onnx/operators/onnx__CausalConvWithState.html
(depthwise causal 1-D convolution with a carried state)."""

from __future__ import annotations


from ai_engine.engine.operators.dtype_policy import compute_dtype
from ai_engine.engine.registry import register


@register("CausalConvWithState", since=27)
def causal_conv_with_state(xp, x, weight, bias=None, past_state=None, *, activation="none"):
    """CausalConvWithState-27: depthwise causal 1-D convolution with a carried state.

    https://onnx.ai/onnx/operators/onnx__CausalConvWithState.html
    """
    if activation not in ("none", "silu", "swish"):
        raise ValueError(f"CausalConvWithState: unknown activation {activation!r}")
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"CausalConvWithState: input {x.shape} and weight {weight.shape} "
                         "must be rank 3")
    batch, channels, length = x.shape
    k = weight.shape[2]
    if weight.shape[0] != channels or weight.shape[1] != 1:
        raise ValueError(f"CausalConvWithState: weight {weight.shape} is not "
                         f"({channels}, 1, k)")
    if past_state is None:
        pad = xp.zeros((batch, channels, k - 1), dtype=x.dtype)
    else:
        if past_state.shape != (batch, channels, k - 1):
            raise ValueError(f"CausalConvWithState: past_state {past_state.shape} is not "
                             f"{(batch, channels, k - 1)}")
        pad = past_state.astype(x.dtype, copy=False)
    padded = xp.concatenate([pad, x], axis=2)                       # (B, C, L + k - 1)
    ct = compute_dtype(x.dtype)
    pf = padded.astype(ct, copy=False)
    w = weight.astype(ct, copy=False)[:, 0, :]                      # (C, k)
    # A loop over the k kernel taps; each tap is one vectorized multiply-add.
    acc = pf[:, :, 0:length] * w[:, 0:1]
    for j in range(1, k):
        acc = acc + pf[:, :, j:j + length] * w[:, j:j + 1]
    if bias is not None:
        acc = acc + bias.astype(ct)[:, None]
    if activation in ("silu", "swish"):
        # The reference rounds the convolution to the input type before the activation.
        acc = acc.astype(x.dtype).astype(ct)
        acc = acc / (1 + xp.exp(-acc))
    present = padded[:, :, length:]
    return acc.astype(x.dtype), present
