"""``ai-engine serve``: settings from the environment and flags, then uvicorn."""

from __future__ import annotations

import logging

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
        log_level=getattr(args, "log_level", None))


def main(args) -> int:
    import uvicorn

    from ai_engine.network.app import create_app

    from threadpoolctl import threadpool_limits

    settings = settings_from_args(args)
    threadpool_limits(limits=settings.blas_threads(), user_api="blas")
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port,
                            log_level=settings.log_level, lifespan="on",
                            timeout_graceful_shutdown=5)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s %(message)s"))
    engine_log = logging.getLogger("ai_engine")
    engine_log.addHandler(handler)
    engine_log.setLevel(settings.log_level.upper())
    # Not uvicorn.access: its records hold only client, method, path and status, and its
    # formatter needs their args intact.
    install_redaction("ai_engine", "uvicorn", "uvicorn.error",
                      secrets=settings.all_api_keys())
    uvicorn.Server(config).run()
    return 0
