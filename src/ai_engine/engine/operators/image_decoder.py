"""ImageDecoder-20: decode an encoded image (JPEG, PNG, BMP, TIFF, WebP, PNM, JPEG 2000).

Spec: https://onnx.ai/onnx/operators/onnx__ImageDecoder.html

Decoding is delegated to Pillow, an optional dependency (the ``image`` extra), imported
lazily so that the engine loads without it. The output is ``(H, W, C)`` uint8 with C = 3
for RGB/BGR and 1 for Grayscale. The spec says an undecodable stream yields an empty
matrix, so a decode failure returns a ``(0, 0, C)`` array instead of raising.
"""

from __future__ import annotations

import io

import numpy as np

from ai_engine.engine.registry import register

_CHANNELS = {"RGB": 3, "BGR": 3, "Grayscale": 1}


def _pil_image():
    try:
        import PIL.Image
    except ImportError as exc:
        raise ImportError(
            "ImageDecoder needs Pillow: install it with `pip install pillow` "
            "(or `pip install ai-engine[image]`)") from exc
    return PIL.Image


@register("ImageDecoder", since=20)
def image_decoder(xp, encoded_stream, *, pixel_format="RGB"):
    """Decode a 1-D uint8 byte tensor to an HWC uint8 image in ``pixel_format``."""
    if pixel_format not in _CHANNELS:
        raise ValueError(f"ImageDecoder: pixel_format must be one of {sorted(_CHANNELS)}, "
                         f"got {pixel_format!r}")
    if encoded_stream.ndim != 1:
        raise ValueError(f"ImageDecoder: encoded_stream must be 1-D, got shape "
                         f"{encoded_stream.shape}")
    image_mod = _pil_image()
    # Decoding is host-side work: pull the bytes off the device if xp is CuPy.
    data = encoded_stream.get() if hasattr(encoded_stream, "get") else encoded_stream
    data = np.asarray(data, dtype=np.uint8).tobytes()
    channels = _CHANNELS[pixel_format]
    try:
        img = image_mod.open(io.BytesIO(data))
        img.load()
        # Pillow's "L" conversion is the ITU-R 601-2 luma transform L = R*299/1000 +
        # G*587/1000 + B*114/1000, which is what the conformance data was made with.
        # Other modes (palette, RGBA, CMYK, 16-bit...) are normalized so the channel count
        # is always the one the pixel format promises.
        mode = "L" if channels == 1 else "RGB"
        if img.mode != mode:
            img = img.convert(mode)
        decoded = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError):
        # Pillow signals unknown/corrupt streams with these (UnidentifiedImageError is an
        # OSError); the spec asks for an empty result, not an error.
        decoded = np.zeros((0, 0, channels), dtype=np.uint8)
    if decoded.ndim == 2:
        decoded = decoded[:, :, None]
    if pixel_format == "BGR":
        decoded = decoded[:, :, ::-1]
    return xp.asarray(np.ascontiguousarray(decoded))
