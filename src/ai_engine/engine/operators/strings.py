"""String operators: StringConcat, StringSplit, StringNormalizer, RegexFullMatch.

Operator pages: https://onnx.ai/onnx/operators/onnx__StringConcat.html,
onnx__StringSplit.html, onnx__StringNormalizer.html, onnx__RegexFullMatch.html.

Strings are NumPy ``object`` arrays of Python ``str`` (``<U`` arrays are accepted too). They
live on the host whatever the device (CuPy has no string arrays), so these kernels use NumPy
directly, and per-string work (splitting, regex matching) necessarily runs in Python.
"""

from __future__ import annotations

import re

import numpy as np

from ai_engine.engine.registry import register


def _strings(x, name):
    x = np.asarray(x)
    if x.dtype.kind == "U":
        return x.astype(object)
    if x.dtype != object:
        raise TypeError(f"{name}: expected a string tensor, got {x.dtype}")
    return x


def _object_array(items, shape):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(shape)


@register("StringConcat", since=20)
def string_concat(xp, x, y):
    """StringConcat-20 (broadcasting): https://onnx.ai/onnx/operators/onnx__StringConcat.html"""
    x, y = _strings(x, "StringConcat"), _strings(y, "StringConcat")
    # The add ufunc on object arrays calls str.__add__ and broadcasts like any binary op.
    return np.asarray(np.add(x, y), dtype=object)


@register("StringSplit", since=20)
def string_split(xp, x, *, delimiter="", maxsplit=None):
    """StringSplit-20: https://onnx.ai/onnx/operators/onnx__StringSplit.html

    Returns ``(Y, Z)``: Y has shape ``x.shape + [max pieces]``, padded with empty strings;
    Z (int64) the number of pieces of each string. An empty delimiter splits on runs of
    whitespace and drops leading/trailing whitespace, as Python's ``str.split()`` does."""
    x = _strings(x, "StringSplit")
    sep = delimiter or None
    n = -1 if maxsplit is None else int(maxsplit)
    pieces = [s.split(sep, n) for s in x.reshape(-1).tolist()]
    counts = np.array([len(p) for p in pieces], dtype=np.int64)
    width = int(counts.max(initial=0))
    flat = [s for p in pieces for s in p + [""] * (width - len(p))]
    return _object_array(flat, x.shape + (width,)), counts.reshape(x.shape)


@register("StringNormalizer", since=10)
def string_normalizer(xp, x, *, case_change_action="NONE", is_case_sensitive=0, locale="",
                      stopwords=None):
    """StringNormalizer-10: https://onnx.ai/onnx/operators/onnx__StringNormalizer.html

    Drops the elements equal to a stop word (ignoring case unless ``is_case_sensitive``), then
    changes case. Input ``[C]`` or ``[1, C]``; if everything is dropped the output is one
    empty string, shape ``[1]`` or ``[1, 1]``."""
    x = _strings(x, "StringNormalizer")
    if case_change_action not in ("NONE", "LOWER", "UPPER"):
        raise ValueError(f"StringNormalizer: unknown case_change_action {case_change_action!r}")
    if x.ndim not in (1, 2) or (x.ndim == 2 and x.shape[0] != 1):
        raise ValueError(f"StringNormalizer: input must be [C] or [1, C], got {list(x.shape)}")
    items = x.reshape(-1).tolist()
    if stopwords:
        if is_case_sensitive:
            stops = set(stopwords)
            items = [s for s in items if s not in stops]
        else:
            stops = {w.lower() for w in stopwords}
            items = [s for s in items if s.lower() not in stops]
    if case_change_action == "LOWER":
        items = [s.lower() for s in items]
    elif case_change_action == "UPPER":
        items = [s.upper() for s in items]
    if not items:
        items = [""]
    shape = (len(items),) if x.ndim == 1 else (1, len(items))
    return _object_array(items, shape)


@register("RegexFullMatch", since=20)
def regex_full_match(xp, x, *, pattern=""):
    """RegexFullMatch-20: https://onnx.ai/onnx/operators/onnx__RegexFullMatch.html

    The spec names RE2 syntax; Python's ``re`` accepts the common RE2 subset used in practice
    (RE2 is not a dependency)."""
    x = _strings(x, "RegexFullMatch")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"RegexFullMatch: invalid pattern {pattern!r}: {exc}") from None
    match = regex.fullmatch
    flat = [match(s) is not None for s in x.reshape(-1).tolist()]
    return np.array(flat, dtype=np.bool_).reshape(x.shape)
