"""Keep tensor payloads and secrets out of logs; keep everything else readable.

The server never formats request or response bodies into log records; this filter is the
second line of defence for anything else (a library logging an exception that quotes a
value). It removes what is payload or secret, and only that:

- JSON ``"data": [...]`` arrays and NumPy ``array([...])`` reprs (tensor contents);
- long runs of numbers (a flattened tensor quoted in a message);
- credentials: ``Bearer <token>``, ``X-API-Key: <key>``, ``api_key=<key>``, and every API key
  the server was configured with, wherever it appears.

Model names, paths, versions, shapes and error reasons are what an operator needs to fix a
failed load, so they are left alone (an earlier rule that cut every long quoted string turned
``model 'resnet50': no version folder ... policy ('latest', 1)`` into
``model 'resnet50'<redacted>'latest', 1)``). Messages are capped in length so that a stray
payload stays bounded; the cap is far above any load-failure reason.
"""

from __future__ import annotations

import logging
import re

MAX_MESSAGE = 4000
_DATA = re.compile(r'("data"\s*:\s*)\[[^\]]*\]?')
_ARRAY = re.compile(r"\b(array\()\[[^\]]*\]?")
_NUMBERS = re.compile(r"(?:[-+]?\d[\d.eE+-]*[\s,;]+){8,}[-+]?\d[\d.eE+-]*")
_CREDENTIALS = re.compile(r"(?i)(bearer\s+|x-api-key['\"]?\s*[:=]\s*['\"]?|api[_-]?keys?['\"]?"
                          r"\s*[:=]\s*['\"]?)[^\s'\",;)\]}]+")


def redact(text: str, secrets=()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    text = _CREDENTIALS.sub(r"\1<secret>", text)
    text = _DATA.sub(r"\1[<redacted>]", text)
    text = _ARRAY.sub(r"\1[<redacted>]", text)
    text = _NUMBERS.sub("<redacted numbers>", text)
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + f"... <{len(text) - MAX_MESSAGE} chars cut>"
    return text


class RedactingFilter(logging.Filter):
    def __init__(self, secrets=()):
        super().__init__()
        # Longest first, so a key that contains another is replaced whole.
        self.secrets = tuple(sorted(secrets, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is still logged, without args
            message = str(record.msg)
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks quote exception messages, which may quote inputs: keep the type only.
            exc = record.exc_info[1]
            record.msg += f" [{type(exc).__name__}: {redact(str(exc), self.secrets)}]"
            record.exc_info, record.exc_text = None, None
        return True


def install_redaction(*logger_names: str, secrets=()) -> None:
    """Attach the filter to the given loggers and their handlers; ``secrets`` (the server's
    API keys) are replaced wherever they appear."""
    filt = RedactingFilter(secrets)
    for name in logger_names:
        logger = logging.getLogger(name)
        logger.addFilter(filt)
        for handler in logger.handlers:
            handler.addFilter(filt)
