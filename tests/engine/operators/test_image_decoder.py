"""ImageDecoder-20 through InferenceSession (image_decoder.py); needs Pillow.

The backend node cases (scripts/conformance.py) decode 3-channel images of every format;
these use lossless PNG/BMP so pixels compare exactly, and cover what the cases miss: images
whose mode is not RGB (RGBA, palette, grayscale) normalized to the requested channel count,
the grayscale luma formula, a corrupt stream (empty result, per the spec) and a bad
pixel_format.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from ai_engine.errors import EngineError

from builders import run_op

PIL_Image = pytest.importorskip("PIL.Image")

rng = np.random.default_rng(0)


def decode(data: bytes, pixel_format="RGB"):
    """ImageDecoder (opset 20) on an encoded stream."""
    return run_op("ImageDecoder", np.frombuffer(data, dtype=np.uint8), opset=20,
                  pixel_format=pixel_format)[0]


def encode(pixels: np.ndarray, fmt="PNG", mode=None) -> bytes:
    img = PIL_Image.fromarray(pixels, mode) if mode else PIL_Image.fromarray(pixels)
    with io.BytesIO() as f:
        img.save(f, format=fmt)
        return f.getvalue()


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma in Pillow's fixed point: (R*19595 + G*38470 + B*7471 + 2**15) >> 16."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP"])
def test_lossless_rgb_bgr_grayscale(fmt):
    rgb = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    data = encode(rgb, fmt)
    out = decode(data, "RGB")
    assert out.dtype == np.uint8 and out.shape == (7, 5, 3)
    np.testing.assert_array_equal(out, rgb)
    np.testing.assert_array_equal(decode(data, "BGR"), rgb[:, :, ::-1])
    gray = decode(data, "Grayscale")
    assert gray.shape == (7, 5, 1)
    np.testing.assert_array_equal(gray[:, :, 0], luma(rgb))


def test_rgba_png_drops_alpha():
    rgba = rng.integers(0, 256, (4, 6, 4), dtype=np.uint8)
    out = decode(encode(rgba), "RGB")
    assert out.shape == (4, 6, 3)
    np.testing.assert_array_equal(out, rgba[:, :, :3])


def test_palette_png_expands_to_rgb():
    rgb = np.zeros((3, 3, 3), np.uint8)
    rgb[0] = (255, 0, 0)
    rgb[1] = (0, 255, 0)
    rgb[2] = (0, 0, 255)
    pal = PIL_Image.fromarray(rgb).convert("P", palette=PIL_Image.Palette.ADAPTIVE, colors=3)
    with io.BytesIO() as f:
        pal.save(f, format="PNG")
        data = f.getvalue()
    np.testing.assert_array_equal(decode(data, "BGR"), rgb[:, :, ::-1])


def test_grayscale_png_to_rgb_and_grayscale():
    gray = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    data = encode(gray)
    np.testing.assert_array_equal(decode(data, "Grayscale"), gray[:, :, None])
    np.testing.assert_array_equal(decode(data, "RGB"), np.repeat(gray[:, :, None], 3, axis=2))


@pytest.mark.parametrize("fmt,channels", [("RGB", 3), ("Grayscale", 1)])
def test_corrupt_stream_gives_empty_image(fmt, channels):
    out = decode(b"definitely not an image", fmt)
    assert out.dtype == np.uint8 and out.shape == (0, 0, channels)


def test_unknown_pixel_format_is_an_error():
    with pytest.raises(EngineError, match="pixel_format"):
        decode(encode(np.zeros((2, 2, 3), np.uint8)), "CMYK")
