"""Col2Im-18: https://onnx.ai/onnx/operators/onnx__Col2Im.html (scatter-add columns of image
blocks back into an image, the inverse layout of im2col)."""

from __future__ import annotations

import math

import numpy as np

from ai_engine.engine.registry import register

from .conv_geometry import col2im_add, pad_spatial, spatial_defaults


@register("Col2Im", since=18)
def col2im(xp, x, image_shape, block_shape, *, dilations=None, pads=None, strides=None):
    """Col2Im-18: sum the sliding blocks of ``x`` (N, C*prod(block), L) back into an
    (N, C, *image_shape) image, the inverse layout of im2col."""
    image = [int(v) for v in np.asarray(image_shape).reshape(-1)]
    block = tuple(int(v) for v in np.asarray(block_shape).reshape(-1))
    nd = len(image)
    strides, dilations, pads = spatial_defaults(nd, strides, dilations, pads)
    ksize = math.prod(block)
    if x.ndim != 3 or x.shape[1] % ksize:
        raise ValueError(f"Col2Im: input {x.shape} is not (N, C*{ksize}, L)")
    nblocks = [(image[i] + pads[i] + pads[nd + i] - (block[i] - 1) * dilations[i] - 1)
               // strides[i] + 1 for i in range(nd)]
    if math.prod(nblocks) != x.shape[2]:
        raise ValueError(f"Col2Im: {x.shape[2]} columns but the geometry gives {nblocks}")
    n, c = x.shape[0], x.shape[1] // ksize
    cols = x.reshape((n, c) + block + tuple(nblocks))
    full = [image[i] + pads[i] + pads[nd + i] for i in range(nd)]
    img = col2im_add(xp, cols, block, strides, dilations, nblocks, full)
    return pad_spatial(xp, img, [-p for p in pads[:nd]], [-p for p in pads[nd:]], 0)
