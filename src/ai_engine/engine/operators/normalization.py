"""Normalization layers: BatchNormalization, InstanceNormalization, LayerNormalization,
GroupNormalization, RMSNormalization, LpNormalization, LRN, MeanVarianceNormalization.

Operator pages: https://onnx.ai/onnx/operators/ (onnx__LayerNormalization.html, ...).
LayerNorm and BatchNorm sit on hot paths, so the statistics are computed in few passes over
the data: rows are reduced with BLAS (a batched dot product is ~3x faster than ``(d*d).sum``
and as accurate), and the centred copy is normalized, scaled and shifted in place. float16 and
bfloat16 are computed in float32 (and float64 in float64) and cast back once at the end.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.compiled_paths import layer_norm_compiled
from ai_engine.engine.operators.dtype_policy import cast_back, compute_dtype, to_compute
from ai_engine.engine.registry import register

# Below this row length a batched matmul is dominated by per-row call overhead; einsum's
# sum-of-products loop wins there.
_BLAS_MIN_COLS = 32

_STASH_DTYPES = {1: np.float32, 10: np.float16, 11: np.float64, 16: None}


def _row_dot(xp, a, b):
    """sum(a * b, axis=1) of two 2-D arrays, without the temporary."""
    if a.shape[1] >= _BLAS_MIN_COLS:
        return xp.matmul(a[:, None, :], b[:, :, None]).reshape(-1)
    return xp.einsum("ij,ij->i", a, b)


def _row_mean(xp, x2):
    n = x2.shape[1]
    if n >= _BLAS_MIN_COLS:
        m = x2 @ xp.full((n, 1), 1.0 / n, dtype=x2.dtype)    # gemv
    else:
        m = x2.mean(axis=1, keepdims=True)
    return m


def _standardize(xp, x2, eps: float, owned: bool = False):
    """Rows of the 2-D compute-dtype array ``x2`` to zero mean and unit variance.

    Returns ``(normalized, mean, inv_std)`` with ``normalized`` a fresh array (``x2`` itself
    when ``owned``: the caller's temporary), ``mean`` and ``inv_std`` of shape (rows, 1).
    Two-pass variance (of the centred data): no cancellation for data far from zero.
    """
    mean = _row_mean(xp, x2)
    d = xp.subtract(x2, mean, out=x2) if owned else x2 - mean
    var = _row_dot(xp, d, d).reshape(-1, 1)
    var *= 1.0 / x2.shape[1]
    var += eps
    inv = xp.sqrt(var, out=var)
    xp.reciprocal(inv, out=inv)
    d *= inv
    return d, mean, inv


def _widen(x):
    """``(array in compute dtype, whether it is a fresh copy the kernel may overwrite)``."""
    cd = compute_dtype(x.dtype)
    if x.dtype == cd:
        return x, False
    return x.astype(cd), True


def _param(p, cd):
    """A scale/bias/statistics input in the compute dtype (ml_dtypes arrays have slow loops)."""
    return p if p.dtype == cd else p.astype(cd)


# --------------------------------------------------------------------------------------------
# BatchNormalization


def _bn_params_shape(x, p):
    """Spatial parameters have shape (C,); the pre-opset-9 non-spatial form (C, D1, ...)."""
    if p.ndim == 1 and p.shape[0] == x.shape[1]:
        return (x.shape[1],) + (1,) * (x.ndim - 2)
    return x.shape[1:]


def _bn_apply(xp, x, scale, bias, mean, var, epsilon, cd):
    """y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a: two passes."""
    shape = _bn_params_shape(x, scale)
    a = _param(var, cd) + cd.type(epsilon)
    xp.sqrt(a, out=a)
    xp.divide(_param(scale, cd), a, out=a)
    b = _param(bias, cd) - _param(mean, cd) * a
    y = xp.multiply(x, a.reshape(shape), dtype=cd) if x.dtype != cd else x * a.reshape(shape)
    y += b.reshape(shape)
    return y


def _bn_batch_stats(xp, x, spatial_shape, cd):
    # Spatial: statistics per channel over (N, D1, ...); non-spatial: per activation over N.
    spatial = x.ndim == 2 or spatial_shape[1:] == (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim)) if spatial else (0,)
    xc = _param(x, cd)
    mean = xc.mean(axis=axes, keepdims=True)
    d = xc - mean
    d *= d
    var = d.mean(axis=axes, keepdims=True)
    return mean.reshape(spatial_shape), var.reshape(spatial_shape)


def _bn_train(xp, x, scale, bias, input_mean, input_var, epsilon, momentum, cd):
    """Batch statistics (population variance) normalize X; running stats are blended."""
    shape = _bn_params_shape(x, scale)
    cur_mean, cur_var = _bn_batch_stats(xp, x, shape, cd)
    y = _bn_apply(xp, x, scale, bias, cur_mean.reshape(scale.shape),
                  cur_var.reshape(scale.shape), epsilon, cd)
    m = cd.type(momentum)
    run_mean = _param(input_mean, cd) * m + cur_mean.reshape(input_mean.shape) * (1 - m)
    run_var = _param(input_var, cd) * m + cur_var.reshape(input_var.shape) * (1 - m)
    return (y, cur_mean.reshape(input_mean.shape), cur_var.reshape(input_var.shape),
            run_mean, run_var)


def _check_bn(x):
    if x.ndim < 2:
        raise ValueError(f"BatchNormalization: X must have rank >= 2 (N, C, ...), got shape "
                         f"{tuple(x.shape)}")


@register("BatchNormalization", since=14)
def batch_normalization(xp, x, scale, b, input_mean, input_var, *, epsilon=1e-5,
                        momentum=0.9, training_mode=0):
    """BatchNormalization-14/15: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html

    training_mode=1 normalizes with the batch statistics and returns (Y, running_mean,
    running_var), the running statistics blended with ``momentum``.
    """
    _check_bn(x)
    cd = compute_dtype(x.dtype)
    if not training_mode:
        y = _bn_apply(xp, x, scale, b, input_mean, input_var, epsilon, cd)
        return cast_back(xp, y, x.dtype)
    y, _, _, run_mean, run_var = _bn_train(xp, x, scale, b, input_mean, input_var, epsilon,
                                           momentum, cd)
    return (cast_back(xp, y, x.dtype), cast_back(xp, run_mean, input_mean.dtype),
            cast_back(xp, run_var, input_var.dtype))


def _bn_legacy(xp, x, scale, b, mean, var, epsilon, momentum, n_outputs):
    # Before opset 14 training mode is signalled by the optional outputs being requested:
    # (Y, running mean, running var, saved (batch) mean, saved (batch) var).
    _check_bn(x)
    cd = compute_dtype(x.dtype)
    if n_outputs <= 1:
        return cast_back(xp, _bn_apply(xp, x, scale, b, mean, var, epsilon, cd), x.dtype)
    y, cur_mean, cur_var, run_mean, run_var = _bn_train(xp, x, scale, b, mean, var, epsilon,
                                                        momentum, cd)
    outs = (cast_back(xp, y, x.dtype), cast_back(xp, run_mean, mean.dtype),
            cast_back(xp, run_var, var.dtype), cast_back(xp, cur_mean, mean.dtype),
            cast_back(xp, cur_var, var.dtype))
    return outs[:n_outputs]


@register("BatchNormalization", since=9, num_outputs=True)
def batch_normalization_9(xp, x, scale, b, mean, var, *, epsilon=1e-5, momentum=0.9,
                          n_outputs=1):
    """BatchNormalization-9: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html"""
    return _bn_legacy(xp, x, scale, b, mean, var, epsilon, momentum, n_outputs)


@register("BatchNormalization", since=7, num_outputs=True)
def batch_normalization_7(xp, x, scale, b, mean, var, *, epsilon=1e-5, momentum=0.9,
                          spatial=1, n_outputs=1):
    """BatchNormalization-7 (``spatial=0``: statistics of shape (C, D1, ..., Dn))."""
    return _bn_legacy(xp, x, scale, b, mean, var, epsilon, momentum, n_outputs)


@register("BatchNormalization", since=6, num_outputs=True)
def batch_normalization_6(xp, x, scale, b, mean, var, *, epsilon=1e-5, is_test=0,
                          momentum=0.9, spatial=1, n_outputs=1):
    """BatchNormalization-6: ``is_test`` is implied by the outputs requested."""
    return _bn_legacy(xp, x, scale, b, mean, var, epsilon, momentum, n_outputs)


@register("BatchNormalization", since=1, num_outputs=True)
def batch_normalization_1(xp, x, scale, b, mean, var, *, epsilon=1e-5, is_test=0,
                          momentum=0.9, spatial=1, consumed_inputs=None, n_outputs=1):
    """BatchNormalization-1 (``consumed_inputs`` was a memory hint, ignored)."""
    return _bn_legacy(xp, x, scale, b, mean, var, epsilon, momentum, n_outputs)


# --------------------------------------------------------------------------------------------
# Instance / Group / Layer / RMS normalization


def _channel_affine(xp, y3, scale, bias, cd):
    """``y3`` (N, C, S) *= scale[c]; += bias[c], in place."""
    y3 *= _param(scale, cd).reshape(1, -1, 1)
    if bias is not None:
        y3 += _param(bias, cd).reshape(1, -1, 1)
    return y3


@register("InstanceNormalization", since=6)
def instance_normalization(xp, x, scale, b, *, epsilon=1e-5):
    """InstanceNormalization: https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html"""
    if x.ndim < 2:
        raise ValueError(f"InstanceNormalization: X must have rank >= 2, got {tuple(x.shape)}")
    n, c = x.shape[:2]
    xc, owned = _widen(x)
    y, _, _ = _standardize(xp, xc.reshape(n * c, -1), epsilon, owned)
    y = _channel_affine(xp, y.reshape(n, c, -1), scale, b, y.dtype)
    return cast_back(xp, y.reshape(x.shape), x.dtype)


@register("InstanceNormalization", since=1)
def instance_normalization_1(xp, x, scale, b, *, epsilon=1e-5, consumed_inputs=None):
    """InstanceNormalization-1 (``consumed_inputs`` was a memory hint, ignored)."""
    return instance_normalization(xp, x, scale, b, epsilon=epsilon)


def _group_norm(xp, x, scale, bias, num_groups, epsilon, per_group_ok):
    if x.ndim < 2:
        raise ValueError(f"GroupNormalization: X must have rank >= 2, got {tuple(x.shape)}")
    n, c = x.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"GroupNormalization: num_groups={num_groups} does not divide the "
                         f"{c} channels")
    xc, owned = _widen(x)
    y, _, _ = _standardize(xp, xc.reshape(n * num_groups, -1), epsilon, owned)
    cd = y.dtype
    scale, bias = _param(scale, cd).reshape(-1), _param(bias, cd).reshape(-1)
    if scale.shape[0] != c:
        # Opset 18: one scale/bias per group; spread over the group's channels.
        if not per_group_ok or scale.shape[0] != num_groups:
            raise ValueError(f"GroupNormalization: scale has {scale.shape[0]} values, "
                             f"expected {c} (channels)")
        scale, bias = xp.repeat(scale, c // num_groups), xp.repeat(bias, c // num_groups)
    y = _channel_affine(xp, y.reshape(n, c, -1), scale, bias, cd)
    return cast_back(xp, y.reshape(x.shape), x.dtype)


@register("GroupNormalization", since=21)
def group_normalization(xp, x, scale, bias, *, num_groups, epsilon=1e-5, stash_type=1):
    """GroupNormalization-21 (scale/bias per channel):
    https://onnx.ai/onnx/operators/onnx__GroupNormalization.html"""
    return _group_norm(xp, x, scale, bias, num_groups, epsilon, per_group_ok=False)


@register("GroupNormalization", since=18)
def group_normalization_18(xp, x, scale, bias, *, num_groups, epsilon=1e-5):
    """GroupNormalization-18: scale/bias per group (per channel is accepted too: several
    exporters wrote opset-18 models with the opset-21 shapes)."""
    return _group_norm(xp, x, scale, bias, num_groups, epsilon, per_group_ok=True)


def _norm_axis(axis: int, rank: int, op: str) -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"{op}: axis {axis} out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def _stash_dtype(stash_type: int, x):
    if stash_type == 16:
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    if stash_type not in _STASH_DTYPES:
        raise ValueError(f"stash_type {stash_type} is not a floating-point type")
    return np.dtype(_STASH_DTYPES[stash_type])


@register("LayerNormalization", since=17)
def layer_normalization(xp, x, scale, b=None, *, axis=-1, epsilon=1e-5, stash_type=1):
    """LayerNormalization: https://onnx.ai/onnx/operators/onnx__LayerNormalization.html

    Statistics are computed in float32 (float64 for float64 input, which loses nothing);
    Mean and InvStdDev come back in the ``stash_type`` dtype.
    """
    a = _norm_axis(axis, x.ndim, "LayerNormalization")
    rows = int(np.prod(x.shape[:a], dtype=np.int64))
    xc, owned = _widen(x)
    if stash_type == 1 and xp is np:
        done = layer_norm_compiled(xc, a, rows, scale, b, epsilon)
        if done is not None:
            y, mean, inv = done
            return cast_back(xp, y, x.dtype), mean, inv
    if stash_type == 11 and xc.dtype != np.float64:
        xc, owned = xc.astype(np.float64), True
    y, mean, inv = _standardize(xp, xc.reshape(rows, -1), epsilon, owned)
    y = y.reshape(x.shape)
    y *= _param(scale, y.dtype)     # unidirectional broadcast: in place keeps X's shape
    if b is not None:
        y += _param(b, y.dtype)
    stat_shape = x.shape[:a] + (1,) * (x.ndim - a)
    sd = _stash_dtype(stash_type, x)
    return (cast_back(xp, y, x.dtype), cast_back(xp, mean.reshape(stat_shape), sd),
            cast_back(xp, inv.reshape(stat_shape), sd))


def rms_normalize(xp, x, scale, axis, epsilon, stash_type, op):
    """RMS normalization of ``x`` over axes [axis, rank), the statistics in float32 (float64
    for float64 input or ``stash_type`` 11): (Y in x's dtype, 1/rms with x's rank)."""
    a = _norm_axis(axis, x.ndim, op)
    rows = int(np.prod(x.shape[:a], dtype=np.int64))
    xc, owned = _widen(x)
    if stash_type == 11 and xc.dtype != np.float64:
        xc, owned = xc.astype(np.float64), True
    x2 = xc.reshape(rows, -1)
    ms = _row_dot(xp, x2, x2).reshape(-1, 1)
    ms *= 1.0 / max(x2.shape[1], 1)
    ms += epsilon
    xp.sqrt(ms, out=ms)
    xp.reciprocal(ms, out=ms)
    y = xp.multiply(x2, ms, out=x2) if owned else x2 * ms
    y = y.reshape(x.shape)
    y *= _param(scale, y.dtype)
    return cast_back(xp, y, x.dtype), ms.reshape(x.shape[:a] + (1,) * (x.ndim - a))


@register("RMSNormalization", since=23)
def rms_normalization(xp, x, scale, *, axis=-1, epsilon=1e-5, stash_type=1):
    """RMSNormalization: https://onnx.ai/onnx/operators/onnx__RMSNormalization.html"""
    return rms_normalize(xp, x, scale, axis, epsilon, stash_type, "RMSNormalization")[0]


# --------------------------------------------------------------------------------------------
# LpNormalization, LRN, MeanVarianceNormalization


@register("LpNormalization", since=1)
def lp_normalization(xp, x, *, axis=-1, p=2):
    """LpNormalization: https://onnx.ai/onnx/operators/onnx__LpNormalization.html
    (an all-zero slice gives zeros, as opset 22 defines; older opsets left it undefined)."""
    if p not in (1, 2):
        raise ValueError(f"LpNormalization: p must be 1 or 2, got {p}")
    xc = to_compute(x)
    if p == 2:
        norm = xp.sqrt((xc * xc).sum(axis=axis, keepdims=True))
    else:
        norm = xp.abs(xc).sum(axis=axis, keepdims=True)
    norm[norm == 0] = 1     # x is all zeros there: 0 / 1 = 0
    return cast_back(xp, xc / norm, x.dtype)


@register("LRN", since=1)
def lrn(xp, x, *, size, alpha=1e-4, beta=0.75, bias=1.0):
    """LRN: https://onnx.ai/onnx/operators/onnx__LRN.html

    The cross-channel window sum is a loop over the ``size`` window taps (shifted slices).
    """
    if x.ndim < 2:
        raise ValueError(f"LRN: X must have rank >= 2 (N, C, ...), got {tuple(x.shape)}")
    xc = to_compute(x)
    sq = xc * xc
    c = x.shape[1]
    lo_off, hi_off = (size - 1) // 2, -(-(size - 1) // 2)
    acc = sq.copy()
    for off in range(-lo_off, hi_off + 1):
        if off == 0 or abs(off) >= c:
            continue
        if off > 0:       # channel i gathers channel i + off
            acc[:, :c - off] += sq[:, off:]
        else:
            acc[:, -off:] += sq[:, :c + off]
    acc *= alpha / size
    acc += bias
    xp.power(acc, -beta, out=acc)
    acc *= xc
    return cast_back(xp, acc, x.dtype)


@register("MeanVarianceNormalization", since=9)
def mean_variance_normalization(xp, x, *, axes=(0, 2, 3)):
    """MeanVarianceNormalization: https://onnx.ai/onnx/operators/onnx__MeanVarianceNormalization.html

    (X - E[X]) / (sqrt(Var[X]) + 1e-9), the epsilon of the operator's function body; the
    variance is taken of the centred data (the function body's E[X^2] - E[X]^2 cancels).
    """
    axes = tuple(_norm_axis(int(a), x.ndim, "MeanVarianceNormalization") for a in axes)
    xc = to_compute(x)
    d = xc - xc.mean(axis=axes, keepdims=True)
    std = xp.sqrt((d * d).mean(axis=axes, keepdims=True))
    std += 1e-9
    d /= std
    return cast_back(xp, d, x.dtype)

