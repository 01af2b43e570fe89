"""ai-engine: an ONNX inference engine in Python.

    import ai_engine
    session = ai_engine.InferenceSession("model.onnx")
    outputs = session.run(None, {"x": array})

The module offers onnxruntime's public API under its names (README: "onnxruntime API"), so
code written for onnxruntime runs on ai-engine after ``ai_engine.install_as_onnxruntime()``
(or ``sys.modules["onnxruntime"] = ai_engine``).
"""

import os as _os
import sys as _sys

# OpenBLAS's idle worker threads spin for 2**28 CPU cycles (about 0.1 s) after every BLAS
# call before they sleep, taking cores from the rest of the run and from other processes
# (measured: 50-65 ms of CPU burnt in the 0.5 s after one 300x300 GEMM on 2 threads; 6 ms
# with 2**22 cycles, about 1.5 ms).
# OpenBLAS reads this once, when NumPy loads it, so it only applies when ai_engine is
# imported before NumPy; a value the user set is kept. (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
# are deliberately left alone: docs/PERFORMANCE.md.)
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "22")

from ai_engine.engine.options import (ExecutionMode, ExecutionOrder,  # noqa: E402
                                      GraphOptimizationLevel, SessionOptions)
from ai_engine.engine.io_binding import IOBinding  # noqa: E402
from ai_engine.engine.ort_values import OrtValue  # noqa: E402
from ai_engine.engine.run_options import RunOptions  # noqa: E402
from ai_engine.engine.runtime import (disable_telemetry_events,  # noqa: E402
                                      enable_telemetry_events, get_all_providers,
                                      get_available_providers, get_build_info, get_device,
                                      get_version_string, set_default_logger_severity,
                                      set_default_logger_verbosity, set_seed)
from ai_engine.engine.session import InferenceSession, ModelMetadata, NodeArg  # noqa: E402
from ai_engine.errors import (EngineError, InvalidInputError, KernelError,  # noqa: E402
                              ModelDecodeError, ModelFileNotFoundError, ModelLoadError,
                              PassError, RunAbortedError, RunTerminatedError, RunTimeoutError,
                              UnsupportedOperatorError)
from ai_engine.formats.onnx.loader import load_model as load  # noqa: E402
import ai_engine.capi._pybind_state  # noqa: E402,F401 - ``ai_engine.capi`` after one import

__version__ = "0.1.0"
version = __version__  # onnxruntime.version

_CAPI_MODULES = ("capi", "capi._pybind_state", "capi.onnxruntime_pybind11_state",
                 "capi.onnxruntime_inference_collection", "capi.status")


def install_as_onnxruntime() -> None:
    """Make ``import onnxruntime`` (and ``onnxruntime.capi...``) give ai-engine, in this
    process, for code written for onnxruntime. Call it before that code imports onnxruntime;
    modules that imported the real one earlier keep it.

    Setting ``sys.modules["onnxruntime"] = ai_engine`` alone works too (the ``capi``
    modules resolve their ``onnxruntime.`` names themselves: capi/__init__.py); this also
    registers those names at once.
    """
    import importlib

    _sys.modules["onnxruntime"] = _sys.modules[__name__]
    for name in _CAPI_MODULES:
        _sys.modules["onnxruntime." + name] = importlib.import_module("ai_engine." + name)


__all__ = [
    "InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel",
    "ExecutionMode", "ExecutionOrder", "NodeArg", "ModelMetadata", "OrtValue", "IOBinding",
    "get_all_providers", "get_available_providers", "get_device", "get_version_string",
    "get_build_info", "set_default_logger_severity", "set_default_logger_verbosity",
    "set_seed", "enable_telemetry_events", "disable_telemetry_events",
    "install_as_onnxruntime", "load", "EngineError", "ModelLoadError",
    "ModelFileNotFoundError", "ModelDecodeError", "UnsupportedOperatorError",
    "InvalidInputError", "KernelError", "PassError", "RunAbortedError", "RunTimeoutError",
    "RunTerminatedError", "__version__", "version",
]
