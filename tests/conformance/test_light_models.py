"""The nine model-zoo networks shipped in onnx/backend/test/data/light with stored outputs.

Inputs are what onnx's backend runner feeds them: ``arange(n) / n`` in the input's shape;
outputs are compared with the stored ``light_<name>_output_0.pb`` at the runner's tolerances.
"""

import os

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from ai_engine import InferenceSession

LIGHT_DIR = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
MODELS = [("bvlc_alexnet", 1e-3), ("densenet121", 2e-3), ("inception_v1", 1e-3),
          ("inception_v2", 1e-3), ("resnet50", 1e-3), ("shufflenet", 1e-3),
          ("squeezenet", 1e-3), ("vgg19", 1e-3), ("zfnet512", 1e-3)]


def _dummy_input(arg) -> np.ndarray:
    shape = tuple(d if isinstance(d, int) else 1 for d in arg.shape)
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name,rtol", MODELS, ids=[m for m, _ in MODELS])
def test_light_model_matches_stored_output(name, rtol):
    path = os.path.join(LIGHT_DIR, f"light_{name}.onnx")
    session = InferenceSession(path)
    feeds = {arg.name: _dummy_input(arg) for arg in session.get_inputs()}
    (got,) = session.run(None, feeds)
    expected = numpy_helper.to_array(
        onnx.load_tensor(os.path.join(LIGHT_DIR, f"light_{name}_output_0.pb")))
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-7)
