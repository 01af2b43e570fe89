"""Recurrent layers: RNN, GRU, LSTM.

Operator pages: https://onnx.ai/onnx/operators/onnx__RNN.html, onnx__GRU.html, onnx__LSTM.html.

The input projection X @ W^T (+ the biases that can be folded in) is one GEMM over every time
step and both directions up front; only the recurrent product H @ R^T and the gate math run in
the Python loop over time steps. float16/bfloat16 are computed in float32 and cast back.

With the compiled tier (engine/compiled/recurrent_kernels.py), float32 layers with the default
activations and no ``sequence_lens`` mask run their time loop in numba instead: the whole loop
in one call when the run has no RunControl, one call per (checked) step otherwise.

``sequence_lens``: a batch entry whose sequence has ended keeps its state and writes zeros to
Y. Iterating the reverse direction from the last padded step down with that mask processes
each entry from its own last valid step, which is what the operator defines.
"""

from __future__ import annotations

import inspect

import numpy as np

from ai_engine.engine.operators import rnn_compiled
from ai_engine.engine.operators.dtype_policy import cast_back
from ai_engine.engine.operators.indexing import to_host
from ai_engine.engine.operators.rnn_activations import activation_list
from ai_engine.engine.registry import register
from ai_engine.engine.run_options import current


# ---------------------------------------------------------------------------------------------
# Shared driver


class _Setup:
    """Inputs normalized to layout 0 and the compute dtype, and the projected input."""

    def __init__(self, xp, op, X, W, R, B, sequence_lens, initial_h, layout, direction,
                 hidden_size, n_gates, fold_bias, project=None, recur=None):
        """``project(x2d)`` and ``recur(d, h)`` replace the float products ``X @ W^T`` (all
        steps, all directions: (T*B, D*G*H)) and ``h @ R[d]^T`` for weights that are not
        float (DynamicQuantizeLSTM); W and R are then only read for their shapes."""
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ValueError(f"{op}: unknown direction {direction!r}")
        if X.ndim != 3 or W.ndim != 3 or R.ndim != 3:
            raise ValueError(f"{op}: X, W and R must be 3-D, got {tuple(X.shape)}, "
                             f"{tuple(W.shape)}, {tuple(R.shape)}")
        self.xp = xp
        self.D = 2 if direction == "bidirectional" else 1
        if W.shape[0] != self.D or R.shape[0] != self.D:
            raise ValueError(f"{op}: direction={direction!r} needs num_directions={self.D}, "
                             f"W has {W.shape[0]}")
        H = R.shape[-1]
        if hidden_size is not None and hidden_size != H:
            raise ValueError(f"{op}: hidden_size={hidden_size} but R has shape "
                             f"{tuple(R.shape)}")
        if W.shape[1] != n_gates * H or R.shape[1] != n_gates * H:
            raise ValueError(f"{op}: W/R must have {n_gates}*hidden_size rows")
        self.cd = cd = np.dtype(np.float64) if X.dtype == np.float64 else np.dtype(np.float32)
        if layout:
            X = X.swapaxes(0, 1)
            initial_h = None if initial_h is None else initial_h.swapaxes(0, 1)
        T, Bn, I = X.shape
        if W.shape[2] != I:
            raise ValueError(f"{op}: W has input size {W.shape[2]}, X has {I}")
        self.T, self.B, self.H, self.reverse_only = T, Bn, H, direction == "reverse"
        GH = n_gates * H
        # One GEMM for all steps and directions: (T*B, I) @ (I, D*G*H).
        x2 = X.reshape(T * Bn, I).astype(cd, copy=False)
        if project is None:
            xw = x2 @ W.reshape(self.D * GH, I).astype(cd, copy=False).T
        else:
            xw = project(x2)
        self.bias = None
        if B is not None:
            self.bias = B.astype(cd, copy=False).reshape(self.D, 2, GH)     # (D, [W, R], GH)
            xw += fold_bias(self.bias).reshape(-1)
        self.xw = xw.reshape(T, Bn, self.D, GH)
        if recur is None:
            self.Rt = [R[d].astype(cd, copy=False).T for d in range(self.D)]
            self.recur = lambda d, h: h @ self.Rt[d]
        else:
            self.recur = recur
        self.h0 = (xp.zeros((self.D, Bn, H), cd) if initial_h is None
                   else initial_h.astype(cd, copy=False))
        self.mask = None
        if sequence_lens is not None:
            lens = to_host(xp, sequence_lens).reshape(-1).astype(np.int64)
            if lens.shape[0] != Bn:
                raise ValueError(f"{op}: sequence_lens has {lens.shape[0]} entries, batch is "
                                 f"{Bn}")
            if (lens < T).any():
                self.mask = xp.asarray((np.arange(T)[:, None] < lens[None, :])[:, :, None])
        self.Y = (xp.zeros if self.mask is not None else xp.empty)((T, self.D, Bn, H), cd)

    def steps(self, d):
        """Time indices for direction ``d`` (0: forward or the only one, 1: backward)."""
        backward = d == 1 or self.reverse_only
        order = range(self.T - 1, -1, -1) if backward else range(self.T)
        control = current()
        if control is None:
            return order
        return self._checked(order, control)

    def spans(self, d):
        """The time steps of direction ``d`` as ``(start, stop, step)`` runs for the compiled
        kernels: one run of all steps without a RunControl, else one step per run, each
        checked first (as :meth:`steps` does)."""
        backward = d == 1 or self.reverse_only
        start, stop, step = (self.T - 1, -1, -1) if backward else (0, self.T, 1)
        control = current()
        if control is None:
            return ((start, stop, step),)
        return ((t, t + step, step) for t in self._checked(range(start, stop, step), control))

    @staticmethod
    def _checked(order, control):
        """The time steps, checking the run's RunOptions before each (run_options.py)."""
        for t in order:
            control.check(f"recurrent time step {t}")
            yield t

    def commit(self, t, d, new, old):
        """Write step ``t``'s state to Y and return the carried state (masked if needed)."""
        if self.mask is None:
            self.Y[t, d] = new
            return new
        m = self.mask[t]
        self.Y[t, d] = self.xp.where(m, new, 0)
        return self.xp.where(m, new, old)

    def outputs(self, xp, dtype, layout, states):
        Y = self.Y
        finals = [xp.stack(s, axis=0) for s in states]
        if layout:
            Y = Y.transpose(2, 0, 1, 3)
            finals = [f.swapaxes(0, 1) for f in finals]
        return (cast_back(xp, Y, dtype),) + tuple(cast_back(xp, f, dtype) for f in finals)


def _clip(xp, t, clip):
    if clip is not None:
        xp.clip(t, -clip, clip, out=t)
    return t


def _legacy(kernel, op, since, also_removed=()):
    """Register the opset-1 (GRU: 1 and 3) form: no ``layout``, and ``output_sequence``, which
    only said whether Y is wanted (Y is an optional output anyway). The wrapper's signature
    lists exactly that version's attributes, so the load-time attribute check still works."""
    removed = {"layout", *also_removed}

    def legacy(xp, *inputs, output_sequence=0, **attrs):
        return kernel(xp, *inputs, **attrs)

    sig = inspect.signature(kernel)
    params = [p for p in sig.parameters.values() if p.name not in removed]
    params.append(inspect.Parameter("output_sequence", inspect.Parameter.KEYWORD_ONLY,
                                    default=0))
    legacy.__signature__ = sig.replace(parameters=params)
    legacy.__doc__ = f"{op}-{since}: {kernel.__doc__.split(': ', 1)[1]}"
    register(op, since=since)(legacy)


# ---------------------------------------------------------------------------------------------
# RNN


@register("RNN", since=7)
@register("RNN", since=14)
def rnn(xp, X, W, R, B=None, sequence_lens=None, initial_h=None, *, activation_alpha=None,
        activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0):
    """RNN-7/14/22: https://onnx.ai/onnx/operators/onnx__RNN.html -> (Y, Y_h)"""
    s = _Setup(xp, "RNN", X, W, R, B, sequence_lens, initial_h, layout, direction,
               hidden_size, 1, lambda b: b[:, 0] + b[:, 1])
    acts = activation_list("RNN", activations, activation_alpha, activation_beta, ("Tanh",), s.D)
    done = rnn_compiled.rnn(s, activations, R, clip)
    if done is not None:
        return s.outputs(xp, X.dtype, layout, [done])
    finals = []
    for d in range(s.D):
        f, = acts[d]
        h = s.h0[d]
        for t in s.steps(d):
            g = h @ s.Rt[d]
            g += s.xw[t, :, d]
            h = s.commit(t, d, f(xp, _clip(xp, g, clip)), h)
        finals.append(h)
    return s.outputs(xp, X.dtype, layout, [finals])


_legacy(rnn, "RNN", 1)


# ---------------------------------------------------------------------------------------------
# GRU (gates z, r, h)


@register("GRU", since=7)
@register("GRU", since=14)
def gru(xp, X, W, R, B=None, sequence_lens=None, initial_h=None, *, activation_alpha=None,
        activation_beta=None, activations=None, clip=None, direction="forward",
        hidden_size=None, layout=0, linear_before_reset=0):
    """GRU-7/14/22: https://onnx.ai/onnx/operators/onnx__GRU.html -> (Y, Y_h)"""
    H = R.shape[-1]

    def fold(b):
        # Wb for every gate; Rb too except Rbh with linear_before_reset (it sits inside r*()).
        folded = b[:, 0] + b[:, 1]
        if linear_before_reset:
            folded[:, 2 * H:] = b[:, 0, 2 * H:]
        return folded

    s = _Setup(xp, "GRU", X, W, R, B, sequence_lens, initial_h, layout, direction,
               hidden_size, 3, fold)
    acts = activation_list("GRU", activations, activation_alpha, activation_beta,
                        ("Sigmoid", "Tanh"), s.D)
    done = rnn_compiled.gru(s, activations, R, clip, linear_before_reset)
    if done is not None:
        return s.outputs(xp, X.dtype, layout, [done])
    finals = []
    for d in range(s.D):
        f, g_act = acts[d]
        Rt = s.Rt[d]                       # (H, 3H)
        Rt_zr, Rt_h = Rt[:, :2 * H], Rt[:, 2 * H:]
        rbh = s.bias[d, 1, 2 * H:] if (linear_before_reset and s.bias is not None) else None
        h = s.h0[d]
        for t in s.steps(d):
            xw = s.xw[t, :, d]
            if linear_before_reset:
                hr = h @ Rt
                zr = hr[:, :2 * H]
                zr += xw[:, :2 * H]
                hh = hr[:, 2 * H:]
                if rbh is not None:
                    hh += rbh
            else:
                zr = h @ Rt_zr
                zr += xw[:, :2 * H]
            _clip(xp, zr, clip)
            z = f(xp, zr[:, :H])
            r = f(xp, zr[:, H:])
            if linear_before_reset:
                hh *= r
            else:
                hh = (r * h) @ Rt_h
            hh += xw[:, 2 * H:]
            hh = g_act(xp, _clip(xp, hh, clip))
            # (1 - z) * hh + z * h = hh + z * (h - hh)
            new = h - hh
            new *= z
            new += hh
            h = s.commit(t, d, new, h)
        finals.append(h)
    return s.outputs(xp, X.dtype, layout, [finals])


_legacy(gru, "GRU", 3)
_legacy(gru, "GRU", 1, also_removed=("linear_before_reset",))


# ---------------------------------------------------------------------------------------------
# LSTM (gates i, o, f, c; peepholes i, o, f)


@register("LSTM", since=7)
@register("LSTM", since=14)
def lstm(xp, X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, P=None, *,
         activation_alpha=None, activation_beta=None, activations=None, clip=None,
         direction="forward", hidden_size=None, input_forget=0, layout=0):
    """LSTM-7/14/22: https://onnx.ai/onnx/operators/onnx__LSTM.html -> (Y, Y_h, Y_c)"""
    s = _Setup(xp, "LSTM", X, W, R, B, sequence_lens, initial_h, layout, direction,
               hidden_size, 4, lambda b: b[:, 0] + b[:, 1])
    return run_lstm(xp, s, X.dtype, initial_c, P, activation_alpha=activation_alpha,
                    activation_beta=activation_beta, activations=activations, clip=clip,
                    input_forget=input_forget, layout=layout, R=R)


def run_lstm(xp, s, dtype, initial_c, P, *, activation_alpha, activation_beta, activations,
             clip, input_forget, layout, op="LSTM", R=None):
    """The LSTM recurrence over a prepared :class:`_Setup` (gates i, o, f, c; peepholes i, o,
    f); the recurrent product is ``s.recur``. Returns (Y, Y_h, Y_c) in ``dtype``. With the
    float recurrent weights ``R`` (plain LSTM) the compiled loop may run it whole."""
    H, cd = s.H, s.cd
    if initial_c is None:
        c0 = xp.zeros((s.D, s.B, H), cd)
    else:
        c0 = (initial_c.swapaxes(0, 1) if layout else initial_c).astype(cd, copy=False)
    peep = None if P is None else P.astype(cd, copy=False).reshape(s.D, 3, H)
    acts = activation_list(op, activations, activation_alpha, activation_beta,
                        ("Sigmoid", "Tanh", "Tanh"), s.D)
    i_, o_, f_, c_ = (slice(k * H, (k + 1) * H) for k in range(4))
    done = None if R is None else rnn_compiled.lstm(s, activations, R, c0, peep, clip,
                                                      input_forget)
    if done is not None:
        return s.outputs(xp, dtype, layout, list(done))
    finals_h, finals_c = [], []
    for d in range(s.D):
        f, g, h_act = acts[d]
        pi, po, pf = (None, None, None) if peep is None else peep[d]
        h, c = s.h0[d], c0[d]
        for t in s.steps(d):
            gates = s.recur(d, h)
            gates += s.xw[t, :, d]
            if pi is not None:
                gates[:, i_] += pi * c
                gates[:, f_] += pf * c
            if clip is not None:
                # The output gate's peephole needs the new cell: clipped separately below.
                _clip(xp, gates[:, i_], clip)
                _clip(xp, gates[:, 2 * H:], clip)       # forget and cell gates
            ig = f(xp, gates[:, i_])
            fg = (1 - ig) if input_forget else f(xp, gates[:, f_])
            cg = g(xp, gates[:, c_])
            c_new = fg * c
            c_new += ig * cg
            og = gates[:, o_]
            if po is not None:
                og += po * c_new
            og = f(xp, _clip(xp, og, clip))
            h_new = og * h_act(xp, c_new.copy())
            if s.mask is not None:
                c = xp.where(s.mask[t], c_new, c)
            else:
                c = c_new
            h = s.commit(t, d, h_new, h)
        finals_h.append(h)
        finals_c.append(c)
    return s.outputs(xp, dtype, layout, [finals_h, finals_c])


_legacy(lstm, "LSTM", 1)
