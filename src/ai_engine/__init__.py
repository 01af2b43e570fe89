"""ai-engine: an ONNX inference engine in Python.

    import ai_engine
    session = ai_engine.InferenceSession("model.onnx")
    outputs = session.run(None, {"x": array})
"""

from ai_engine.engine.options import ExecutionMode, GraphOptimizationLevel, SessionOptions
from ai_engine.engine.run_options import RunOptions
from ai_engine.engine.session import InferenceSession, NodeArg
from ai_engine.errors import (EngineError, InvalidInputError, KernelError, ModelLoadError,
                              PassError, RunAbortedError, RunTerminatedError, RunTimeoutError,
                              UnsupportedOperatorError)
from ai_engine.formats.onnx.loader import load_model as load

__version__ = "0.1.0"

__all__ = ["InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel",
           "ExecutionMode", "NodeArg", "load", "EngineError", "ModelLoadError",
           "UnsupportedOperatorError", "InvalidInputError", "KernelError", "PassError",
           "RunAbortedError", "RunTimeoutError", "RunTerminatedError", "__version__"]
