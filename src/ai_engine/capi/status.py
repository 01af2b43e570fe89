"""onnxruntime's exception classes, under the names its ``capi.onnxruntime_pybind11_state``
module gives them, so that ``except`` clauses written for onnxruntime catch ai-engine's errors.

onnxruntime turns each failed ``Status`` into one of these (``[ONNXRuntimeError] : 2 :
INVALID_ARGUMENT : ...``); each derives from ``Exception`` only, as there. ai-engine's own
errors (``ai_engine.errors``) derive from the class onnxruntime raises for the same fault,
as measured on onnxruntime 1.32:

==============================  ===============================================
ai-engine error                 also an instance of
==============================  ===============================================
ModelLoadError                  Fail, InvalidGraph
ModelFileNotFoundError          NoSuchFile (and the above)
ModelDecodeError                InvalidProtobuf (and the above)
UnsupportedOperatorError        NotImplemented (and ModelLoadError's)
InvalidInputError               InvalidArgument
KernelError                     Fail, RuntimeException
PassError                       Fail
RunAbortedError (timeout, stop) Fail ("Exiting due to terminate flag")
==============================  ===============================================

``EngineError`` is not defined here: in ``onnxruntime_pybind11_state`` that name is
ai-engine's :class:`ai_engine.errors.EngineError`, the base of every error above (onnxruntime's
ENGINE_ERROR is its catch-all for faults of the engine itself). ``NoModel``, ``ModelLoaded``,
``EPFail``, ``ModelLoadCanceled``, ``ModelRequiresCompilation``, ``NotFound`` and
``DeviceReset`` exist so that code naming them still imports and runs; no ai-engine error is
one of them, because ai-engine has no state in which those statuses arise (no separate
load step, no plugin execution providers, no model compilation, no device reset).

``ai_engine.errors`` builds on this module, so it imports nothing else of ai-engine.
"""

from __future__ import annotations

from ai_engine.capi import use_canonical_module

use_canonical_module(__name__)  # one module object under every name (capi/__init__.py)

_MODULE = "ai_engine.capi.onnxruntime_pybind11_state"


def _status_class(name: str, doc: str) -> type:
    cls = type(name, (Exception,), {"__doc__": f"onnxruntime's status {doc}"})
    cls.__module__ = _MODULE  # where users import it from (pickling finds it there too)
    return cls


Fail = _status_class("Fail", "FAIL, a generic failure (model load, kernel, terminate)")
InvalidArgument = _status_class("InvalidArgument", "INVALID_ARGUMENT, a bad feed or name")
NoSuchFile = _status_class("NoSuchFile", "NO_SUCHFILE, the model file does not exist")
NoModel = _status_class("NoModel", "NO_MODEL")
RuntimeException = _status_class("RuntimeException", "RUNTIME_EXCEPTION")
InvalidProtobuf = _status_class("InvalidProtobuf", "INVALID_PROTOBUF, undecodable bytes")
ModelLoaded = _status_class("ModelLoaded", "MODEL_LOADED")
NotImplemented = _status_class("NotImplemented",  # noqa: A001 - onnxruntime's name
                               "NOT_IMPLEMENTED, an operator without a kernel")
InvalidGraph = _status_class("InvalidGraph", "INVALID_GRAPH, a malformed graph")
EPFail = _status_class("EPFail", "EP_FAIL, an execution provider failed")
ModelLoadCanceled = _status_class("ModelLoadCanceled", "MODEL_LOAD_CANCELED")
ModelRequiresCompilation = _status_class("ModelRequiresCompilation",
                                         "MODEL_REQUIRES_COMPILATION")
NotFound = _status_class("NotFound", "NOT_FOUND")
DeviceReset = _status_class("DeviceReset", "DEVICE_RESET")

