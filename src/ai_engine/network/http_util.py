"""The HTTP glue the route modules share: JSON responses, bodies, client disconnects."""

from __future__ import annotations

import asyncio
import zlib

import orjson
from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from ai_engine.errors import EngineError
from ai_engine.network.codec_kserve import parse_json
from ai_engine.network.errors import BadRequestError, UnsupportedError
from ai_engine.privacy.limits import PayloadTooLargeError, too_large


def json_response(obj, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json", headers=headers)


def error_response(exc: EngineError) -> Response:
    return json_response({"error": str(exc)}, status=exc.http_status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, inflated when ``Content-Encoding`` is gzip or deflate.

    tritonclient sends ``Content-Encoding: gzip|deflate`` when asked to compress; the
    inflated size is held to the same limit as the raw body so compression cannot bypass it.
    """
    body = await request.body()
    encoding = request.headers.get("content-encoding", "identity").lower().strip()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedError(f"Content-Encoding {encoding!r} is not supported; use gzip, "
                               f"deflate or none")
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        out = inflater.decompress(body, limit + 1 if limit > 0 else 0)
    except zlib.error as exc:
        raise BadRequestError(f"the {encoding} body cannot be decompressed: {exc}") from None
    if limit > 0 and (len(out) > limit or inflater.unconsumed_tail):
        raise PayloadTooLargeError(too_large(limit) + " (after decompression)")
    # zlib reports no error for a stream that just stops: a truncated or garbled body would
    # otherwise reach the JSON parser as a shorter document.
    if not inflater.eof:
        raise BadRequestError(f"the {encoding} body cannot be decompressed: the stream is "
                              f"truncated or corrupt ({len(body)} bytes, no end of stream)")
    if inflater.unused_data:
        raise BadRequestError(f"the {encoding} body has {len(inflater.unused_data)} bytes "
                              f"after the end of its compressed stream")
    return out


class StrictJsonRequest(Request):
    """A request whose JSON body is parsed by orjson: strict RFC 8259 (no NaN, Infinity or
    numbers that overflow a double) and a nesting limit, where ``json.loads`` (FastAPI's
    default) takes NaN and Infinity as numbers and recurses as deep as the body goes."""

    async def json(self):
        if not hasattr(self, "_strict_json"):
            self._strict_json = parse_json(await self.body())
        return self._strict_json


class StrictJsonRoute(APIRoute):
    """Route class for JSON-body endpoints: their bodies go through :class:`StrictJsonRequest`
    (a parse error arrives at the app's HTTPException handler as the cause: a 400 naming it)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict_handler(request: Request):
            return await handler(StrictJsonRequest(request.scope, request.receive))
        return strict_handler


class ClientDisconnected(Exception):
    """The client went away before its answer was ready."""


async def _wait_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, coro):
    """Await ``coro``; cancel it if the client disconnects first (its queued work is dropped).

    After the body is read, the ASGI ``receive`` blocks until the connection closes, so a
    second task watching it learns of a disconnect without polling.
    """
    work = asyncio.ensure_future(coro)
    watch = asyncio.ensure_future(_wait_disconnect(request))
    try:
        await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not work.done():
            work.cancel()
        watch.cancel()
    if work.cancelled() or not work.done():
        try:
            await work
        except asyncio.CancelledError:
            pass
        raise ClientDisconnected()
    return work.result()


class JsonByDefaultMiddleware:
    """Treat ``/api/v1`` request bodies as JSON whatever their Content-Type says.

    ``curl -d '{...}'`` sends ``application/x-www-form-urlencoded``; the seed's examples use
    plain curl, so the JSON API must not answer those with a validation error.
    """

    def __init__(self, app, prefix: str = "/api/v1"):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.prefix) \
                and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = dict(scope, headers=headers + [(b"content-type", b"application/json")])
        await self.app(scope, receive, send)
