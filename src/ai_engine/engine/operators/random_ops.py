"""Random generators: RandomNormal(Like), RandomUniform(Like), Bernoulli, Multinomial.

Operator pages: https://onnx.ai/onnx/operators/onnx__RandomNormal.html,
onnx__RandomUniform.html, onnx__RandomNormalLike.html, onnx__RandomUniformLike.html,
onnx__Bernoulli.html, onnx__Multinomial.html.

The spec leaves the generator unspecified, so values can't match another runtime; shapes,
dtypes and distributions do. Numbers are drawn on the host with NumPy's PCG64 ``Generator``
and moved to the device (these ops are rare and small, and this keeps a seeded result the same
on every device). With the ``seed`` attribute every run of the node returns the same values;
without it each run draws fresh ones: from the OS's entropy, or, after
``ai_engine.set_seed(n)`` (onnxruntime's ``set_seed``), from one process-wide generator
seeded with ``n``, so the same program makes the same draws.
"""

from __future__ import annotations

import math

import numpy as np

from ai_engine.core.dtypes import to_numpy
from ai_engine.engine.registry import register

_FLOAT_TYPES = frozenset((1, 10, 11, 16))  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_process_rng: np.random.Generator | None = None   # set by set_process_seed


def set_process_seed(seed: int) -> None:
    """Seed the generator of random ops that have no ``seed`` attribute."""
    global _process_rng
    _process_rng = np.random.default_rng(seed)


def _rng(seed):
    if seed is None or (isinstance(seed, float) and math.isnan(seed)):
        # NumPy's Generator holds a lock, so runs on several threads may share it.
        return _process_rng if _process_rng is not None else np.random.default_rng()
    # The seed attribute is a float; its bit pattern (not a rounded int) keys the stream, so
    # seeds such as 0.5 and 0.25 give different streams.
    return np.random.default_rng(np.frombuffer(np.float64(seed).tobytes(), np.uint64))


def _float_dtype(onnx_type, op):
    if onnx_type not in _FLOAT_TYPES:
        raise TypeError(f"{op}: dtype must be a float type, got ONNX type {onnx_type}")
    return to_numpy(onnx_type)


def _like_dtype(x, dtype, op):
    if dtype is None:
        return np.dtype(x.dtype)
    return _float_dtype(dtype, op)


def _shape(shape, op):
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"{op}: negative dimension in shape {list(shape)}")
    return shape


def _normal(xp, shape, dtype, mean, scale, seed):
    r = _rng(seed).standard_normal(shape) * scale + mean
    return xp.asarray(r.astype(dtype))


def _uniform(xp, shape, dtype, low, high, seed):
    r = _rng(seed).random(shape) * (high - low) + low
    return xp.asarray(r.astype(dtype))


@register("RandomNormal", since=1)
def random_normal(xp, *, shape, dtype=1, mean=0.0, scale=1.0, seed=None):
    """RandomNormal-1: https://onnx.ai/onnx/operators/onnx__RandomNormal.html"""
    return _normal(xp, _shape(shape, "RandomNormal"), _float_dtype(dtype, "RandomNormal"),
                   mean, scale, seed)


@register("RandomUniform", since=1)
def random_uniform(xp, *, shape, dtype=1, high=1.0, low=0.0, seed=None):
    """RandomUniform-1: https://onnx.ai/onnx/operators/onnx__RandomUniform.html"""
    return _uniform(xp, _shape(shape, "RandomUniform"), _float_dtype(dtype, "RandomUniform"),
                    low, high, seed)


@register("RandomNormalLike", since=1)
def random_normal_like(xp, x, *, dtype=None, mean=0.0, scale=1.0, seed=None):
    """RandomNormalLike-1 (input's dtype unless ``dtype``):
    https://onnx.ai/onnx/operators/onnx__RandomNormalLike.html"""
    return _normal(xp, x.shape, _like_dtype(x, dtype, "RandomNormalLike"), mean, scale, seed)


@register("RandomUniformLike", since=1)
def random_uniform_like(xp, x, *, dtype=None, high=1.0, low=0.0, seed=None):
    """RandomUniformLike-1 (input's dtype unless ``dtype``):
    https://onnx.ai/onnx/operators/onnx__RandomUniformLike.html"""
    return _uniform(xp, x.shape, _like_dtype(x, dtype, "RandomUniformLike"), low, high, seed)


@register("Bernoulli", since=15)
def bernoulli(xp, x, *, dtype=None, seed=None):
    """Bernoulli-15: 1 with probability ``x``, else 0, in ``dtype`` (default: x's dtype):
    https://onnx.ai/onnx/operators/onnx__Bernoulli.html"""
    out_dtype = np.dtype(x.dtype) if dtype is None else to_numpy(dtype)
    p = np.asarray(x.get() if hasattr(x, "get") else x, dtype=np.float64)
    draws = _rng(seed).random(p.shape) < p
    return xp.asarray(draws.astype(out_dtype))


@register("Multinomial", since=7)
def multinomial(xp, x, *, dtype=6, sample_size=1, seed=None):
    """Multinomial-7: ``sample_size`` class indices per row of unnormalized log-probabilities
    ``x`` [batch, classes]: https://onnx.ai/onnx/operators/onnx__Multinomial.html"""
    if dtype not in (6, 7):  # INT32, INT64
        raise TypeError(f"Multinomial: dtype must be int32 or int64, got ONNX type {dtype}")
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"Multinomial: input must be [batch, classes], got {list(x.shape)}")
    logits = np.asarray(x.get() if hasattr(x, "get") else x, dtype=np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    u = _rng(seed).random((x.shape[0], sample_size))
    # Inverse-CDF sampling: the class is the number of cumulative bounds at or below u.
    idx = (cdf[:, None, :-1] <= u[:, :, None]).sum(axis=2)
    return xp.asarray(idx.astype(to_numpy(dtype)))
