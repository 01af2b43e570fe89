"""The activation functions of the recurrent ops (RNN, GRU, LSTM), as their operator pages
list them (https://onnx.ai/onnx/operators/onnx__RNN.html), and the parsing of the
``activations`` / ``activation_alpha`` / ``activation_beta`` attributes. Each function takes a
compute-dtype temporary it may overwrite and returns the result."""

from __future__ import annotations




def _sigmoid(xp, t, a, b):
    # t *= -1, not negative(t, out=t): NumPy 2.4's in-place negative is wrong on a strided
    # view with a 16-byte step (float32 gates of hidden_size 1: it reads the next column)
    t *= -1
    xp.exp(t, out=t)      # overflow to inf for very negative input gives the correct 0
    t += 1
    return xp.reciprocal(t, out=t)


def _tanh(xp, t, a, b):
    return xp.tanh(t, out=t)


def _relu(xp, t, a, b):
    return xp.maximum(t, 0, out=t)


def _affine(xp, t, a, b):
    t *= a
    t += b
    return t


def _leaky_relu(xp, t, a, b):
    return xp.where(t >= 0, t, t * a)


def _thresholded_relu(xp, t, a, b):
    return xp.where(t > a, t, 0).astype(t.dtype, copy=False)


def _scaled_tanh(xp, t, a, b):
    t *= b
    xp.tanh(t, out=t)
    t *= a
    return t


def _hard_sigmoid(xp, t, a, b):
    t *= a
    t += b
    return xp.clip(t, 0, 1, out=t)


def _elu(xp, t, a, b):
    neg = xp.minimum(t, 0)
    xp.expm1(neg, out=neg)
    neg *= a
    return xp.where(t >= 0, t, neg)


def _softsign(xp, t, a, b):
    return t / (xp.abs(t) + 1)


def _softplus(xp, t, a, b):
    pos = xp.maximum(t, 0)
    xp.abs(t, out=t)
    t *= -1                    # see _sigmoid: in-place negative is unsafe on views
    xp.exp(t, out=t)
    xp.log1p(t, out=t)
    t += pos
    return t


# name -> (function, default alpha or None if unused, default beta or None if unused); the
# defaults are those of the ONNX operators of the same name.
_ACTIVATIONS = {
    "sigmoid": (_sigmoid, None, None),
    "tanh": (_tanh, None, None),
    "relu": (_relu, None, None),
    "affine": (_affine, 1.0, 0.0),
    "leakyrelu": (_leaky_relu, 0.01, None),
    "thresholdedrelu": (_thresholded_relu, 1.0, None),
    "scaledtanh": (_scaled_tanh, 1.0, 1.0),
    "hardsigmoid": (_hard_sigmoid, 0.2, 0.5),
    "elu": (_elu, 1.0, None),
    "softsign": (_softsign, None, None),
    "softplus": (_softplus, None, None),
}


def activation_list(op, names, alphas, betas, defaults, num_directions):
    """Per direction, a list of ``fn(xp, t) -> array``.

    activation_alpha/beta are consumed in order by the functions that take them (as
    onnxruntime does); a function past the end of the list gets its operator default.
    """
    k = len(defaults)
    if names is None:
        names = defaults * num_directions
    names = tuple(names)
    if len(names) == k and num_directions == 2:
        names = names * 2
    if len(names) != k * num_directions:
        raise ValueError(f"{op}: expected {k * num_directions} activations, got {len(names)}")
    alphas, betas = list(alphas or ()), list(betas or ())
    funcs = []
    for name in names:
        key = name.lower()
        if key not in _ACTIVATIONS:
            raise ValueError(f"{op}: unsupported activation {name!r}")
        fn, da, db = _ACTIVATIONS[key]
        a = (alphas.pop(0) if alphas else da) if da is not None else None
        b = (betas.pop(0) if betas else db) if db is not None else None
        funcs.append(lambda xp, t, fn=fn, a=a, b=b: fn(xp, t, a, b))
    return [funcs[d * k:(d + 1) * k] for d in range(num_directions)]
