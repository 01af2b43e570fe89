"""Object-detection kernels: NonMaxSuppression."""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.indexing import to_host
from ai_engine.engine.registry import register


def _corners(boxes: np.ndarray, center_point_box: int):
    """(x_min, y_min, x_max, y_max) columns for boxes in either ONNX layout."""
    if center_point_box:
        # [x_center, y_center, width, height]
        xc, yc, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
        return xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2
    # [y1, x1, y2, x2] with either corner first: the spec allows flipped coordinates.
    y1, x1, y2, x2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    return (np.minimum(x1, x2), np.minimum(y1, y2), np.maximum(x1, x2), np.maximum(y1, y2))


def _suppressed_by(i: int, cand: np.ndarray, x0, y0, x1, y1, area, iou_threshold: float):
    """Mask over ``cand`` of boxes whose IoU with box ``i`` is strictly above the threshold.

    Degenerate pairs (no overlap, zero area) never suppress, as in the reference.
    """
    iw = np.minimum(x1[i], x1[cand]) - np.maximum(x0[i], x0[cand])
    ih = np.minimum(y1[i], y1[cand]) - np.maximum(y0[i], y0[cand])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = area[i] + area[cand] - inter
    valid = (inter > 0) & (area[i] > 0) & (area[cand] > 0) & (union > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(valid, inter / np.where(union > 0, union, 1.0), 0.0)
    return valid & (iou > iou_threshold)


def _optional_scalar(value, default, cast):
    if value is None or value.size == 0:
        return default
    return cast(np.asarray(value).reshape(-1)[0])


@register("NonMaxSuppression", since=10)
def non_max_suppression(xp, boxes, scores, max_output_boxes_per_class=None, iou_threshold=None,
                        score_threshold=None, *, center_point_box=0):
    """NonMaxSuppression-11: https://onnx.ai/onnx/operators/onnx__NonMaxSuppression.html

    Returns int64 ``[num_selected, 3]`` rows of (batch, class, box). Candidates are visited
    by descending score (lower box index first on ties); a box is dropped when its IoU with
    an already selected box of the same class is strictly above ``iou_threshold``. Each pick
    suppresses with one vectorized IoU row against the remaining candidates, so the Python
    loop runs once per selected box, not per box pair.
    """
    op = "NonMaxSuppression"
    if boxes.ndim != 3 or boxes.shape[2] != 4:
        raise ValueError(f"{op}: boxes must have shape [batch, boxes, 4], got "
                         f"{tuple(boxes.shape)}")
    if scores.ndim != 3 or scores.shape[0] != boxes.shape[0] or scores.shape[2] != boxes.shape[1]:
        raise ValueError(f"{op}: scores shape {tuple(scores.shape)} must be [batch, classes, "
                         f"boxes] matching boxes {tuple(boxes.shape)}")
    if center_point_box not in (0, 1):
        raise ValueError(f"{op}: center_point_box must be 0 or 1, got {center_point_box}")
    # Selection is a short, data-dependent sequential loop: run it on the host.
    host_boxes = to_host(xp, boxes).astype(np.float64)
    host_scores = to_host(xp, scores)
    max_out = max(_optional_scalar(to_host(xp, max_output_boxes_per_class)
                                   if max_output_boxes_per_class is not None else None, 0, int),
                  0)
    iou_thr = _optional_scalar(to_host(xp, iou_threshold) if iou_threshold is not None
                               else None, 0.0, float)
    score_thr = _optional_scalar(to_host(xp, score_threshold) if score_threshold is not None
                                 else None, None, float)

    selected = []
    num_batches, num_classes = host_scores.shape[0], host_scores.shape[1]
    for b in range(num_batches if max_out > 0 else 0):
        x0, y0, x1, y1 = _corners(host_boxes[b], center_point_box)
        area = (x1 - x0) * (y1 - y0)
        for c in range(num_classes):
            s = host_scores[b, c]
            cand = np.arange(s.shape[0]) if score_thr is None else np.flatnonzero(s > score_thr)
            # Descending score, ascending index on ties: stable sort of the negated key.
            cand = cand[np.argsort(-s[cand].astype(np.float64), kind="stable")]
            picked = 0
            while cand.size and picked < max_out:
                i = int(cand[0])
                selected.append((b, c, i))
                picked += 1
                rest = cand[1:]
                cand = rest[~_suppressed_by(i, rest, x0, y0, x1, y1, area, iou_thr)]
    out = np.asarray(selected, dtype=np.int64).reshape(-1, 3)
    return xp.asarray(out)
