"""The built-in demo: a digit classifier trained by scripts/build_demo_model.py."""

from __future__ import annotations

import os

import numpy as np

DEMO_DIR = os.path.dirname(os.path.abspath(__file__))
MODEL_PATH = os.path.join(DEMO_DIR, "digits_mlp.onnx")
SAMPLES_PATH = os.path.join(DEMO_DIR, "digits_samples.npz")


def samples() -> tuple[np.ndarray, np.ndarray]:
    """Held-out 8x8 digit images (flattened, scaled to [0, 1]) and their true labels."""
    with np.load(SAMPLES_PATH) as data:
        return data["pixels"], data["labels"]


def ascii_digit(pixels: np.ndarray) -> list[str]:
    """An 8x8 image as 8 lines of shading characters, for the terminal."""
    shades = " .:-=+*#%@"
    img = pixels.reshape(8, 8)
    return ["".join(shades[min(9, int(v * 9.99))] * 2 for v in row) for row in img]
