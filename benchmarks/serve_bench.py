"""Serving benchmark: ai-engine's server vs a minimal onnxruntime-behind-FastAPI server.

Both servers run in the same invocation, on loopback, with the same models and the same
KServe V2 JSON requests (``POST /v2/models/{m}/infer``). Each is driven at concurrency 1, 8
and 32 for a fixed time; the table shows throughput and p50/p99 latency side by side.
The baseline has no batching and no validation beyond what onnxruntime does itself: it is
the cost floor of "FastAPI + JSON + a model", not a full server.

    python benchmarks/serve_bench.py [--seconds 3] [--models digits tiny_resnet]

Not a test: the numbers depend on the machine; on a shared 2-core box read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np
import orjson
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = {"digits": None, "tiny_resnet": os.path.join(ROOT, "tests/models/data/tiny_resnet.onnx")}


def baseline_app(repo: str):
    """The baseline: onnxruntime sessions behind the smallest KServe-shaped FastAPI app."""
    import onnxruntime as ort

    sessions = {name: ort.InferenceSession(os.path.join(repo, name, "1", "model.onnx"),
                                           providers=["CPUExecutionProvider"])
                for name in os.listdir(repo)}
    app = FastAPI()

    @app.get("/v2/health/ready")
    async def ready():
        return {}

    @app.post("/v2/models/{model}/infer")
    async def infer(model: str, request: Request):
        doc = orjson.loads(await request.body())
        feeds = {t["name"]: np.asarray(t["data"], np.float32).reshape(t["shape"])
                 for t in doc["inputs"]}
        sess = sessions[model]
        outs = await run_in_threadpool(sess.run, None, feeds)
        body = {"model_name": model, "outputs": [
            {"name": o.name, "shape": list(v.shape), "datatype": "FP32", "data": v.ravel()}
            for o, v in zip(sess.get_outputs(), outs)]}
        return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
                        media_type="application/json")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{cmd[:4]} did not become ready")


def make_repo(names: list[str]) -> str:
    from ai_engine.demo import MODEL_PATH

    repo = tempfile.mkdtemp(prefix="serve_bench_")
    for name in names:
        os.makedirs(os.path.join(repo, name, "1"))
        shutil.copy(MODELS[name] or MODEL_PATH, os.path.join(repo, name, "1", "model.onnx"))
    return repo


def request_body(path: str) -> bytes:
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    inits = {i.name for i in graph.initializer}
    inputs = []
    for inp in graph.input:
        if inp.name in inits:
            continue
        shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
        data = np.random.default_rng(0).random(shape, dtype=np.float32)
        inputs.append({"name": inp.name, "shape": shape, "datatype": "FP32",
                       "data": data.ravel().tolist()})
    return orjson.dumps({"inputs": inputs})


async def drive(url: str, body: bytes, concurrency: int, seconds: float):
    latencies, errors = [], 0
    deadline = time.perf_counter() + seconds

    async def worker(client):
        nonlocal errors
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            r = await client.post(url, content=body, headers={"content-type":
                                                               "application/json"})
            if r.status_code == 200:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    if not latencies:
        return None
    lat = np.array(latencies) * 1000
    return len(lat) / elapsed, np.percentile(lat, 50), np.percentile(lat, 99), errors


def fmt(result) -> str:
    if result is None:
        return "n/a | n/a | n/a"
    rps, p50, p99, errors = result
    return f"{rps:.0f} | {p50:.1f} | {p99:.1f}" + (f" ({errors} err)" if errors else "")


def run(args) -> None:
    repo = make_repo(args.models)
    ours_port, base_port = free_port(), free_port()
    ours = start([sys.executable, "-m", "ai_engine.cli", "serve", "--model-repository", repo,
                  "--port", str(ours_port), "--log-level", "warning"], ours_port)
    base = start([sys.executable, __file__, "--baseline", repo, "--port", str(base_port)],
                 base_port)
    rows = []
    try:
        for name in args.models:
            body = request_body(os.path.join(repo, name, "1", "model.onnx"))
            ready = httpx.get(f"http://127.0.0.1:{ours_port}/v2/models/{name}/ready")
            for conc in (1, 8, 32):
                a = asyncio.run(drive(f"http://127.0.0.1:{ours_port}/v2/models/{name}/infer",
                                      body, conc, args.seconds)) \
                    if ready.status_code == 200 else None
                b = asyncio.run(drive(f"http://127.0.0.1:{base_port}/v2/models/{name}/infer",
                                      body, conc, args.seconds))
                ratio = f"{a[0] / b[0]:.2f}" if a and b else "n/a"
                rows.append(f"| {name} | {conc} | {fmt(a)} | {fmt(b)} | {ratio} |")
            if ready.status_code != 200:
                rows.append(f"| {name} | - | not served: {ready.json().get('error', '')[:120]} "
                            f"| | | | | | |")
    finally:
        for proc in (ours, base):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(repo, ignore_errors=True)
    print("| model | concurrency | ai-engine req/s | p50 ms | p99 ms | ort+FastAPI req/s "
          "| p50 ms | p99 ms | throughput ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3.0, help="per concurrency level")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--baseline", metavar="REPO", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.baseline:
        import uvicorn

        uvicorn.run(baseline_app(args.baseline), host="127.0.0.1", port=args.port,
                    log_level="warning")
        return
    run(args)


if __name__ == "__main__":
    main()
