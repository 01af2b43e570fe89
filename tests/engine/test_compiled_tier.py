"""The compiled (numba) kernel tier, engine/compiled/: each kernel against the NumPy fallback
it replaces (forced with ``compiled.disabled()``), the switch, threads and the disk cache.
Tests that need numba skip without it; the fallback tests run either way."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from ai_engine.engine import compiled
from ai_engine.engine.operators.activations import _softmax, gelu, hard_swish, sigmoid
from ai_engine.engine.operators.conv_engine import fast_conv
from ai_engine.engine.operators.fused.silu import silu
from ai_engine.engine.operators.normalization import layer_normalization
from ai_engine.engine.operators.rnn import gru, lstm, rnn

needs_numba = pytest.mark.skipif(not compiled.available(), reason="numba not installed")
SRC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "src")


def both(fn, *args, **kwargs):
    """(compiled result, NumPy fallback result) of the same call (float warnings off, as in a
    session run)."""
    with np.errstate(all="ignore"):
        fast = fn(*args, **kwargs)
        with compiled.disabled():
            slow = fn(*args, **kwargs)
    return fast, slow


def test_switch_turns_the_tier_off_and_restores_it():
    before = compiled.enabled()
    with compiled.disabled():
        assert not compiled.enabled()
        assert compiled.kernels("conv_kernels") is None
    assert compiled.enabled() == before


def test_environment_switch_and_fallback_model_run():
    """AI_ENGINE_COMPILED=0: no kernel module is loaded, numba is never imported, and a
    model with a depthwise conv and a LayerNorm still runs (NumPy)."""
    code = (
        "import sys, numpy as np\n"
        "from ai_engine.engine import compiled\n"
        "from ai_engine.engine.operators.conv_engine import fast_conv\n"
        "x = np.ones((1, 4, 5, 5), np.float32); w = np.ones((4, 3, 3, 1), np.float32)\n"
        "y = fast_conv(np, x, w, None, None, auto_pad='NOTSET', dilations=None, group=4,\n"
        "              pads=[1] * 4, strides=None, act=('Relu', 0.0, None, None))\n"
        "assert y[0, 0, 2, 2] == 9 and y[0, 0, 0, 0] == 4\n"
        "assert compiled.kernels('conv_kernels') is None and not compiled.enabled()\n"
        "assert 'numba' not in sys.modules\n")
    env = dict(os.environ, AI_ENGINE_COMPILED="0", PYTHONPATH=SRC)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)


# -- convolutions ------------------------------------------------------------------------------

ACTS = [("", 0.0, None, None), ("Relu", 0.0, None, None), ("LeakyRelu", 0.1, None, None),
        ("Clip", 0.0, 0.0, 6.0), ("Clip", 0.0, None, 1.0), ("Silu", 0.0, None, None),
        ("HardSwish", 0.0, None, None), ("Sigmoid", 0.0, None, None)]


def _conv(x, w, b, z, group, pads, strides, act, dilations=None):
    return fast_conv(np, x, w, b, z, auto_pad="NOTSET", dilations=dilations, group=group,
                     pads=pads, strides=strides, act=act)


@needs_numba
@pytest.mark.parametrize("k,stride,dil,pad", [(3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 1, 2),
                                              (5, 2, 1, 2), (3, 1, 2, 2), (7, 2, 1, 3),
                                              (3, 1, 1, 0), (2, 2, 1, 0)])
def test_depthwise_matches_numpy(k, stride, dil, pad):
    rng = np.random.default_rng(k * 10 + stride)
    for act, residual in itertools.product(ACTS, (False, True)):
        x = rng.standard_normal((2, 6, 11, 9)).astype(np.float32)
        w = rng.standard_normal((6, k, k, 1)).astype(np.float32)
        b = rng.standard_normal(6).astype(np.float32)
        y = _conv(x, w, b, None, 6, [pad] * 4, [stride] * 2, act, [dil] * 2)
        z = rng.standard_normal(y.shape).astype(np.float32) if residual else None
        fast, slow = both(_conv, x, w, b, z, 6, [pad] * 4, [stride] * 2, act, [dil] * 2)
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5, err_msg=str(act))


@needs_numba
@pytest.mark.parametrize("k,stride,h", [(1, 1, 20), (1, 2, 21), (3, 1, 30), (3, 2, 9),
                                        (3, 1, 4), (3, 2, 3), (1, 1, 2), (7, 2, 5)])
def test_gemm_conv_epilogues_match_numpy(k, stride, h):
    """1x1 (one GEMM), 3x3 stride 1 on a big map (per-tap GEMMs into the wide layout),
    strided im2col, and small convs (the direct kernel, taps in the padding skipped): the
    compiled paths give the NumPy paths' values."""
    rng = np.random.default_rng(k + h)
    for act in ACTS:
        x = rng.standard_normal((1, 24, h, h)).astype(np.float32)
        w = rng.standard_normal((40, k, k, 24)).astype(np.float32) * 0.2
        b = rng.standard_normal(40).astype(np.float32)
        y = _conv(x, w, b, None, 1, [k // 2] * 4, [stride] * 2, act)
        z = rng.standard_normal(y.shape).astype(np.float32)
        for zz in (None, z):
            fast, slow = both(_conv, x, w, b, zz, 1, [k // 2] * 4, [stride] * 2, act)
            np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-4, err_msg=str(act))


# -- activations, normalization -----------------------------------------------------------------

SPECIAL = np.array([0.0, -0.0, 1e-30, -1e-30, 20.0, -20.0, 88.0, -88.0, 100.0, -100.0, np.inf,
                    -np.inf, np.nan], np.float32)


@needs_numba
@pytest.mark.parametrize("fn", [sigmoid, hard_swish, gelu, silu], ids=lambda f: f.__name__)
def test_activations_match_numpy_including_extremes(fn):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(5000).astype(np.float32) * 6, SPECIAL])
    fast, slow = both(fn, np, x)
    assert fast.dtype == slow.dtype == np.float32
    np.testing.assert_allclose(fast, slow, rtol=2e-6, atol=2e-6)
    assert np.array_equal(np.isnan(fast), np.isnan(slow))


@needs_numba
def test_activation_of_float16_is_computed_in_float32_both_ways():
    x = np.linspace(-8, 8, 101).astype(np.float16)
    fast, slow = both(silu, np, x)
    assert fast.dtype == np.float16
    np.testing.assert_array_equal(fast, slow)


@needs_numba
@pytest.mark.parametrize("shape,axis", [((4, 7, 768), -1), ((3, 5), 1), ((2, 3, 4, 8), 2),
                                        ((6, 1), -1)])
def test_layer_norm_matches_numpy(shape, axis):
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 5 + 3).astype(np.float32)
    norm = shape[axis:] if axis >= 0 else shape[axis:]
    scale = rng.standard_normal(norm).astype(np.float32)
    bias = rng.standard_normal(norm).astype(np.float32)
    for b in (bias, None):
        fast, slow = both(layer_normalization, np, x, scale, b, axis=axis)
        for f, s in zip(fast, slow):
            assert f.shape == s.shape and f.dtype == s.dtype
            np.testing.assert_allclose(f, s, rtol=1e-5, atol=1e-5)


@needs_numba
def test_softmax_matches_numpy_with_masked_and_nan_rows():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((5, 9, 33)) * 10).astype(np.float32)
    x[0, 0, :5] = -np.inf          # masked positions give exact zeros
    x[1, 1, 3] = np.nan            # a NaN makes its row NaN, as in NumPy
    x[2, 2, :] = -np.inf           # a fully masked row is NaN in NumPy's formula too
    fast, slow = both(_softmax, np, x, -1)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-7)
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    assert (fast[0, 0, :5] == 0).all()


# -- recurrent layers ---------------------------------------------------------------------------

def _recurrent_args(op, gates, T, B, H, D, rng):
    X = rng.standard_normal((T, B, 5)).astype(np.float32)
    W = rng.standard_normal((D, gates * H, 5)).astype(np.float32) * 0.5
    R = rng.standard_normal((D, gates * H, H)).astype(np.float32) * 0.5
    Bias = rng.standard_normal((D, 2 * gates * H)).astype(np.float32)
    h0 = rng.standard_normal((D, B, H)).astype(np.float32)
    args = [X, W, R, Bias, None, h0]
    if op is lstm:
        args += [rng.standard_normal((D, B, H)).astype(np.float32),
                 rng.standard_normal((D, 3 * H)).astype(np.float32)]
    return args


@needs_numba
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("op,gates,variants", [
    (lstm, 4, [{}, {"input_forget": 1}, {"clip": 0.8}]),
    (gru, 3, [{"linear_before_reset": 0}, {"linear_before_reset": 1}, {"clip": 0.8}]),
    (rnn, 1, [{}, {"clip": 0.5}]),
], ids=["lstm", "gru", "rnn"])
def test_recurrent_loops_match_numpy(op, gates, variants, direction):
    rng = np.random.default_rng(gates)
    D = 2 if direction == "bidirectional" else 1
    for (T, B, H), kw in itertools.product([(1, 1, 1), (6, 3, 17)], variants):
        args = _recurrent_args(op, gates, T, B, H, D, rng)
        fast, slow = both(op, np, *args, direction=direction, **kw)
        for f, s in zip(fast, slow):
            assert f.shape == s.shape
            np.testing.assert_allclose(f, s, rtol=1e-5, atol=1e-5, err_msg=f"{kw}")


@needs_numba
def test_recurrent_loop_checks_the_run_control_every_step():
    """With a RunControl the compiled LSTM runs one checked step per call: a run terminated
    mid-loop stops at the next step's check."""
    from ai_engine.engine.run_options import RunControl, RunOptions, activate, deactivate
    from ai_engine.errors import RunTerminatedError

    class CountingControl(RunControl):
        def __init__(self):
            super().__init__(RunOptions())
            self.labels = []

        def check(self, label):
            self.labels.append(label)
            if len(self.labels) == 4:
                self.options.terminate = True
            super().check(label)

    rng = np.random.default_rng(3)
    args = _recurrent_args(lstm, 4, 9, 2, 4, 1, rng)
    control = CountingControl()
    token = activate(control)
    try:
        with pytest.raises(RunTerminatedError):
            lstm(np, *args)
    finally:
        deactivate(token)
    assert control.labels == [f"recurrent time step {t}" for t in range(4)]


# -- threads and cache --------------------------------------------------------------------------

@needs_numba
def test_session_threads_govern_the_compiled_tier():
    from ai_engine.engine.threads import apply_intra_op_threads

    before = compiled._threads
    try:
        apply_intra_op_threads(1)
        assert compiled.threads() == 1
    finally:
        compiled.set_threads(before)


def test_cache_dir_rules(monkeypatch, tmp_path):
    from ai_engine.engine.compiled import cache

    monkeypatch.setenv("AI_ENGINE_CACHE_DIR", str(tmp_path))
    assert cache.cache_dir() == os.path.join(str(tmp_path), "numba")
    monkeypatch.delenv("AI_ENGINE_CACHE_DIR")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(cache, "_writable", lambda path: False)     # read-only site-packages
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == os.path.join(str(tmp_path), "xdg", "ai-engine", "numba")


@needs_numba
def test_second_process_loads_kernels_from_the_disk_cache(tmp_path):
    code = (
        "import numpy as np\n"
        "from ai_engine.engine import compiled\n"
        "from ai_engine.engine.operators.activations import gelu\n"
        "gelu(np, np.ones(8, np.float32))\n"
        "k = compiled.kernels('elementwise_kernels').unary_serial\n"
        "print(sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values()))\n")
    env = dict(os.environ, AI_ENGINE_CACHE_DIR=str(tmp_path), PYTHONPATH=SRC)

    def run():
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300,
                             capture_output=True, text=True).stdout.split()
        return int(out[0]), int(out[1])

    assert run() == (0, 1)          # compiled and written
    assert any(f.endswith(".nbi") for _, _, fs in os.walk(tmp_path / "numba") for f in fs)
    assert run() == (1, 0)          # loaded, not compiled
