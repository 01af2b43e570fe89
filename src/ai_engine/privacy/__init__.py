"""Privacy and abuse limits: API keys, request body limits, no tensor payloads in logs."""

from ai_engine.privacy.auth import ApiKeyMiddleware, UnauthorizedError
from ai_engine.privacy.limits import BodyLimitMiddleware, PayloadTooLargeError
from ai_engine.privacy.redaction import RedactingFilter, install_redaction

__all__ = ["ApiKeyMiddleware", "UnauthorizedError", "BodyLimitMiddleware",
           "PayloadTooLargeError", "RedactingFilter", "install_redaction"]
