"""ZipMap (ai.onnx.ml): class scores -> one {label: score} map per row.

https://onnx.ai/onnx/operators/onnx_aionnxml_ZipMap.html

Every scikit-learn classifier exported by skl2onnx with default options ends in ZipMap (its
``output_probability``), so without it those models do not load. The result is a sequence of
maps, represented as a Python list of dicts (onnxruntime's Python API returns the same), with
Python floats as values.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.registry import register

ML_DOMAIN = "ai.onnx.ml"


@register("ZipMap", since=1, domain=ML_DOMAIN)
def zipmap(xp, X, *, classlabels_int64s=None, classlabels_strings=None):
    """ZipMap-1: https://onnx.ai/onnx/operators/onnx_aionnxml_ZipMap.html"""
    if (classlabels_int64s is None) == (classlabels_strings is None):
        raise ValueError("ZipMap: exactly one of classlabels_int64s and classlabels_strings "
                         "must be given")
    labels = list(classlabels_int64s if classlabels_int64s is not None else classlabels_strings)
    # Maps are built on the host (a CuPy array is copied back once).
    scores = np.asarray(X.get() if hasattr(X, "get") else X)
    if scores.ndim == 1:
        scores = scores.reshape(1, -1)
    if scores.ndim != 2 or scores.shape[1] != len(labels):
        raise ValueError(f"ZipMap: input of shape {tuple(scores.shape)} does not have one "
                         f"column per label ({len(labels)} labels)")
    rows = scores.astype(np.float32, copy=False).tolist()
    return [dict(zip(labels, row)) for row in rows]
