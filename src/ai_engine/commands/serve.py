"""``ai-engine serve``: the HTTP server (seed /api/v1 and KServe V2 /v2).

With no arguments it serves the built-in demo model as ``digits`` on 127.0.0.1:8080. Every
option can also come from an ``AI_ENGINE_*`` environment variable (see
``ai_engine.network.settings``); a flag wins over the environment.
"""

from __future__ import annotations


def add_serve(sub) -> None:
    p = sub.add_parser("serve", help="serve models over HTTP (KServe V2 and /api/v1)")
    p.add_argument("--model-repository", metavar="DIR",
                   help="Triton-style model repository <DIR>/<model>/<version>/model.onnx "
                        "(default: serve the demo model as 'digits')")
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8080)")
    p.add_argument("--threads", "--workers", dest="threads", type=int, default=None,
                   help="inference worker threads (default: CPU count)")
    p.add_argument("--intra-op-threads", type=int, default=None,
                   help="BLAS threads per inference (default: CPU count / worker threads)")
    p.add_argument("--api-key", action="append", default=None, metavar="KEY",
                   help="require this API key (Bearer or X-API-Key); repeatable")
    p.add_argument("--api-keys-file", metavar="FILE", help="file of API keys, one a line")
    p.add_argument("--max-body-bytes", type=int, default=None,
                   help="refuse larger request bodies with 413 (default 64 MiB)")
    p.add_argument("--max-batch-size", type=int, default=None,
                   help="dynamic batching: rows per run for models without a config "
                        "(default 8)")
    p.add_argument("--max-queue-delay-us", type=int, default=None,
                   help="dynamic batching: longest wait for more requests (default 0)")
    p.add_argument("--max-queue-size", type=int, default=None,
                   help="requests waiting per model before 429 (default 256)")
    p.add_argument("--execution-timeout-s", type=float, default=None, metavar="SECONDS",
                   help="longest run for a request that sets no timeout; 0: no limit "
                        "(default 60)")
    p.add_argument("--shutdown-grace-s", type=float, default=None, metavar="SECONDS",
                   help="on SIGTERM, time given to requests in flight before their runs are "
                        "stopped (default 5)")
    p.add_argument("--max-request-elements", type=int, default=None,
                   help="refuse (413) a request whose inputs declare more elements "
                        "(default 67108864)")
    p.add_argument("--max-request-bytes", type=int, default=None,
                   help="refuse (413) a request whose inputs declare more tensor bytes "
                        "(default 268435456)")
    p.add_argument("--log-level", default=None,
                   choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(handler=serve_command)


def serve_command(args) -> int:
    try:
        from ai_engine.network.server import main as serve_main
    except ImportError as exc:
        raise ValueError(f"the server needs the 'server' extra "
                         f"(pip install 'ai-engine[server]'): {exc}") from None
    return serve_main(args)
