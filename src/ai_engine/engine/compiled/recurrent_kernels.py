"""Compiled time loops of LSTM, GRU and RNN (float32, default activations, no
sequence_lens mask); operators/rnn.py decides when they apply and keeps the NumPy loop as the
fallback.

Each kernel runs the time steps ``range(t0, t1, step)`` of direction ``d``: the caller passes
all steps at once when the run has no RunControl, and one step per call otherwise, so each
step is still checked (see rnn.py ``_Setup.spans``). ``xw`` (T, B, D, G*H) is the input
projection with the foldable biases already added; ``R`` (D, G*H, H) the recurrent weights,
read row by row as dot products with the state (no transposed copy); ``h``/``c`` (B, H) the
state, updated in place; ``Y`` (T, D, B, H). Gate order and formulas are the operators':
https://onnx.ai/onnx/operators/onnx__LSTM.html (i, o, f, c), onnx__GRU.html (z, r, h),
onnx__RNN.html.
"""

from __future__ import annotations

from numba import njit

from ai_engine.engine.compiled.mathf import FASTMATH, F, sigmoid32, tanh32

_OPTS = {"cache": True, "fastmath": FASTMATH, "error_model": "numpy", "boundscheck": False}
_ONE = F(1.0)


@njit(inline="always", **_OPTS)
def _project(R, d, row0, rows, hb, g, g0):
    """``g[g0 + j] += R[d, row0 + j] . hb`` for j < rows."""
    n = hb.shape[0]
    for j in range(rows):
        w = R[d, row0 + j]
        acc = F(0.0)
        for k in range(n):
            acc += w[k] * hb[k]
        g[g0 + j] += acc


@njit(inline="always", **_OPTS)
def _clip(v, clip, has_clip):
    if has_clip:
        v = -clip if v < -clip else v
        v = clip if v > clip else v
    return v


@njit(**_OPTS)
def lstm_steps(xw, R, d, t0, t1, step, h, c, P, has_peep, clip, has_clip, input_forget, Y,
               g):
    """LSTM steps; ``P`` (3, H) peepholes (i, o, f) when ``has_peep``; ``g`` (4H,) scratch."""
    bsz, hid = h.shape
    for t in range(t0, t1, step):
        for b in range(bsz):
            src = xw[t, b, d]
            for j in range(4 * hid):
                g[j] = src[j]
            _project(R, d, 0, 4 * hid, h[b], g, 0)
            for k in range(hid):
                ci = c[b, k]
                gi = g[k]
                gf = g[2 * hid + k]
                if has_peep:
                    gi += P[0, k] * ci
                    gf += P[2, k] * ci
                ig = sigmoid32(_clip(gi, clip, has_clip))
                fg = _ONE - ig if input_forget else sigmoid32(_clip(gf, clip, has_clip))
                cg = tanh32(_clip(g[3 * hid + k], clip, has_clip))
                cn = fg * ci + ig * cg
                go = g[hid + k]
                if has_peep:
                    go += P[1, k] * cn
                og = sigmoid32(_clip(go, clip, has_clip))
                c[b, k] = cn
                g[k] = og * tanh32(cn)          # the new h, kept until the row is done
            for k in range(hid):
                h[b, k] = g[k]
                Y[t, d, b, k] = g[k]


@njit(**_OPTS)
def gru_steps(xw, R, d, t0, t1, step, h, rbh, linear_before_reset, clip, has_clip, Y, g, rh):
    """GRU steps; ``rbh`` (H,) the recurrent bias of the h gate (used with
    ``linear_before_reset``, zeros otherwise); ``g`` (3H,) and ``rh`` (H,) scratch."""
    bsz, hid = h.shape
    for t in range(t0, t1, step):
        for b in range(bsz):
            src = xw[t, b, d]
            hb = h[b]
            for j in range(2 * hid):
                g[j] = src[j]
            _project(R, d, 0, 2 * hid, hb, g, 0)
            for k in range(hid):
                g[k] = sigmoid32(_clip(g[k], clip, has_clip))                 # z
                g[hid + k] = sigmoid32(_clip(g[hid + k], clip, has_clip))     # r
            for k in range(hid):
                g[2 * hid + k] = F(0.0)
            if linear_before_reset:
                _project(R, d, 2 * hid, hid, hb, g, 2 * hid)
                for k in range(hid):
                    g[2 * hid + k] = g[hid + k] * (g[2 * hid + k] + rbh[k])
            else:
                for k in range(hid):
                    rh[k] = g[hid + k] * hb[k]
                _project(R, d, 2 * hid, hid, rh, g, 2 * hid)
            for k in range(hid):
                hh = tanh32(_clip(src[2 * hid + k] + g[2 * hid + k], clip, has_clip))
                z = g[k]
                rh[k] = hh + z * (hb[k] - hh)
            for k in range(hid):
                hb[k] = rh[k]
                Y[t, d, b, k] = rh[k]


@njit(**_OPTS)
def rnn_steps(xw, R, d, t0, t1, step, h, clip, has_clip, Y, g):
    """RNN (Tanh) steps; ``g`` (H,) scratch."""
    bsz, hid = h.shape
    for t in range(t0, t1, step):
        for b in range(bsz):
            src = xw[t, b, d]
            for j in range(hid):
                g[j] = src[j]
            _project(R, d, 0, hid, h[b], g, 0)
            for k in range(hid):
                v = tanh32(_clip(g[k], clip, has_clip))
                h[b, k] = v
                Y[t, d, b, k] = v

