"""Run one client program with onnxruntime or with ai-engine standing in for it.

    python run_client.py {onnxruntime|ai_engine|ai_engine_installed} CLIENT.py MODEL_DIR OUT.npz

``ai_engine``: ``sys.modules["onnxruntime"] = ai_engine``, as a user switching by hand does;
``ai_engine_installed``: ``ai_engine.install_as_onnxruntime()``. The client then imports
``onnxruntime`` as it always does and never knows which it got.
"""

import runpy
import sys


def main(engine, client, *args):
    if engine in ("ai_engine", "ai_engine_installed"):
        import ai_engine

        if engine == "ai_engine":
            sys.modules["onnxruntime"] = ai_engine
        else:
            ai_engine.install_as_onnxruntime()
    elif engine != "onnxruntime":
        raise SystemExit(f"unknown engine {engine!r}")
    sys.argv = [client, *args]
    runpy.run_path(client, run_name="__main__")


if __name__ == "__main__":
    main(*sys.argv[1:])
