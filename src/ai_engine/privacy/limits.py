"""Request body size limit: 413 before a large body is buffered, whatever its framing.

A declared ``Content-Length`` over the limit is refused at once; a chunked body is counted as
it streams and refused when it crosses the limit (raised from ``receive`` inside the handler,
mapped to 413 by the app's error handler). Decompressed sizes are limited separately by the
codec, so a small gzip bomb is refused as well.
"""

from __future__ import annotations

import orjson

from ai_engine.errors import EngineError


class PayloadTooLargeError(EngineError):
    http_status = 413


class BodyLimitMiddleware:
    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _refuse(send, self.limit)
                return
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLargeError(too_large(self.limit))
            return message

        await self.app(scope, counting_receive, send)


def too_large(limit: int) -> str:
    return f"request body larger than the server's limit of {limit} bytes"


async def _refuse(send, limit: int) -> None:
    body = orjson.dumps({"error": too_large(limit)})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
