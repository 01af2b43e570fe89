"""onnxruntime's ``capi._pybind_state``: everything ``onnxruntime_pybind11_state`` offers
(``from onnxruntime.capi import _pybind_state as C``; ``C.get_available_providers()``)."""

from ai_engine.capi import use_canonical_module

use_canonical_module(__name__)  # one module object under every name (capi/__init__.py)

from ai_engine.capi.onnxruntime_pybind11_state import *  # noqa: F401,F403
from ai_engine.capi.onnxruntime_pybind11_state import __all__  # noqa: F401
