"""The compiled time loops of RNN, GRU and LSTM (engine/compiled/recurrent_kernels.py), for
layers they cover: float32 on NumPy, no ``sequence_lens`` mask, the default activations. Each
function takes rnn.py's ``_Setup`` and returns the final states per direction, or ``None``
when the layer is not covered (rnn.py then runs its NumPy loop). The time steps come from
``_Setup.spans``: all at once without a RunControl, one checked step per call with one.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine import compiled


def _kernels(s, activations, defaults):
    if s.xp is not np or s.cd != np.float32 or s.mask is not None:
        return None
    if activations is not None:
        names = [a.lower() for a in activations]
        wanted = [a.lower() for a in defaults]
        if names != wanted and names != wanted * s.D:
            return None
    return compiled.kernels("recurrent_kernels")


def _state(init, d):
    """A fresh C-contiguous float32 copy of direction ``d``'s initial state."""
    return np.array(init[d], dtype=np.float32, order="C")


def _clip(clip):
    return np.float32(0.0 if clip is None else clip), clip is not None


def rnn(s, activations, R, clip):
    """RNN with Tanh: the final h per direction, or ``None``."""
    rk = _kernels(s, activations, ("Tanh",))
    if rk is None:
        return None
    R, finals = np.ascontiguousarray(R, dtype=np.float32), []
    for d in range(s.D):
        h, g = _state(s.h0, d), np.empty(s.H, np.float32)
        for t0, t1, step in s.spans(d):
            rk.rnn_steps(s.xw, R, d, t0, t1, step, h, *_clip(clip), s.Y, g)
        finals.append(h)
    return finals


def gru(s, activations, R, clip, linear_before_reset):
    """GRU with (Sigmoid, Tanh): the final h per direction, or ``None``."""
    rk = _kernels(s, activations, ("Sigmoid", "Tanh"))
    if rk is None:
        return None
    H = s.H
    R, finals = np.ascontiguousarray(R, dtype=np.float32), []
    for d in range(s.D):
        rbh = np.zeros(H, np.float32) if s.bias is None or not linear_before_reset \
            else np.ascontiguousarray(s.bias[d, 1, 2 * H:])
        h, g, rh = _state(s.h0, d), np.empty(3 * H, np.float32), np.empty(H, np.float32)
        for t0, t1, step in s.spans(d):
            rk.gru_steps(s.xw, R, d, t0, t1, step, h, rbh, bool(linear_before_reset),
                         *_clip(clip), s.Y, g, rh)
        finals.append(h)
    return finals


def lstm(s, activations, R, c0, peep, clip, input_forget):
    """LSTM with (Sigmoid, Tanh, Tanh): ([final h], [final c]) per direction, or ``None``."""
    rk = _kernels(s, activations, ("Sigmoid", "Tanh", "Tanh"))
    if rk is None:
        return None
    H = s.H
    R, finals_h, finals_c = np.ascontiguousarray(R, dtype=np.float32), [], []
    for d in range(s.D):
        h, c = _state(s.h0, d), _state(c0, d)
        p = np.zeros((3, H), np.float32) if peep is None else np.ascontiguousarray(peep[d])
        g = np.empty(4 * H, np.float32)
        for t0, t1, step in s.spans(d):
            rk.lstm_steps(s.xw, R, d, t0, t1, step, h, c, p, peep is not None, *_clip(clip),
                          bool(input_forget), s.Y, g)
        finals_h.append(h)
        finals_c.append(c)
    return finals_h, finals_c
