"""Keep tensor payloads out of logs.

The server never formats request or response bodies into log records; this filter is the
second line of defence for anything else (a library logging an exception that quotes a
value): JSON ``"data": [...]`` arrays and long runs of numbers are replaced by a marker, and
every message is capped in length.
"""

from __future__ import annotations

import logging
import re

MAX_MESSAGE = 400
_DATA = re.compile(r'("data"\s*:\s*)\[[^\]]*\]?')
_NUMBERS = re.compile(r"(?:[-+]?\d[\d.eE+-]*[\s,;]+){8,}[-+]?\d[\d.eE+-]*")
# Long quoted strings may be quoted input values; file paths (leading '/') are kept.
_QUOTED = re.compile(r"'(?!/)[^']{32,}'|\"(?!/)[^\"]{32,}\"")


def redact(text: str) -> str:
    text = _DATA.sub(r"\1[<redacted>]", text)
    text = _NUMBERS.sub("<redacted numbers>", text)
    text = _QUOTED.sub("'<redacted>'", text)
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + f"... <{len(text) - MAX_MESSAGE} chars cut>"
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is still logged, without args
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks quote exception messages, which may quote inputs: keep the type only.
            exc = record.exc_info[1]
            record.msg += f" [{type(exc).__name__}: {redact(str(exc))}]"
            record.exc_info, record.exc_text = None, None
        return True


def install_redaction(*logger_names: str) -> None:
    """Attach the filter to the given loggers and their handlers."""
    filt = RedactingFilter()
    for name in logger_names:
        logger = logging.getLogger(name)
        logger.addFilter(filt)
        for handler in logger.handlers:
            handler.addFilter(filt)
