"""Log severities as onnxruntime numbers them, on Python's ``logging``.

onnxruntime's levels are 0 verbose, 1 info, 2 warning, 3 error, 4 fatal; a session emits a
line only at or above its ``log_severity_level`` (default: the process default, 2, which
``set_default_logger_severity`` changes). Lines go to the ``ai_engine`` logger; when a user
asks for verbose or info lines and has not configured logging, a stderr handler is added so
that they appear, as onnxruntime's do.
"""

from __future__ import annotations

import logging

_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR,
           4: logging.CRITICAL}
_default_severity = 2
logger = logging.getLogger("ai_engine")


def check_severity(level) -> int:
    if isinstance(level, bool) or int(level) != level or not 0 <= int(level) <= 4:
        raise ValueError(f"log severity level must be 0 (verbose) to 4 (fatal), got {level!r}")
    return int(level)


def set_default_severity(level: int) -> None:
    global _default_severity
    _default_severity = check_severity(level)


def default_severity() -> int:
    return _default_severity


def _ensure_visible(severity: int) -> None:
    if severity < 2 and not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > _LEVELS[severity]:
        logger.setLevel(_LEVELS[severity])


class SessionLog:
    """The log of one session (or run): emits at or above ``severity``, tagged ``logid``."""

    __slots__ = ("severity", "logid")

    def __init__(self, severity: int | None = None, logid: str = ""):
        unset = severity is None or severity == -1
        self.severity = default_severity() if unset else check_severity(severity)
        self.logid = logid
        if self.severity < 2:
            _ensure_visible(self.severity)

    def log(self, severity: int, message: str, *args) -> None:
        if severity >= self.severity:
            prefix = f"[{self.logid}] " if self.logid else ""
            logger.log(_LEVELS[severity], prefix + message, *args)
