"""Optimizer operators of the ``ai.onnx.preview.training`` domain: Adagrad, Adam, Momentum.

Operator pages: https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Adagrad.html,
onnx_aionnxpreviewtraining_Adam.html, onnx_aionnxpreviewtraining_Momentum.html.

Each node updates several tensors at once: the inputs are ``R, T`` followed by groups of
equal size (all X, then all G, then the accumulators), and the outputs are the updated groups
in the same order (X_new..., then the new accumulators...). The update is elementwise, so each
tensor is updated on its own with the spec's pseudo code.
"""

from __future__ import annotations

from ai_engine.engine.registry import register

TRAINING_DOMAIN = "ai.onnx.preview.training"


def _groups(op, inputs, n_groups):
    """Split the variadic inputs after R and T into ``n_groups`` lists of equal length."""
    rest = list(inputs)
    if not rest or len(rest) % n_groups:
        raise ValueError(f"{op}: expected R, T and {n_groups} groups of equally many tensors, "
                         f"got {len(rest) + 2} inputs")
    n = len(rest) // n_groups
    return [rest[i * n:(i + 1) * n] for i in range(n_groups)]


def _scalar(xp, v, dtype):
    # R and T are 0-d (or 1-element) tensors; computing in X's dtype keeps float32 results.
    return xp.asarray(v).reshape(()).astype(dtype)


@register("Adagrad", since=1, domain=TRAINING_DOMAIN)
def adagrad(xp, r, t, *tensors, decay_factor=0.0, epsilon=1e-6, norm_coefficient=0.0):
    """Adagrad-1: https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Adagrad.html"""
    xs, gs, hs = _groups("Adagrad", tensors, 3)
    x_new, h_new = [], []
    for x, g, h in zip(xs, gs, hs):
        dt = x.dtype
        rate = _scalar(xp, r, dt) / (1 + _scalar(xp, t, dt) * dt.type(decay_factor))
        g_reg = dt.type(norm_coefficient) * x + g
        h2 = h + g_reg * g_reg
        x_new.append((x - rate * g_reg / (xp.sqrt(h2) + dt.type(epsilon))).astype(dt))
        h_new.append(h2.astype(h.dtype))
    return tuple(x_new + h_new)


@register("Adam", since=1, domain=TRAINING_DOMAIN)
def adam(xp, r, t, *tensors, alpha=0.9, beta=0.999, epsilon=1e-6, norm_coefficient=0.0,
         norm_coefficient_post=0.0):
    """Adam-1: https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Adam.html"""
    xs, gs, vs, hs = _groups("Adam", tensors, 4)
    step = int(xp.asarray(t).reshape(()))
    outs = ([], [], [])
    for x, g, v, h in zip(xs, gs, vs, hs):
        dt = x.dtype
        a, b = dt.type(alpha), dt.type(beta)
        g_reg = dt.type(norm_coefficient) * x + g
        v2 = a * v + (1 - a) * g_reg
        h2 = b * h + (1 - b) * g_reg * g_reg
        rate = _scalar(xp, r, dt)
        if step > 0:
            # Bias correction of the two moving averages, folded into the learning rate.
            rate = rate * xp.sqrt(1 - b ** step) / (1 - a ** step)
        x2 = x - rate * v2 / (xp.sqrt(h2) + dt.type(epsilon))
        x2 = (1 - dt.type(norm_coefficient_post)) * x2
        outs[0].append(x2.astype(dt))
        outs[1].append(v2.astype(v.dtype))
        outs[2].append(h2.astype(h.dtype))
    return tuple(outs[0] + outs[1] + outs[2])


@register("Momentum", since=1, domain=TRAINING_DOMAIN)
def momentum(xp, r, t, *tensors, alpha, beta, mode, norm_coefficient):
    """Momentum-1 (standard or Nesterov):
    https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Momentum.html"""
    if mode not in ("standard", "nesterov"):
        raise ValueError(f"Momentum: mode must be 'standard' or 'nesterov', got {mode!r}")
    xs, gs, vs = _groups("Momentum", tensors, 3)
    # The first iteration (T == 0) takes the whole gradient: there is no momentum to scale yet.
    first = int(xp.asarray(t).reshape(())) <= 0
    x_new, v_new = [], []
    for x, g, v in zip(xs, gs, vs):
        dt = x.dtype
        a = dt.type(alpha)
        b = dt.type(1.0 if first else beta)
        rate = _scalar(xp, r, dt)
        g_reg = dt.type(norm_coefficient) * x + g
        v2 = a * v + b * g_reg
        if mode == "nesterov":
            x2 = x - rate * (g_reg + a * v2)
        else:
            x2 = x - rate * v2
        x_new.append(x2.astype(dt))
        v_new.append(v2.astype(v.dtype))
    return tuple(x_new + v_new)
