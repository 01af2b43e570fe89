"""onnxruntime's ``capi.onnxruntime_inference_collection``: the Python classes
``InferenceSession``, ``IOBinding``, ``OrtValue``, ``ModelMetadata``, ``NodeArg``."""

from ai_engine.capi import use_canonical_module

use_canonical_module(__name__)  # one module object under every name (capi/__init__.py)

from ai_engine.engine.io_binding import IOBinding
from ai_engine.engine.ort_values import OrtValue
from ai_engine.engine.session import InferenceSession, ModelMetadata, NodeArg

__all__ = ["InferenceSession", "IOBinding", "OrtValue", "ModelMetadata", "NodeArg"]
