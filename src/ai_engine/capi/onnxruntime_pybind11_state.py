"""The names of onnxruntime's compiled module ``capi.onnxruntime_pybind11_state``, as code
written for onnxruntime imports them: the exception classes (``Fail``, ``InvalidArgument``...,
see :mod:`ai_engine.capi.status`), the module functions (``get_available_providers``,
``set_default_logger_severity``...) and the classes.

Where onnxruntime's compiled classes differ from its Python wrappers (``InferenceSession``,
``OrtValue``, ``IOBinding`` as ``SessionIOBinding``), these are ai-engine's one class for both,
shaped like the Python wrappers users call. Absolute imports only (see ``capi/__init__``).
"""

from ai_engine.capi import use_canonical_module

use_canonical_module(__name__)  # one module object under every name (capi/__init__.py)

from ai_engine.capi.status import (DeviceReset, EPFail, Fail, InvalidArgument, InvalidGraph,
                                   InvalidProtobuf, ModelLoadCanceled, ModelLoaded,
                                   ModelRequiresCompilation, NoModel, NoSuchFile, NotFound,
                                   NotImplemented, RuntimeException)
from ai_engine.engine.io_binding import IOBinding as SessionIOBinding
from ai_engine.engine.options import (ExecutionMode, ExecutionOrder, GraphOptimizationLevel,
                                      SessionOptions)
from ai_engine.engine.ort_values import OrtValue
from ai_engine.engine.run_options import RunOptions
from ai_engine.engine.runtime import (disable_telemetry_events, enable_telemetry_events,
                                      get_all_providers, get_available_providers,
                                      get_build_info, get_device, get_version_string,
                                      set_default_logger_severity,
                                      set_default_logger_verbosity, set_seed)
from ai_engine.engine.session import InferenceSession, ModelMetadata, NodeArg
from ai_engine.errors import EngineError

__all__ = [
    "Fail", "InvalidArgument", "NoSuchFile", "NoModel", "EngineError", "RuntimeException",
    "InvalidProtobuf", "ModelLoaded", "NotImplemented", "InvalidGraph", "EPFail",
    "ModelLoadCanceled", "ModelRequiresCompilation", "NotFound", "DeviceReset",
    "get_all_providers", "get_available_providers", "get_device", "get_version_string",
    "get_build_info", "set_default_logger_severity", "set_default_logger_verbosity",
    "set_seed", "enable_telemetry_events", "disable_telemetry_events",
    "SessionOptions", "RunOptions", "GraphOptimizationLevel", "ExecutionMode",
    "ExecutionOrder", "InferenceSession", "NodeArg", "ModelMetadata", "OrtValue",
    "SessionIOBinding",
]
