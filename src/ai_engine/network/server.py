"""``ai-engine serve``: settings from the environment and flags, then uvicorn."""

from __future__ import annotations

import logging

import uvicorn
from threadpoolctl import threadpool_limits

from ai_engine.network.app import build_app
from ai_engine.network.settings import Settings
from ai_engine.privacy import install_redaction


def settings_from_args(args) -> Settings:
    keys = getattr(args, "api_key", None)
    return Settings.from_env().override(
        model_repository=getattr(args, "model_repository", None),
        host=getattr(args, "host", None), port=getattr(args, "port", None),
        threads=getattr(args, "threads", None),
        intra_op_threads=getattr(args, "intra_op_threads", None),
        api_keys=tuple(keys) if keys else None,
        api_keys_file=getattr(args, "api_keys_file", None),
        max_body_bytes=getattr(args, "max_body_bytes", None),
        max_batch_size=getattr(args, "max_batch_size", None),
        max_queue_delay_us=getattr(args, "max_queue_delay_us", None),
        max_queue_size=getattr(args, "max_queue_size", None),
        execution_timeout_s=getattr(args, "execution_timeout_s", None),
        shutdown_grace_s=getattr(args, "shutdown_grace_s", None),
        max_request_elements=getattr(args, "max_request_elements", None),
        max_request_bytes=getattr(args, "max_request_bytes", None),
        log_level=getattr(args, "log_level", None))


def main(args) -> int:
    settings = settings_from_args(args)
    threadpool_limits(limits=settings.blas_threads(), user_api="blas")
    app, plane = build_app(settings)
    # uvicorn cancels the requests still open after its own graceful timeout; ours stops
    # their runs first (DataPlane.drain), so they are answered 503 rather than dropped.
    config = uvicorn.Config(app, host=settings.host, port=settings.port,
                            log_level=settings.log_level, lifespan="on",
                            timeout_graceful_shutdown=settings.shutdown_grace_s + 2)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s %(message)s"))
    engine_log = logging.getLogger("ai_engine")
    engine_log.addHandler(handler)
    engine_log.setLevel(settings.log_level.upper())
    # Not uvicorn.access: its records hold only client, method, path and status, and its
    # formatter needs their args intact.
    install_redaction("ai_engine", "uvicorn", "uvicorn.error",
                      secrets=settings.all_api_keys())
    _DrainingServer(config, plane, settings.shutdown_grace_s).run()
    return 0


class _DrainingServer(uvicorn.Server):
    """uvicorn's Server, which on SIGTERM/SIGINT also starts draining the data plane.

    The shutdown is bounded: requests in flight get ``grace_s``, then their runs are stopped
    between nodes and answered 503 (DataPlane.drain); uvicorn cancels what is left after its
    own timeout, runs the lifespan shutdown, and re-raises the signal, so the process ends
    as SIGTERM-terminated even if a thread is still inside one long kernel.
    """

    def __init__(self, config: uvicorn.Config, plane, grace_s: float):
        super().__init__(config)
        self.plane = plane
        self.grace_s = grace_s

    def handle_exit(self, sig, frame) -> None:
        if not self.should_exit and self.plane.loop is not None:
            self.plane.drain(self.grace_s)
        super().handle_exit(sig, frame)
