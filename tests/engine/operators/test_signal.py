"""Signal kernels through InferenceSession (signal.py).

The ONNX backend node cases run separately (scripts/conformance.py); these add float64 and
float16 signals, complex input, dft_length padding/truncation, negative axes, STFT on complex
signals and with two-sided output, window dtypes and symmetric/one-point windows, and an
onnxruntime/NumPy cross-check.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError

rng = np.random.default_rng(0)


def _model(op, inputs, opset, out_type=TensorProto.UNDEFINED, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    node = helper.make_node(op, names, ["y"], **attrs)
    vi = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
          for n, a in zip(names, inputs) if n]
    graph = helper.make_graph([node], op, vi,
                              [helper.make_tensor_value_info("y", out_type, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(op, *inputs, opset=20, **attrs):
    feeds = {f"x{i}": a for i, a in enumerate(inputs) if a is not None}
    return InferenceSession(_model(op, inputs, opset, **attrs)).run(None, feeds)[0]


def run_ort(op, *inputs, opset=20, out_type=TensorProto.FLOAT, **attrs):
    feeds = {f"x{i}": a for i, a in enumerate(inputs) if a is not None}
    model = _model(op, inputs, opset, out_type=out_type, **attrs)
    model.ir_version = min(model.ir_version, 10)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def _complex(y):
    return y[..., 0] + 1j * y[..., 1]


@pytest.mark.parametrize("axis", [1, 2, -2, -3])
@pytest.mark.parametrize("length", [None, 6, 12])
def test_dft_complex_matches_numpy(axis, length):
    x = rng.standard_normal((2, 8, 10, 2))
    n = None if length is None else np.array(length, np.int64)
    got = run("DFT", x, n, np.array(axis, np.int64))
    assert got.dtype == np.float64
    want = np.fft.fft(_complex(x), n=length, axis=axis % 4)
    np.testing.assert_allclose(_complex(got), want, atol=1e-9)


def test_dft_inverse_roundtrip_and_onesided_real():
    x = rng.standard_normal((3, 16, 1)).astype(np.float32)
    spec = run("DFT", x, None, np.array(1, np.int64), onesided=1)
    assert spec.shape == (3, 9, 2)
    np.testing.assert_allclose(_complex(spec), np.fft.rfft(x[..., 0], axis=1), atol=1e-4)
    back = run("DFT", spec, np.array(16, np.int64), np.array(1, np.int64), inverse=1,
               onesided=1)
    assert back.shape == (3, 16, 1)
    np.testing.assert_allclose(back, x, atol=1e-5)
    full = run("DFT", x, None, np.array(-2, np.int64))
    inv = run("DFT", full, None, np.array(-2, np.int64), inverse=1)
    np.testing.assert_allclose(inv[..., 0], x[..., 0], atol=1e-5)
    np.testing.assert_allclose(inv[..., 1], 0, atol=1e-5)


def test_dft_17_attribute_axis_vs_ort():
    x = rng.standard_normal((2, 6, 5, 2)).astype(np.float32)
    for attrs in ({"axis": 2}, {"axis": 1, "inverse": 1}):
        got = run("DFT", x, opset=17, **attrs)
        np.testing.assert_allclose(got, run_ort("DFT", x, opset=17, **attrs), atol=1e-4)


def test_dft_float16_keeps_dtype():
    x = rng.standard_normal((1, 8, 1)).astype(np.float16)
    got = run("DFT", x, None, np.array(1, np.int64))
    assert got.dtype == np.float16
    np.testing.assert_allclose(_complex(got.astype(np.float32)),
                               np.fft.fft(x[..., 0].astype(np.float64), axis=1), atol=2e-2)


def test_dft_rejects_last_axis():
    with pytest.raises(KernelError, match="DFT: axis cannot be the last"):
        run("DFT", rng.standard_normal((2, 4, 2)), None, np.array(2, np.int64))


@pytest.mark.parametrize("onesided", [0, 1])
@pytest.mark.parametrize("window", [False, True])
def test_stft_real_vs_ort(onesided, window):
    x = rng.standard_normal((2, 50, 1)).astype(np.float32)
    w = np.hanning(12).astype(np.float32) if window else None
    length = None if window else np.array(12, np.int64)
    args = (x, np.array(5, np.int64), w, length)
    got = run("STFT", *args, opset=17, onesided=onesided)
    assert got.shape == (2, 1 + (50 - 12) // 5, 7 if onesided else 12, 2)
    np.testing.assert_allclose(got, run_ort("STFT", *args, opset=17, onesided=onesided),
                               atol=1e-4)


def test_stft_complex_signal_matches_numpy():
    x = rng.standard_normal((1, 20, 2))
    got = run("STFT", x, np.array(4, np.int64), None, np.array(8, np.int64), opset=17,
              onesided=0)
    frames = np.stack([_complex(x)[0, i * 4:i * 4 + 8] for i in range(4)])
    np.testing.assert_allclose(_complex(got[0]), np.fft.fft(frames, axis=-1), atol=1e-9)


@pytest.mark.parametrize("op,formula", [
    ("HannWindow", lambda t: 0.5 - 0.5 * np.cos(t)),
    ("HammingWindow", lambda t: 25 / 46 - 21 / 46 * np.cos(t)),
    ("BlackmanWindow", lambda t: 0.42 - 0.5 * np.cos(t) + 0.08 * np.cos(2 * t))])
@pytest.mark.parametrize("periodic", [0, 1])
def test_windows(op, formula, periodic):
    n = 11
    got = run(op, np.array(n, np.int64), opset=17, periodic=periodic, output_datatype=11)
    assert got.dtype == np.float64 and got.shape == (n,)
    t = 2 * np.pi * np.arange(n) / (n if periodic else n - 1)
    np.testing.assert_allclose(got, formula(t), atol=1e-12)
    assert run(op, np.array(n, np.int32), opset=17).dtype == np.float32
    one = run(op, np.array(1, np.int64), opset=17, periodic=0)
    np.testing.assert_array_equal(one, [1.0])


def test_hann_symmetric_matches_numpy_hanning():
    got = run("HannWindow", np.array(9, np.int64), opset=17, periodic=0, output_datatype=11)
    np.testing.assert_allclose(got, np.hanning(9), atol=1e-12)


@pytest.mark.parametrize("bins,length,rate,lo,hi", [
    (8, 16, 8192, 0.0, 4096.0), (10, 64, 16000, 20.0, 8000.0), (5, 512, 22050, 100.0, 3000.0)])
def test_mel_weight_matrix_vs_ort(bins, length, rate, lo, hi):
    args = (np.array(bins, np.int64), np.array(length, np.int64), np.array(rate, np.int64),
            np.array(lo, np.float32), np.array(hi, np.float32))
    got = run("MelWeightMatrix", *args, opset=17)
    assert got.shape == (length // 2 + 1, bins) and got.dtype == np.float32
    np.testing.assert_allclose(got, run_ort("MelWeightMatrix", *args, opset=17), atol=1e-6)
