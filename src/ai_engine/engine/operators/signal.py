"""Signal processing: DFT, STFT, the Hann/Hamming/Blackman windows, MelWeightMatrix.

Operator pages: https://onnx.ai/onnx/operators/onnx__DFT.html, onnx__STFT.html,
onnx__HannWindow.html, onnx__HammingWindow.html, onnx__BlackmanWindow.html,
onnx__MelWeightMatrix.html.

Complex values travel as real tensors whose last dimension is 2 (real, imaginary); a real
signal may come with a last dimension of 1. Transforms use ``xp.fft`` (pocketfft on the CPU,
cuFFT on a GPU); float16/bfloat16 are transformed in single precision and cast back.
"""

from __future__ import annotations

import numpy as np

from ai_engine.core.dtypes import to_numpy
from ai_engine.engine.operators.dtype_policy import compute_dtype
from ai_engine.engine.registry import register


def _int_scalar(v, name):
    if v is None:
        return None
    v = np.asarray(v.get() if hasattr(v, "get") else v)
    if v.size != 1:
        raise ValueError(f"{name} must be a scalar, got shape {v.shape}")
    return int(v.reshape(-1)[0])


def _float_scalar(v):
    v = np.asarray(v.get() if hasattr(v, "get") else v)
    return float(v.reshape(-1)[0])


def _to_complex(xp, x):
    """``[..., 1]`` or ``[..., 2]`` real layout -> complex array without the last axis."""
    if x.ndim < 2 or x.shape[-1] not in (1, 2):
        raise ValueError(f"expected a last dimension of 1 (real) or 2 (complex), got shape "
                         f"{x.shape}")
    x = x.astype(compute_dtype(x.dtype), copy=False)
    if x.shape[-1] == 1:
        return x[..., 0], True
    return x[..., 0] + 1j * x[..., 1], False


def _from_complex(xp, c, dtype):
    return xp.stack([c.real, c.imag], axis=-1).astype(dtype)


def _dft(xp, x, dft_length, axis, inverse, onesided):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"DFT: axis {axis} out of range for rank {x.ndim}")
    axis %= x.ndim
    if axis == x.ndim - 1:
        raise ValueError("DFT: axis cannot be the last (real/imaginary) dimension")
    signal, is_real = _to_complex(xp, x)
    n = _int_scalar(dft_length, "DFT: dft_length")
    if inverse:
        if onesided:
            # The input holds the one-sided half spectrum of a real signal: irfft.
            if n is None:
                n = 2 * (signal.shape[axis] - 1)
            out = xp.fft.irfft(signal, n=n, axis=axis)
            return out[..., None].astype(x.dtype)
        out = xp.fft.ifft(signal, n=n, axis=axis)
        return _from_complex(xp, out, x.dtype)
    if onesided and is_real:
        out = xp.fft.rfft(signal, n=n, axis=axis)
    else:
        out = xp.fft.fft(signal, n=n, axis=axis)
        if onesided:
            half = out.shape[axis] // 2 + 1
            out = xp.take(out, xp.arange(half), axis=axis)
    return _from_complex(xp, out, x.dtype)


@register("DFT", since=20)
def dft_20(xp, x, dft_length=None, axis=None, *, inverse=0, onesided=0):
    """DFT-20 (axis is an input, default -2): https://onnx.ai/onnx/operators/onnx__DFT.html"""
    ax = _int_scalar(axis, "DFT: axis")
    return _dft(xp, x, dft_length, -2 if ax is None else ax, inverse, onesided)


@register("DFT", since=17)
def dft_17(xp, x, dft_length=None, *, axis=1, inverse=0, onesided=0):
    """DFT-17: https://onnx.ai/onnx/operators/onnx__DFT.html#dft-17"""
    return _dft(xp, x, dft_length, axis, inverse, onesided)


@register("STFT", since=17)
def stft(xp, signal, frame_step, window=None, frame_length=None, *, onesided=1):
    """STFT-17: https://onnx.ai/onnx/operators/onnx__STFT.html

    Output ``[batch, frames, bins, 2]``; frames = 1 + (length - frame_length) // frame_step."""
    step = _int_scalar(frame_step, "STFT: frame_step")
    length = _int_scalar(frame_length, "STFT: frame_length")
    if window is not None:
        if window.ndim != 1:
            raise ValueError(f"STFT: window must be 1-D, got shape {window.shape}")
        if length is not None and length != window.shape[0]:
            raise ValueError(f"STFT: frame_length {length} != window length {window.shape[0]}")
        length = window.shape[0]
    if length is None:
        raise ValueError("STFT: one of window and frame_length is required")
    if signal.ndim != 3:
        raise ValueError(f"STFT: signal must be [batch, length, 1 or 2], got {signal.shape}")
    if step <= 0 or not 0 < length <= signal.shape[1]:
        raise ValueError(f"STFT: bad frame_step {step} / frame_length {length} for a signal "
                         f"of length {signal.shape[1]}")
    c, is_real = _to_complex(xp, signal)
    n_frames = 1 + (signal.shape[1] - length) // step
    # A gather with a (frames, length) index matrix builds every frame at once.
    idx = xp.arange(n_frames)[:, None] * step + xp.arange(length)[None, :]
    frames = c[:, idx]
    if window is not None:
        frames = frames * window.astype(frames.real.dtype)
    if onesided and is_real:
        out = xp.fft.rfft(frames, n=length, axis=-1)
    else:
        out = xp.fft.fft(frames, n=length, axis=-1)
        if onesided:
            out = out[..., :length // 2 + 1]
    return _from_complex(xp, out, signal.dtype)


def _window(xp, size, periodic, output_datatype, coefficients):
    """Generalized cosine window sum_k (-1)^k a_k cos(2 pi k n / N), N = size (periodic) or
    size - 1 (symmetric)."""
    n = _int_scalar(size, "window size")
    if n < 0:
        raise ValueError(f"window size must be non-negative, got {n}")
    denom = n if periodic else n - 1
    if denom <= 0:  # a one-point symmetric window is [1] (NumPy, PyTorch)
        return xp.ones(n, dtype=to_numpy(output_datatype))
    t = np.arange(n, dtype=np.float64) * (2 * np.pi / denom)
    w = np.zeros(n)
    for k, a in enumerate(coefficients):
        w += (-1) ** k * a * np.cos(k * t)
    return xp.asarray(w.astype(to_numpy(output_datatype)))


@register("HannWindow", since=17)
def hann_window(xp, size, *, output_datatype=1, periodic=1):
    """HannWindow-17: https://onnx.ai/onnx/operators/onnx__HannWindow.html"""
    return _window(xp, size, periodic, output_datatype, (0.5, 0.5))


@register("HammingWindow", since=17)
def hamming_window(xp, size, *, output_datatype=1, periodic=1):
    """HammingWindow-17 (alpha = 25/46): https://onnx.ai/onnx/operators/onnx__HammingWindow.html"""
    return _window(xp, size, periodic, output_datatype, (25 / 46, 1 - 25 / 46))


@register("BlackmanWindow", since=17)
def blackman_window(xp, size, *, output_datatype=1, periodic=1):
    """BlackmanWindow-17: https://onnx.ai/onnx/operators/onnx__BlackmanWindow.html"""
    return _window(xp, size, periodic, output_datatype, (0.42, 0.5, 0.08))


@register("MelWeightMatrix", since=17)
def mel_weight_matrix(xp, num_mel_bins, dft_length, sample_rate, lower_edge_hertz,
                      upper_edge_hertz, *, output_datatype=1):
    """MelWeightMatrix-17: https://onnx.ai/onnx/operators/onnx__MelWeightMatrix.html

    Triangular filters between mel-spaced points, mapped to DFT bins as the reference does:
    ``num_mel_bins + 2`` points, bin = floor((dft_length + 1) * hz / sample_rate)."""
    mels = _int_scalar(num_mel_bins, "num_mel_bins")
    length = _int_scalar(dft_length, "dft_length")
    rate = _int_scalar(sample_rate, "sample_rate")
    lo, hi = _float_scalar(lower_edge_hertz), _float_scalar(upper_edge_hertz)
    if mels <= 0 or length <= 0 or rate <= 0 or not 0 <= lo < hi:
        raise ValueError("MelWeightMatrix: bad arguments")
    n_spec = length // 2 + 1
    lo_mel = 2595 * np.log1p(lo / 700) / np.log(10)
    hi_mel = 2595 * np.log1p(hi / 700) / np.log(10)
    points = np.arange(mels + 2) * ((hi_mel - lo_mel) / (mels + 2)) + lo_mel
    hz = 700 * np.expm1(points / 2595 * np.log(10))
    bins = (((length + 1) * hz) // rate).astype(np.int64)
    if bins.max() >= n_spec:
        raise ValueError("MelWeightMatrix: upper_edge_hertz maps beyond the spectrum")
    left, center, right = bins[:-2], bins[1:-1], bins[2:]
    j = np.arange(n_spec)[:, None]
    up = np.where(center > left, (j - left) / np.maximum(center - left, 1), 1.0)
    down = (right - j) / np.maximum(right - center, 1)
    out = np.where((j >= left) & (j <= center), up, 0.0)
    out = np.where((j >= center) & (j < right), down, out)
    return xp.asarray(out.astype(to_numpy(output_datatype)))
