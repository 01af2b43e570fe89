"""Start the real ``ai-engine serve`` process on a free loopback port, and build test repos."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np
from onnx import TensorProto, helper, numpy_helper

HOST = "127.0.0.1"

DTYPES = {  # KServe datatype -> ONNX element type
    "BOOL": TensorProto.BOOL, "UINT8": TensorProto.UINT8, "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32, "UINT64": TensorProto.UINT64, "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16, "INT32": TensorProto.INT32, "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16, "FP32": TensorProto.FLOAT, "FP64": TensorProto.DOUBLE,
    "BF16": TensorProto.BFLOAT16, "BYTES": TensorProto.STRING,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """``python -m ai_engine.cli serve ...`` in a subprocess; ready once /v2/health/ready."""

    def __init__(self, *args: str, env: dict | None = None, port: int | None = None,
                 ready_timeout: float = 60.0):
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_file = tempfile.NamedTemporaryFile(prefix="ai_engine_server_", suffix=".log",
                                                    delete=False)
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        cmd = [sys.executable, "-m", "ai_engine.cli", "serve", *args]
        if port is None and "AI_ENGINE_PORT" not in (env or {}):
            cmd += ["--port", str(self.port), "--host", HOST]
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     env=full_env)
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        with open(self.log_file.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        os.unlink(self.log_file.name)


# -- models -------------------------------------------------------------------------------
def _model(nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "test", inputs, outputs,
                              initializer=[numpy_helper.from_array(np.asarray(v), n)
                                           for n, v in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def identity_model(elem_type: int, shape=("batch", 3)):
    """y = Where(True, x, x): an identity for every element type (strings included)."""
    return _model([helper.make_node("Where", ["c", "x", "x"], ["y"])],
                  [helper.make_tensor_value_info("x", elem_type, list(shape))],
                  [helper.make_tensor_value_info("y", elem_type, list(shape))],
                  [("c", np.array(True))])


def affine_model(scale: float = 1.0, offset: float = 1.0, shape=("batch", 4)):
    """y = x * scale + offset, float32."""
    return _model([helper.make_node("Mul", ["x", "s"], ["t"]),
                   helper.make_node("Add", ["t", "o"], ["y"])],
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
                  [("s", np.float32(scale)), ("o", np.float32(offset))])


def two_input_model():
    return _model([helper.make_node("Add", ["a", "b"], ["sum"]),
                   helper.make_node("Relu", ["sum"], ["relu"])],
                  [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 2]),
                   helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 2])],
                  [helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", 2]),
                   helper.make_tensor_value_info("relu", TensorProto.FLOAT, ["batch", 2])])


def big_model(megabytes: int = 100):
    """y = x + W[0:1]: a float32 initializer of ``megabytes`` MB, to measure unloading."""
    rows = megabytes * (1 << 20) // (4 * 256)
    weight = np.random.default_rng(0).random((rows, 256), dtype=np.float32)
    return _model([helper.make_node("Add", ["x", "w"], ["y"])],
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, 256])],
                  [("w", weight)])


LOOP_TRIP_COUNT = 10 ** 12


def counting_loop_model(batch_dim: bool = False):
    """A Loop of trip count 10**12 that counts up to ``stop`` (an input) and stops there.

    ``count = stop * 0 + iterations``: with a huge ``stop`` one run would take days, with a
    small one it answers at once (and warm-up, on zeros, runs one iteration). With
    ``batch_dim`` the input is ``[batch]`` (the loop runs to the largest stop), else ``[1]``.
    """
    dim = ["batch"] if batch_dim else [1]
    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    body = helper.make_graph(
        [helper.make_node("Constant", [], ["one"], value=one),
         helper.make_node("Add", ["v_in", "one"], ["v_out"]),
         helper.make_node("Less", ["v_out", "limit"], ["cond_vec"]),
         helper.make_node("Squeeze", ["cond_vec"], ["cond_out"])],
        "count",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.INT64, [1])])
    return _model([helper.make_node("ReduceMax", ["stop"], ["limit"], keepdims=1),
                   helper.make_node("Loop", ["trips", "go", "zero"], ["v"], body=body),
                   helper.make_node("Mul", ["stop", "nought"], ["z"]),
                   helper.make_node("Add", ["z", "v"], ["count"])],
                  [helper.make_tensor_value_info("stop", TensorProto.INT64, dim)],
                  [helper.make_tensor_value_info("count", TensorProto.INT64, dim)],
                  [("trips", np.array(LOOP_TRIP_COUNT, np.int64)), ("go", np.array(True)),
                   ("zero", np.zeros(1, np.int64)), ("nought", np.int64(0))])


def add_model(repo: str, name: str, model, versions=(1,), config: str | dict | None = None):
    for v in versions:
        os.makedirs(os.path.join(repo, name, str(v)), exist_ok=True)
        data = model(v).SerializeToString() if callable(model) else (
            model if isinstance(model, bytes) else model.SerializeToString())
        with open(os.path.join(repo, name, str(v), "model.onnx"), "wb") as f:
            f.write(data)
    if isinstance(config, dict):
        with open(os.path.join(repo, name, "config.json"), "w") as f:
            json.dump(config, f)
    elif config is not None:
        with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
            f.write(config)


SLOW = """max_batch_size: 64
dynamic_batching { max_queue_delay_microseconds: 1500000 %s }
"""


def build_test_repo(repo: str) -> str:
    """Every model the server tests use: one per datatype plus scheduling fixtures."""
    for datatype, elem in DTYPES.items():
        add_model(repo, f"id_{datatype.lower()}", identity_model(elem))
    add_model(repo, "affine", affine_model())
    add_model(repo, "batched", affine_model(2.0, 0.5),
              config={"max_batch_size": 32, "dynamic_batching": {
                  "max_queue_delay_microseconds": 300000, "preferred_batch_size": [32]}})
    add_model(repo, "multi", lambda v: affine_model(float(v), 0.0), versions=(1, 2, 3),
              config="version_policy: { specific: { versions: [1, 3] } }\n")
    add_model(repo, "twoin", two_input_model())
    add_model(repo, "fixed", affine_model(shape=(2, 3)), config="max_batch_size: 0\n")
    add_model(repo, "broken", b"this is not an onnx model")
    for name in ("slow_timeout", "slow_cancel"):
        add_model(repo, name, affine_model(), config=SLOW % "")
    add_model(repo, "slow_full", affine_model(),
              config=SLOW % "default_queue_policy { max_queue_size: 2 }")
    for name in ("cycle", "inflight"):
        add_model(repo, name, affine_model())
    add_symlinked_model(repo, "linked", affine_model(4.0, 0.0))
    return repo


def add_symlinked_model(repo: str, name: str, model) -> str:
    """``<repo>/<name>/1/model.onnx`` as a symlink to a file outside the repository (a shared
    model store, a Kubernetes volume mount)."""
    store = repo.rstrip(os.sep) + "_store"
    os.makedirs(store, exist_ok=True)
    target = os.path.join(store, f"{name}.onnx")
    with open(target, "wb") as f:
        f.write(model.SerializeToString())
    os.makedirs(os.path.join(repo, name, "1"), exist_ok=True)
    os.symlink(target, os.path.join(repo, name, "1", "model.onnx"))
    return target
