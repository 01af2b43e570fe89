"""Errors of the serving layer, each carrying the HTTP status the KServe V2 spec suggests.

KServe V2 REST, "HTTP/REST > Errors": a failed request answers with a non-200 status and a
body ``{"error": "<message>"}``. The status comes from ``EngineError.http_status``.
"""

from __future__ import annotations

from ai_engine.errors import EngineError


class BadRequestError(EngineError):
    """Malformed request: bad JSON, bad datatype, shape/data mismatch, bad binary layout."""

    http_status = 400


class ModelNotFoundError(EngineError):
    """No such model or version in the repository (KServe: unknown model -> 404)."""

    http_status = 404


class ModelNotReadyError(EngineError):
    """The model exists but is loading, unloading or failed to load."""

    http_status = 503


class UnsupportedError(EngineError):
    """A protocol feature this server does not implement (e.g. classification outputs)."""

    http_status = 501
