"""The application factory: routes, error mapping, middleware, startup and shutdown.

Errors follow KServe V2 REST "Errors": any failure answers ``{"error": "<message>"}`` with
the status its :class:`EngineError` class carries; FastAPI's own request validation (a body
that is not the documented JSON) becomes a 400 naming the field, never a 422 or a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ai_engine import __version__
from ai_engine.demo import MODEL_PATH
from ai_engine.errors import EngineError
from ai_engine.network import api_v1, kserve_v2, metrics, openapi_doc
from ai_engine.network.dataplane import DataPlane
from ai_engine.network.http_util import (ClientDisconnected, JsonByDefaultMiddleware,
                                        error_response, json_response)
from ai_engine.network.repository import ModelRepository
from ai_engine.network.settings import Settings
from ai_engine.network.tensor_limits import TensorLimits
from ai_engine.privacy import ApiKeyMiddleware, BodyLimitMiddleware
from ai_engine.scheduler import BatchPolicy

log = logging.getLogger("ai_engine.network")

# nginx's convention for "client closed request": nobody reads it, but logs show the cause.
CLIENT_CLOSED = 499


def create_plane(settings: Settings, executor) -> DataPlane:
    builtin = {} if settings.model_repository else {settings.demo_model_name: MODEL_PATH}
    defaults = BatchPolicy(max_batch_size=settings.max_batch_size,
                           max_queue_delay_us=settings.max_queue_delay_us,
                           max_queue_size=settings.max_queue_size,
                           execution_timeout_s=settings.execution_timeout_s)
    repo = ModelRepository(settings.model_repository, builtin, executor, defaults)
    return DataPlane(repo, TensorLimits(settings.max_request_elements,
                                        settings.max_request_bytes))


def create_app(settings: Settings | None = None):
    """The ASGI app: FastAPI wrapped in the API-key and body-limit middlewares."""
    return build_app(settings or Settings.from_env())[0]


def build_app(settings: Settings) -> tuple:
    """``(ASGI app, DataPlane)``; the server process keeps the plane to drain it on SIGTERM."""
    executor = ThreadPoolExecutor(settings.threads, thread_name_prefix="ai-engine-infer")
    plane = create_plane(settings, executor)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async def startup_load():
            await plane.repository.load_all()
            plane.started = True

        plane.loop = asyncio.get_running_loop()
        # Background: the server answers (live, not ready) while models load.
        task = asyncio.create_task(startup_load())
        yield
        task.cancel()
        await plane.repository.close(settings.shutdown_grace_s)
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="ai-engine", version=__version__, lifespan=lifespan,
                  description="ONNX inference server: KServe V2 / Open Inference Protocol "
                              "(/v2) and the ai-engine API (/api/v1).")
    app.state.plane = plane
    app.include_router(kserve_v2.build_router(plane, settings.max_body_bytes))
    app.include_router(api_v1.build_router(plane))

    @app.get("/metrics", tags=["metrics"], summary="Prometheus metrics (Triton names)",
             responses=openapi_doc.answers(ok_media=(metrics.CONTENT_TYPE,)))
    async def prometheus_metrics():
        loaded = plane.repository.loaded()
        queued = {(mv.name, mv.version): mv.batcher.queued for mv in loaded if mv.batcher}
        return Response(metrics.render([mv.stats for mv in loaded], queued),
                        media_type=metrics.CONTENT_TYPE)

    _install_error_handlers(app)
    _install_openapi(app, bool(settings.all_api_keys()))
    wrapped = BodyLimitMiddleware(JsonByDefaultMiddleware(app), settings.max_body_bytes)
    return ApiKeyMiddleware(wrapped, settings.all_api_keys()), plane


def _install_openapi(app: FastAPI, api_keys: bool) -> None:
    """The published schema says what the server does (openapi_doc.finish)."""
    def schema():
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
            app.openapi_schema = openapi_doc.finish(
                spec, [openapi_doc.InferRequestBody, openapi_doc.IndexRequest], api_keys)
        return app.openapi_schema
    app.openapi = schema


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EngineError)
    async def engine_error(_request: Request, exc: EngineError):
        if exc.http_status >= 500:
            log.warning("%s: %s", type(exc).__name__, exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                             for e in exc.errors()[:5])
        return json_response({"error": f"invalid request body: {problems}"}, 400)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        if isinstance(exc.__cause__, EngineError):  # raised while FastAPI read the body
            return error_response(exc.__cause__)
        return json_response({"error": str(exc.detail)}, exc.status_code)

    @app.exception_handler(ClientDisconnected)
    async def disconnected(_request: Request, _exc: ClientDisconnected):
        return json_response({"error": "client disconnected"}, CLIENT_CLOSED)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):
        # A bug, not bad input: say so without echoing values that may be payload.
        log.error("internal error: %s", type(exc).__name__, exc_info=exc)
        return json_response({"error": f"internal error ({type(exc).__name__})"}, 500)

