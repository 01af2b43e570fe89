"""Scheduling failures, with the HTTP status Triton answers for the same condition."""

from __future__ import annotations

from ai_engine.errors import EngineError


class QueueFullError(EngineError):
    """The model's queue is at its bound: back off and retry (429 Too Many Requests)."""

    http_status = 429


class DeadlineExceededError(EngineError):
    """The request's ``timeout`` passed before it could run; it was dropped unrun.

    Triton reports an expired queue timeout as UNAVAILABLE, i.e. HTTP 503.
    """

    http_status = 503


class SchedulerClosedError(EngineError):
    """The model is being unloaded and takes no new work."""

    http_status = 503
