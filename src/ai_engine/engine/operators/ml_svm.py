"""Support vector machines (ai.onnx.ml): SVMClassifier, SVMRegressor.

https://onnx.ai/onnx/operators/onnx_aionnxml_SVMClassifier.html
https://onnx.ai/onnx/operators/onnx_aionnxml_SVMRegressor.html

What skl2onnx writes for scikit-learn's SVC/NuSVC (libsvm one-vs-one layout, optional Platt
probabilities) and SVR/NuSVR/OneClassSVM. The decision rules follow onnxruntime (the de facto
reference for this domain): votes over class pairs, libsvm's pairwise-coupling probabilities,
the binary case's special label and score layout. Kernels are evaluated for all rows at once
as one [N, V] matrix (BLAS); only the small loops over class pairs remain.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.ml import ML_DOMAIN, post_transform_scores
from ai_engine.engine.registry import register


def _kernel(xp, x, sv, kernel_type, kernel_params):
    """K[n, v] = k(x[n], sv[v]) in float64 (the RBF distance expansion needs the precision)."""
    gamma, coef0, degree = (list(kernel_params) + [0.0, 0.0, 0.0])[:3] if kernel_params \
        else (0.0, 0.0, 0.0)
    kind = kernel_type.upper()
    dot = x @ sv.T
    if kind == "LINEAR":
        return dot
    if kind == "POLY":
        return (dot * gamma + coef0) ** int(degree)
    if kind == "SIGMOID":
        return xp.tanh(dot * gamma + coef0)
    if kind == "RBF":
        d2 = (x * x).sum(axis=1)[:, None] + (sv * sv).sum(axis=1)[None, :] - 2 * dot
        return xp.exp(-gamma * xp.maximum(d2, 0))
    raise ValueError(f"SVM: unknown kernel_type {kernel_type!r}")


def _rows(xp, X):
    x = X.reshape(1, -1) if X.ndim == 1 else X
    if x.ndim != 2:
        raise ValueError(f"SVM: X must be [N, F], got shape {tuple(X.shape)}")
    return xp.asarray(x, dtype=np.float64)


def _coupling(xp, r):
    """libsvm's multiclass_probability for every row: r [N, k, k] pairwise probabilities ->
    [N, k]. Rows iterate until their own error is small (frozen once converged)."""
    n, k = r.shape[0], r.shape[1]
    eye = xp.eye(k, dtype=bool)
    r2 = r * r
    # Q[t, t] = sum_{j != t} r[j, t]^2; Q[t, j] = -r[j, t] * r[t, j]
    q = -xp.swapaxes(r, 1, 2) * r
    diag = xp.where(eye, 0, xp.swapaxes(r2, 1, 2)).sum(axis=2)
    q = xp.where(eye, diag[:, :, None], q)
    p = xp.full((n, k), 1.0 / k)
    eps = 0.005 / k
    for _ in range(max(100, k)):
        qp = (q @ p[:, :, None])[:, :, 0]
        pqp = (p * qp).sum(axis=1)
        active = xp.abs(qp - pqp[:, None]).max(axis=1) >= eps
        if not bool(active.any()):
            break
        for t in range(k):
            qtt = q[:, t, t]
            diff = xp.where(active, (pqp - qp[:, t]) / qtt, 0.0)
            p[:, t] += diff
            pqp = (pqp + diff * (diff * qtt + 2 * qp[:, t])) / (1 + diff) ** 2
            p /= (1 + diff)[:, None]
            qp = (qp + diff[:, None] * q[:, t, :]) / (1 + diff)[:, None]
    return p


@register("SVMClassifier", since=1, domain=ML_DOMAIN)
def svm_classifier(xp, X, *, classlabels_ints=None, classlabels_strings=None,
                   coefficients=None, kernel_params=None, kernel_type="LINEAR",
                   post_transform="NONE", prob_a=None, prob_b=None, rho=None,
                   support_vectors=None, vectors_per_class=None):
    """SVMClassifier-1: https://onnx.ai/onnx/operators/onnx_aionnxml_SVMClassifier.html
    -> (labels [N], scores [N, C or C*(C-1)/2])"""
    x = _rows(xp, X)
    n = x.shape[0]
    labels = list(classlabels_strings or classlabels_ints or [])
    n_cls = max(len(labels), 1)
    coefs = np.asarray(coefficients if coefficients is not None else [], dtype=np.float64)
    rho = np.asarray(rho if rho is not None else [0.0], dtype=np.float64)
    per_class = [int(v) for v in (vectors_per_class or [])]
    n_vec = sum(per_class)
    votes = None
    if n_vec > 0:
        sv = xp.asarray(np.asarray(support_vectors, np.float64).reshape(n_vec, -1))
        k = _kernel(xp, x, sv, kernel_type, kernel_params)                  # [N, V]
        c = xp.asarray(coefs.reshape(-1, n_vec))
        start = np.concatenate([[0], np.cumsum(per_class)[:-1]]).astype(int)
        pairs = [(i, j) for i in range(n_cls) for j in range(i + 1, n_cls)]
        res = xp.empty((n, len(pairs)), np.float64)
        votes = xp.zeros((n, n_cls), np.float64)
        for e, (i, j) in enumerate(pairs):
            si = slice(start[i], start[i] + per_class[i])
            sj = slice(start[j], start[j] + per_class[j])
            s = rho[e] + k[:, si] @ c[j - 1, si] + k[:, sj] @ c[i, sj]
            res[:, e] = s
            votes[:, i] += s > 0
            votes[:, j] += s <= 0
        if prob_a:
            pa, pb = np.asarray(prob_a, np.float64), np.asarray(prob_b, np.float64)
            r = xp.zeros((n, n_cls, n_cls), np.float64)
            for e, (i, j) in enumerate(pairs):
                val = 1 - 1 / (1 + xp.exp(-(res[:, e] * pa[e] + pb[e])))   # 1 - logistic
                val = xp.clip(val, 1e-7, 1 - 1e-7)
                r[:, i, j], r[:, j, i] = val, 1 - val
            scores = _coupling(xp, r)
        else:
            scores = res
    else:
        w = xp.asarray(coefs.reshape(n_cls, -1))
        scores = x @ w.T + rho[0]
        prob_a = None
    has_proba = bool(prob_a) and n_vec > 0
    weight = votes if votes is not None else scores
    best = xp.argmax(weight, axis=1)
    if rho.size == 1:
        # Binary: onnxruntime's set_score_svm.
        max_w = xp.take_along_axis(weight, best[:, None], axis=1)[:, 0]
        if len(labels) == 2:
            all_pos = coefs.size > 0 and coefs.min() >= 0
            if not has_proba and all_pos:
                idx = xp.where(max_w >= 0.5, 1, best)
            else:
                idx = best
        else:
            idx, labels = xp.where(max_w > 0, 1, 0), []
        second = 2
    else:
        idx, second = best, -1
    scores = scores.astype(np.float32)
    if scores.shape[1] >= 2:
        out = post_transform_scores(xp, scores, post_transform)
    elif post_transform == "PROBIT":
        out = post_transform_scores(xp, scores, post_transform)
    elif second == 2:
        # One decision value d for two classes: scores [-d, d], then the transform.
        s = scores[:, :1]
        out = post_transform_scores(xp, xp.concatenate([-s, s], axis=1), post_transform)
    else:
        out = scores
    idx_host = np.asarray(idx.get() if hasattr(idx, "get") else idx).astype(np.int64)
    if classlabels_strings:
        lab = np.empty(n, dtype=object)
        lab[:] = [labels[i] for i in idx_host.tolist()]
    elif labels:
        lab = xp.asarray(np.asarray(labels, np.int64)[idx_host])
    else:
        lab = xp.asarray(idx_host)
    return lab, out.astype(np.float32)


@register("SVMRegressor", since=1, domain=ML_DOMAIN)
def svm_regressor(xp, X, *, coefficients=None, kernel_params=None, kernel_type="LINEAR",
                  n_supports=0, one_class=0, post_transform="NONE", rho=None,
                  support_vectors=None):
    """SVMRegressor-1: https://onnx.ai/onnx/operators/onnx_aionnxml_SVMRegressor.html -> [N, 1]"""
    if post_transform != "NONE":
        raise ValueError(f"SVMRegressor: post_transform={post_transform!r} is not supported")
    x = _rows(xp, X)
    coefs = xp.asarray(np.asarray(coefficients, np.float64))
    r0 = float(rho[0]) if rho else 0.0
    if n_supports > 0:
        sv = xp.asarray(np.asarray(support_vectors, np.float64).reshape(n_supports, -1))
        s = _kernel(xp, x, sv, kernel_type, kernel_params) @ coefs[:n_supports] + r0
    else:
        s = x @ coefs.reshape(-1) + r0
    if one_class:
        s = xp.where(s > 0, 1.0, -1.0)
    return s.reshape(-1, 1).astype(np.float32)
