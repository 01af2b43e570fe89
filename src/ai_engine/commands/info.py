"""``ai-engine info``: version, NumPy and its BLAS, the CPU's SIMD features, the GPU."""

from __future__ import annotations

import platform


def add_info(sub) -> None:
    p = sub.add_parser("info", help="show the engine version, BLAS, CPU features and GPU")
    p.set_defaults(handler=info_command)


def info_command(args) -> int:
    from ai_engine import __version__
    from ai_engine.core import cpu
    from ai_engine.engine import registry

    s = cpu.summary()
    ops = registry.registered_ops()
    print(f"ai-engine {__version__} (Python {platform.python_version()})")
    print(f"numpy       {s['numpy']}")
    for b in s["blas"] or [{"library": "unknown"}]:
        print(f"blas        {b['library']} {b.get('version') or ''} kernel={b.get('kernel')} "
              f"threads={b.get('threads')}")
    print(f"cpu         {s['cpu']} ({s['cores']} cores)")
    print(f"simd        {' '.join(s['simd']) or 'none detected'}")
    print(f"compiled    {s['compiled']}")
    print(f"gpu         {s['gpu']}")
    print(f"operators   {len(ops)} (domain, op) pairs registered")
    return 0
