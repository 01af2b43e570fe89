"""The engine's error hierarchy.

Every error a user can provoke is an :class:`EngineError`; its message names what was wrong
(the input, the op, the node, the shapes). The HTTP server maps each class to a status code
(``http_status``) and a JSON body ``{"error": "..."}``.

Each error also derives from the exception class onnxruntime raises for the same fault
(``ai_engine.capi.status``), so ``except InvalidArgument`` in code written for onnxruntime
catches an :class:`InvalidInputError`.
"""

from __future__ import annotations

from ai_engine.capi import status as ort


class EngineError(Exception):
    """Base class of every error raised on purpose by ai-engine."""

    http_status = 500


class ModelLoadError(EngineError, ort.Fail, ort.InvalidGraph):
    """The model cannot be loaded: missing file, bad bytes, bad graph, bad version."""

    http_status = 400


class ModelFileNotFoundError(ModelLoadError, ort.NoSuchFile):
    """The model path names no file."""


class ModelDecodeError(ModelLoadError, ort.InvalidProtobuf):
    """The model's bytes are empty or not an ONNX protobuf."""


class UnsupportedOperatorError(ModelLoadError, ort.NotImplemented):
    """One or more operators of a model have no kernel for the model's opset.

    ``missing`` lists ``(domain, op_type, opset, node_names)`` for every unsupported op, so a
    user sees all of them at once instead of one per attempt.
    """

    http_status = 501

    def __init__(self, message: str, missing: list | None = None):
        super().__init__(message)
        self.missing = missing or []


class InvalidInputError(EngineError, ort.InvalidArgument):
    """A feed does not match the model: unknown or missing name, wrong dtype, rank or dims."""

    http_status = 400


class KernelError(EngineError, ort.Fail, ort.RuntimeException):
    """A kernel failed while running a node; names the node, the op and its input shapes."""

    http_status = 400


class PassError(EngineError, ort.Fail):
    """A graph optimization pass failed; names the pass and the passes run before it."""

    http_status = 500


class RunAbortedError(EngineError, ort.Fail):
    """A run was stopped between two nodes before it finished (see :class:`RunOptions`)."""

    http_status = 503


class RunTimeoutError(RunAbortedError):
    """A run went past its deadline (``RunOptions.timeout_s``, a server request timeout)."""


class RunTerminatedError(RunAbortedError):
    """A run was stopped by ``RunOptions.terminate`` (or a client that went away)."""
