"""Signal kernels through InferenceSession (signal.py).

The ONNX backend node cases run separately (scripts/conformance.py); these add float64 and
float16 signals, complex input, dft_length padding/truncation, negative axes, STFT on complex
signals and with two-sided output, window dtypes and symmetric/one-point windows, and an
onnxruntime/NumPy cross-check.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai_engine.errors import KernelError

from builders import run_op, run_op_peer

rng = np.random.default_rng(0)


def _complex(y):
    return y[..., 0] + 1j * y[..., 1]


@pytest.mark.parametrize("axis", [1, 2, -2, -3])
@pytest.mark.parametrize("length", [None, 6, 12])
def test_dft_complex_matches_numpy(axis, length):
    x = rng.standard_normal((2, 8, 10, 2))
    n = None if length is None else np.array(length, np.int64)
    got = run_op("DFT", x, n, np.array(axis, np.int64), opset=20)[0]
    assert got.dtype == np.float64
    want = np.fft.fft(_complex(x), n=length, axis=axis % 4)
    np.testing.assert_allclose(_complex(got), want, atol=1e-9)


def test_dft_inverse_roundtrip_and_onesided_real():
    x = rng.standard_normal((3, 16, 1)).astype(np.float32)
    spec = run_op("DFT", x, None, np.array(1, np.int64), opset=20, onesided=1)[0]
    assert spec.shape == (3, 9, 2)
    np.testing.assert_allclose(_complex(spec), np.fft.rfft(x[..., 0], axis=1), atol=1e-4)
    back = run_op("DFT", spec, np.array(16, np.int64), np.array(1, np.int64), opset=20, inverse=1,
                  onesided=1)[0]
    assert back.shape == (3, 16, 1)
    np.testing.assert_allclose(back, x, atol=1e-5)
    full = run_op("DFT", x, None, np.array(-2, np.int64), opset=20)[0]
    inv = run_op("DFT", full, None, np.array(-2, np.int64), opset=20, inverse=1)[0]
    np.testing.assert_allclose(inv[..., 0], x[..., 0], atol=1e-5)
    np.testing.assert_allclose(inv[..., 1], 0, atol=1e-5)


def test_dft_17_attribute_axis_vs_ort():
    x = rng.standard_normal((2, 6, 5, 2)).astype(np.float32)
    for attrs in ({"axis": 2}, {"axis": 1, "inverse": 1}):
        got = run_op("DFT", x, opset=17, **attrs)[0]
        np.testing.assert_allclose(got, run_op_peer("DFT", x, opset=17, **attrs)[0], atol=1e-4)


def test_dft_float16_keeps_dtype():
    x = rng.standard_normal((1, 8, 1)).astype(np.float16)
    got = run_op("DFT", x, None, np.array(1, np.int64), opset=20)[0]
    assert got.dtype == np.float16
    np.testing.assert_allclose(_complex(got.astype(np.float32)),
                               np.fft.fft(x[..., 0].astype(np.float64), axis=1), atol=2e-2)


def test_dft_rejects_last_axis():
    with pytest.raises(KernelError, match="DFT: axis cannot be the last"):
        run_op("DFT", rng.standard_normal((2, 4, 2)), None, np.array(2, np.int64), opset=20)


@pytest.mark.parametrize("onesided", [0, 1])
@pytest.mark.parametrize("window", [False, True])
def test_stft_real_vs_ort(onesided, window):
    x = rng.standard_normal((2, 50, 1)).astype(np.float32)
    w = np.hanning(12).astype(np.float32) if window else None
    length = None if window else np.array(12, np.int64)
    args = (x, np.array(5, np.int64), w, length)
    got = run_op("STFT", *args, opset=17, onesided=onesided)[0]
    assert got.shape == (2, 1 + (50 - 12) // 5, 7 if onesided else 12, 2)
    np.testing.assert_allclose(got, run_op_peer("STFT", *args, opset=17, onesided=onesided)[0],
                               atol=1e-4)


def test_stft_complex_signal_matches_numpy():
    x = rng.standard_normal((1, 20, 2))
    got = run_op("STFT", x, np.array(4, np.int64), None, np.array(8, np.int64), opset=17,
                 onesided=0)[0]
    frames = np.stack([_complex(x)[0, i * 4:i * 4 + 8] for i in range(4)])
    np.testing.assert_allclose(_complex(got[0]), np.fft.fft(frames, axis=-1), atol=1e-9)


@pytest.mark.parametrize("op,formula", [
    ("HannWindow", lambda t: 0.5 - 0.5 * np.cos(t)),
    ("HammingWindow", lambda t: 25 / 46 - 21 / 46 * np.cos(t)),
    ("BlackmanWindow", lambda t: 0.42 - 0.5 * np.cos(t) + 0.08 * np.cos(2 * t))])
@pytest.mark.parametrize("periodic", [0, 1])
def test_windows(op, formula, periodic):
    n = 11
    got = run_op(op, np.array(n, np.int64), opset=17, periodic=periodic, output_datatype=11)[0]
    assert got.dtype == np.float64 and got.shape == (n,)
    t = 2 * np.pi * np.arange(n) / (n if periodic else n - 1)
    np.testing.assert_allclose(got, formula(t), atol=1e-12)
    assert run_op(op, np.array(n, np.int32), opset=17)[0].dtype == np.float32
    one = run_op(op, np.array(1, np.int64), opset=17, periodic=0)[0]
    np.testing.assert_array_equal(one, [1.0])


def test_hann_symmetric_matches_numpy_hanning():
    got = run_op("HannWindow", np.array(9, np.int64), opset=17, periodic=0, output_datatype=11)[0]
    np.testing.assert_allclose(got, np.hanning(9), atol=1e-12)


@pytest.mark.parametrize("bins,length,rate,lo,hi", [
    (8, 16, 8192, 0.0, 4096.0), (10, 64, 16000, 20.0, 8000.0), (5, 512, 22050, 100.0, 3000.0)])
def test_mel_weight_matrix_vs_ort(bins, length, rate, lo, hi):
    args = (np.array(bins, np.int64), np.array(length, np.int64), np.array(rate, np.int64),
            np.array(lo, np.float32), np.array(hi, np.float32))
    got = run_op("MelWeightMatrix", *args, opset=17)[0]
    assert got.shape == (length // 2 + 1, bins) and got.dtype == np.float32
    np.testing.assert_allclose(got, run_op_peer("MelWeightMatrix", *args, opset=17)[0], atol=1e-6)
