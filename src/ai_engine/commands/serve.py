"""``ai-engine serve``: the HTTP server (seed /api/v1 and KServe V2 /v2)."""

from __future__ import annotations


def add_serve(sub) -> None:
    p = sub.add_parser("serve", help="serve models over HTTP (KServe V2 and /api/v1)")
    p.add_argument("--model-repository", help="Triton-style model repository directory")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(handler=serve_command)


def serve_command(args) -> int:
    try:
        from ai_engine.network.server import main as serve_main
    except ImportError as exc:
        raise ValueError(f"the server needs the 'server' extra "
                         f"(pip install 'ai-engine[server]'): {exc}") from None
    return serve_main(args)
