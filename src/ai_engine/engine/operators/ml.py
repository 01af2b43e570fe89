"""Traditional-ML operators of the ``ai.onnx.ml`` domain (the tree ensembles are in ml_trees.py).

Operator pages: https://onnx.ai/onnx/operators/ (section ai.onnx.ml), e.g.
onnx_aionnxml_ArrayFeatureExtractor.html, onnx_aionnxml_LabelEncoder.html.

Where the spec leaves details open (binary LinearClassifier scores, Normalizer of all-zero
rows, PROBIT) these kernels follow onnxruntime, the de facto reference for this domain.
Strings are NumPy ``object`` arrays and stay on the host; a string lookup necessarily runs in
Python (a dict), numeric lookups are vectorized with ``searchsorted``.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register

ML_DOMAIN = "ai.onnx.ml"


def _is_str(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind in "OUS"


def _host(a):
    """A NumPy copy of a NumPy or CuPy array (string results are built on the host)."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _obj(items, shape):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(shape)


# --------------------------------------------------------------------------- post transforms
def _erfinv_approx(xp, y):
    # Winitzki's closed-form approximation (a = 0.147), the one onnxruntime and the ONNX
    # reference use for PROBIT, so scores match them (absolute error ~2e-3 in erfinv).
    a = 0.147
    ln = xp.log((1 - y) * (1 + y))
    v = 2 / (np.pi * a) + 0.5 * ln
    return xp.sign(y) * xp.sqrt(-v + xp.sqrt(v * v - ln / a))


def post_transform_scores(xp, s, transform):
    """Apply an ML post_transform (NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT) to [N, C]."""
    if transform == "NONE":
        return s
    if transform == "LOGISTIC":
        return 1 / (1 + xp.exp(-s))
    if transform == "SOFTMAX":
        e = xp.exp(s - s.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if transform == "SOFTMAX_ZERO":
        # Zero scores stay zero (they mean "no vote") and do not take part in the sum.
        nz = xp.abs(s) > 1e-7
        e = xp.where(nz, xp.exp(s - s.max(axis=-1, keepdims=True)), 0).astype(s.dtype)
        total = e.sum(axis=-1, keepdims=True)
        return xp.where(total > 0, e / xp.where(total > 0, total, 1), 0.5).astype(s.dtype)
    if transform == "PROBIT":
        return (np.sqrt(2.0) * _erfinv_approx(xp, 2 * s - 1)).astype(s.dtype)
    raise ValueError(f"unknown post_transform {transform!r}")


# --------------------------------------------------------------------------- simple ops
@register("ArrayFeatureExtractor", since=1, domain=ML_DOMAIN)
def array_feature_extractor(xp, x, y):
    """ArrayFeatureExtractor-1: https://onnx.ai/onnx/operators/onnx_aionnxml_ArrayFeatureExtractor.html

    Selects ``x[..., y]`` with ``y`` flattened; a 1-D ``x`` gives a ``[1, len(y)]`` result, as
    in onnxruntime."""
    mod = np if _is_str(x) else xp
    idx = mod.asarray(y).reshape(-1).astype(np.int64)
    n = x.shape[-1]
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise ValueError(f"ArrayFeatureExtractor: index out of range for last dim {n}")
    out = mod.take(x, idx, axis=-1)
    return out.reshape(1, -1) if x.ndim == 1 else out


@register("Binarizer", since=1, domain=ML_DOMAIN)
def binarizer(xp, x, *, threshold=0.0):
    """Binarizer-1: https://onnx.ai/onnx/operators/onnx_aionnxml_Binarizer.html"""
    return (x > x.dtype.type(threshold)).astype(x.dtype)


@register("Scaler", since=1, domain=ML_DOMAIN)
def scaler(xp, x, *, offset=None, scale=None):
    """Scaler-1: https://onnx.ai/onnx/operators/onnx_aionnxml_Scaler.html (output float32)"""
    xf = x.astype(np.float32)
    off = xp.asarray(offset if offset else (0.0,), dtype=np.float32)
    sc = xp.asarray(scale if scale else (1.0,), dtype=np.float32)
    return ((xf - off) * sc).astype(np.float32)


@register("Normalizer", since=1, domain=ML_DOMAIN)
def normalizer(xp, x, *, norm="MAX"):
    """Normalizer-1: https://onnx.ai/onnx/operators/onnx_aionnxml_Normalizer.html

    Normalizes each row (the last axis) by its max, L1 or L2 norm; an all-zero norm leaves
    the row as is. Output float32."""
    xf = x.astype(np.float32)
    if norm == "MAX":
        d = xf.max(axis=-1, keepdims=True)
    elif norm == "L1":
        d = xp.abs(xf).sum(axis=-1, keepdims=True)
    elif norm == "L2":
        d = xp.sqrt((xf * xf).sum(axis=-1, keepdims=True))
    else:
        raise ValueError(f"Normalizer: norm must be MAX, L1 or L2, got {norm!r}")
    return xf / xp.where(d == 0, 1, d).astype(np.float32)


@register("Imputer", since=1, domain=ML_DOMAIN)
def imputer(xp, x, *, imputed_value_floats=None, imputed_value_int64s=None,
            replaced_value_float=0.0, replaced_value_int64=0):
    """Imputer-1: https://onnx.ai/onnx/operators/onnx_aionnxml_Imputer.html

    Replaces ``replaced_value`` (NaN matches NaN) with the imputed value of its column (last
    axis), or with the single imputed value."""
    if x.dtype.kind == "f":
        values, replaced = imputed_value_floats, replaced_value_float
    else:
        values, replaced = imputed_value_int64s, replaced_value_int64
    if not values:
        raise ValueError("Imputer: no imputed values for this input type")
    if len(values) not in (1, x.shape[-1]):
        raise ValueError(f"Imputer: {len(values)} imputed values for {x.shape[-1]} features")
    vals = xp.asarray(values, dtype=x.dtype)
    if x.dtype.kind == "f" and np.isnan(replaced):
        hit = xp.isnan(x)
    else:
        hit = x == x.dtype.type(replaced)
    return xp.where(hit, vals, x).astype(x.dtype)


def _lookup_index(xp, x, keys):
    """Index of each element of ``x`` in ``keys`` (or -1); the last of repeated keys wins and a
    NaN key matches every NaN."""
    if _is_str(x) or (isinstance(keys, np.ndarray) and keys.dtype == object):
        table = {k: i for i, k in enumerate(keys.tolist() if isinstance(keys, np.ndarray)
                                            else keys)}
        flat = _host(x).reshape(-1).tolist()
        return np.array([table.get(v, -1) for v in flat], dtype=np.int64).reshape(x.shape)
    keys = np.asarray(keys)
    # Deduplicate keeping the last occurrence: unique() on the reversed keys keeps the first.
    rev = keys[::-1]
    uniq, first = np.unique(rev, return_index=True)
    pos = (len(keys) - 1 - first).astype(np.int64)
    nan_pos = -1
    if uniq.dtype.kind == "f":
        nan = np.isnan(uniq)
        if nan.any():
            nan_pos = int(pos[nan].max())
        uniq, pos = uniq[~nan], pos[~nan]
    ku, kp = xp.asarray(uniq), xp.asarray(pos)
    if ku.size:
        at = xp.clip(xp.searchsorted(ku, x), 0, ku.size - 1)
        idx = xp.where(ku[at] == x, kp[at], -1)
    else:
        idx = xp.full(x.shape, -1, dtype=np.int64)
    if x.dtype.kind == "f":
        idx = xp.where(xp.isnan(x), nan_pos, idx)
    return idx


def _map(xp, x, keys, values, default, out_dtype):
    idx = _lookup_index(xp, x, keys)
    if out_dtype == object:
        table = list(values) + [default]
        idx = _host(idx)
        return _obj([table[i] for i in idx.reshape(-1).tolist()], idx.shape)
    table = xp.asarray(np.append(np.asarray(values, dtype=out_dtype),
                                 np.asarray(default, dtype=out_dtype)))
    return table[xp.asarray(idx)]   # -1 picks the default appended at the end


@register("LabelEncoder", since=1, domain=ML_DOMAIN)
def label_encoder_1(xp, x, *, classes_strings=None, default_int64=-1, default_string="_Unused"):
    """LabelEncoder-1: strings -> their index in classes_strings, int64 -> the class string."""
    classes = list(classes_strings or ())
    if _is_str(x):
        return xp.asarray(_map(xp, x, classes, range(len(classes)), default_int64, np.int64))
    idx = _host(x).astype(np.int64)
    ok = (idx >= 0) & (idx < len(classes))
    table = classes + [default_string]
    flat = np.where(ok, idx, len(classes)).reshape(-1).tolist()
    return _obj([table[i] for i in flat], idx.shape)


def _label_encoder(xp, x, keys, values, default):
    if len(keys) != len(values):
        raise ValueError(f"LabelEncoder: {len(keys)} keys but {len(values)} values")
    if isinstance(values, np.ndarray):
        dtype = values.dtype if values.dtype.kind not in "US" else np.dtype(object)
        values = values.tolist()
    elif values and isinstance(values[0], str):
        dtype = np.dtype(object)
    elif values and isinstance(values[0], float):
        dtype = np.dtype(np.float32)
    else:
        dtype = np.dtype(np.int64)
    if _is_str(x) != (isinstance(keys[0], str) if len(keys) else _is_str(x)):
        raise TypeError(f"LabelEncoder: input type {x.dtype} does not match the keys")
    out = _map(xp, x, keys, values, default, dtype)
    return out if dtype == object else xp.asarray(out)


@register("LabelEncoder", since=2, domain=ML_DOMAIN)
def label_encoder_2(xp, x, *, keys_strings=None, keys_int64s=None, keys_floats=None,
                    values_strings=None, values_int64s=None, values_floats=None,
                    default_string="_Unused", default_int64=-1, default_float=-0.0):
    """LabelEncoder-2: https://onnx.ai/onnx/operators/onnx_aionnxml_LabelEncoder.html"""
    return label_encoder_4(xp, x, keys_strings=keys_strings, keys_int64s=keys_int64s,
                           keys_floats=keys_floats, values_strings=values_strings,
                           values_int64s=values_int64s, values_floats=values_floats,
                           default_string=default_string, default_int64=default_int64,
                           default_float=default_float)


@register("LabelEncoder", since=4, domain=ML_DOMAIN)
def label_encoder_4(xp, x, *, keys_strings=None, keys_int64s=None, keys_floats=None,
                    keys_tensor=None, values_strings=None, values_int64s=None,
                    values_floats=None, values_tensor=None, default_string="_Unused",
                    default_int64=-1, default_float=-0.0, default_tensor=None):
    """LabelEncoder-4: https://onnx.ai/onnx/operators/onnx_aionnxml_LabelEncoder.html

    Exactly one ``keys_*`` and one ``values_*`` attribute; the default matches the values'
    type (``default_tensor`` for ``values_tensor``)."""
    keys = [k for k in (keys_strings, keys_int64s, keys_floats, keys_tensor) if k is not None]
    vals = [v for v in (values_strings, values_int64s, values_floats, values_tensor)
            if v is not None]
    if len(keys) != 1 or len(vals) != 1:
        raise ValueError("LabelEncoder: exactly one keys_* and one values_* attribute needed")
    keys, values = keys[0], vals[0]
    if isinstance(keys, np.ndarray):
        keys = keys.reshape(-1)
        keys = keys.astype(object) if keys.dtype.kind in "US" else keys
    if values is values_tensor:
        values = values.reshape(-1)
        if default_tensor is not None:
            default = np.asarray(default_tensor).reshape(-1)[0]
        else:
            default = ("_Unused" if values.dtype.kind in "OUS" else
                       -0.0 if values.dtype.kind == "f" else -1)
    elif values is values_strings:
        default = default_string
    elif values is values_int64s:
        default = default_int64
    else:
        values = tuple(float(v) for v in values)
        default = default_float
    return _label_encoder(xp, x, keys, values, default)


@register("OneHotEncoder", since=1, domain=ML_DOMAIN)
def one_hot_encoder(xp, x, *, cats_int64s=None, cats_strings=None, zeros=1):
    """OneHotEncoder-1: https://onnx.ai/onnx/operators/onnx_aionnxml_OneHotEncoder.html

    Output float32 of shape ``x.shape + [len(categories)]``; numeric inputs are compared to
    ``cats_int64s`` as integers. With ``zeros=0`` an unknown category is an error."""
    if _is_str(x):
        cats = list(cats_strings or ())
        idx = xp.asarray(_lookup_index(xp, x, cats))
    else:
        cats = list(cats_int64s or ())
        idx = _lookup_index(xp, x.astype(np.int64), np.asarray(cats, dtype=np.int64))
    if not cats:
        raise ValueError("OneHotEncoder: no categories for this input type")
    if not zeros and bool((idx < 0).any()):
        raise ValueError("OneHotEncoder: an input value is not one of the categories")
    return (idx[..., None] == xp.arange(len(cats))).astype(np.float32)


# --------------------------------------------------------------------------- linear models
@register("LinearRegressor", since=1, domain=ML_DOMAIN)
def linear_regressor(xp, x, *, coefficients=None, intercepts=None, targets=1,
                     post_transform="NONE"):
    """LinearRegressor-1: https://onnx.ai/onnx/operators/onnx_aionnxml_LinearRegressor.html"""
    xf = x.reshape(1, -1) if x.ndim == 1 else x
    xf = xf.astype(np.float32)
    w = xp.asarray(coefficients or (), dtype=np.float32).reshape(targets, -1)
    if w.shape[1] != xf.shape[1]:
        raise ValueError(f"LinearRegressor: {w.shape[1]} coefficients per target, "
                         f"{xf.shape[1]} features")
    y = xf @ w.T
    if intercepts:
        y = y + xp.asarray(intercepts, dtype=np.float32)
    return post_transform_scores(xp, y, post_transform).astype(np.float32)


@register("LinearClassifier", since=1, domain=ML_DOMAIN)
def linear_classifier(xp, x, *, coefficients, classlabels_ints=None, classlabels_strings=None,
                      intercepts=None, multi_class=0, post_transform="NONE"):
    """LinearClassifier-1: https://onnx.ai/onnx/operators/onnx_aionnxml_LinearClassifier.html

    Returns ``(labels [N], scores [N, C])``. With one coefficient row and two class labels
    (binary), the label is the second class where the raw score is > 0 and the scores get a
    second column, as in onnxruntime."""
    xf = (x.reshape(1, -1) if x.ndim == 1 else x).astype(np.float32)
    w = xp.asarray(coefficients, dtype=np.float32).reshape(-1, xf.shape[1])
    s = xf @ w.T
    if intercepts:
        s = s + xp.asarray(intercepts, dtype=np.float32)
    labels_list = list(classlabels_strings) if classlabels_strings else (
        list(classlabels_ints) if classlabels_ints else None)
    use_str = bool(classlabels_strings)
    n_cls = w.shape[0]
    if n_cls == 1:
        two = labels_list is not None and len(labels_list) == 2
        pos, neg = (labels_list[1], labels_list[0]) if two else (
            ("1", "0") if use_str else (1, 0))
        if use_str:
            pick = _host(s[:, 0] > 0)
            labels = _obj(np.where(pick, pos, neg).tolist(), pick.shape)
        else:
            labels = xp.where(s[:, 0] > 0, pos, neg).astype(np.int64)
        if two:
            # onnxruntime: transform the single score, then [1 - t, t].
            t = post_transform_scores(xp, s[:, :1], post_transform)
            s = xp.concatenate([1 - t, t], axis=1)
            return labels, s.astype(np.float32)
        return labels, post_transform_scores(xp, s, post_transform).astype(np.float32)
    best = xp.argmax(s, axis=1)
    if labels_list is None:
        labels = best.astype(np.int64)
    elif use_str:
        labels = _obj([labels_list[i] for i in _host(best).tolist()], best.shape)
    else:
        labels = xp.asarray(np.asarray(labels_list, dtype=np.int64))[best]
    return labels, post_transform_scores(xp, s, post_transform).astype(np.float32)
