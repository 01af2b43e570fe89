"""Optional API keys: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware, which hides client disconnects
from the handlers). Health endpoints stay open so load balancers and orchestrators can probe
without secrets (KServe V2 "Health": live/ready carry no data). Keys are compared in constant
time.
"""

from __future__ import annotations

import hmac

import orjson

from ai_engine.errors import EngineError

OPEN_PATHS = ("/v2/health/", "/api/v1/health")


class UnauthorizedError(EngineError):
    http_status = 401


def _presented(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    keys = []
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            keys.append(value[7:].strip())
        elif name == b"x-api-key":
            keys.append(value.strip())
    return keys


class ApiKeyMiddleware:
    def __init__(self, app, keys: frozenset[str]):
        self.app = app
        self.keys = [k.encode() for k in keys]

    def allowed(self, headers) -> bool:
        return any(hmac.compare_digest(p, k) for p in _presented(headers) for k in self.keys)

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or not self.keys
                or scope["path"].startswith(OPEN_PATHS) or self.allowed(scope["headers"])):
            await self.app(scope, receive, send)
            return
        body = orjson.dumps({"error": "missing or invalid API key: send 'Authorization: "
                                      "Bearer KEY' or 'X-API-Key: KEY'"})
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})
