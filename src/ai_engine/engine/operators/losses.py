"""Loss operators.

* NegativeLogLikelihoodLoss-12/13/22:
  https://onnx.ai/onnx/operators/onnx__NegativeLogLikelihoodLoss.html
* SoftmaxCrossEntropyLoss-12/13:
  https://onnx.ai/onnx/operators/onnx__SoftmaxCrossEntropyLoss.html

Later versions only widen the accepted types, so one registration (since 12) serves all.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.dtype_policy import compute_dtype
from ai_engine.engine.registry import register


def _nll(xp, logp, target, weight, ignore_index, reduction, op):
    """The loss from log-probabilities ``logp`` (N, C, d1...) in their compute dtype."""
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"{op}: unknown reduction {reduction!r}")
    if logp.ndim < 2:
        raise ValueError(f"{op}: input must be at least 2-D (N, C, ...), got {logp.shape}")
    n, c = logp.shape[:2]
    if target.shape != (n,) + logp.shape[2:]:
        raise ValueError(f"{op}: target shape {target.shape} does not match input "
                         f"{logp.shape} without its class axis")
    t = target.astype(np.int64, copy=False)
    ignored = (t == ignore_index) if ignore_index is not None else None
    safe = t if ignored is None else xp.where(ignored, 0, t)
    if bool(((safe < 0) | (safe >= c)).any()):
        raise ValueError(f"{op}: target values must lie in [0, {c}) (or equal ignore_index)")
    picked = xp.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
    loss = -picked
    w = None
    if weight is not None:
        if weight.shape != (c,):
            raise ValueError(f"{op}: weight shape {weight.shape} is not ({c},)")
        w = weight.astype(logp.dtype)[safe]
    if ignored is not None:
        zero = logp.dtype.type(0)
        w = xp.where(ignored, zero, logp.dtype.type(1) if w is None else w)
        # where, not multiply: an ignored element's -inf log-probability must not give NaN.
        loss = xp.where(ignored, zero, loss)
    if w is not None:
        loss = loss * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if w is None:
        return loss.mean()
    return loss.sum() / w.sum()


@register("NegativeLogLikelihoodLoss", since=12)
def negative_log_likelihood_loss(xp, x, target, weight=None, *, ignore_index=None,
                                 reduction="mean"):
    """NegativeLogLikelihoodLoss: ``loss[n, d] = -x[n, target[n, d], d] * weight[target]``;
    ``mean`` divides by the sum of the weights of the non-ignored elements."""
    ct = compute_dtype(x.dtype)
    loss = _nll(xp, x.astype(ct, copy=False), target, weight, ignore_index, reduction,
                "NegativeLogLikelihoodLoss")
    return xp.asarray(loss).astype(x.dtype)


@register("SoftmaxCrossEntropyLoss", since=12)
def softmax_cross_entropy_loss(xp, scores, labels, weights=None, *, ignore_index=None,
                               reduction="mean"):
    """SoftmaxCrossEntropyLoss: NegativeLogLikelihoodLoss of ``LogSoftmax(scores, axis=1)``;
    the optional second output is that log-probability tensor."""
    ct = compute_dtype(scores.dtype)
    s = scores.astype(ct)   # a copy (or fresh array): updated in place below
    if s.ndim < 2:
        raise ValueError(f"SoftmaxCrossEntropyLoss: scores must be at least 2-D, got {s.shape}")
    s -= s.max(axis=1, keepdims=True)
    s -= xp.log(xp.exp(s).sum(axis=1, keepdims=True))
    loss = _nll(xp, s, labels, weights, ignore_index, reduction, "SoftmaxCrossEntropyLoss")
    return xp.asarray(loss).astype(scores.dtype), s.astype(scores.dtype, copy=False)
