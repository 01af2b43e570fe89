"""Client programs written for onnxruntime, run unchanged on onnxruntime and on ai-engine
(each in its own interpreter), with the same results.

Each client in ``clients/`` imports ``onnxruntime`` the way a popular package does
(provider queries, logger calls, capi imports and exception classes, session options,
``run`` with output names, OrtValue / IOBinding / run_with_ort_values) and saves what it
computed; floats must agree to 1e-4 relative / 1e-5 absolute, everything else exactly
(uint8 masks to one step of rounding).
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from compat_models import build_all

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "clients")) if f.endswith(".py"))
SRC = os.path.join(os.path.dirname(os.path.dirname(HERE)), "src")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_all(str(tmp_path_factory.mktemp("compat_models")))


def run_client(engine: str, client: str, model_dir: str, work) -> dict:
    work.mkdir(exist_ok=True)
    out = str(work / "result.npz")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [SRC] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "run_client.py"), engine,
         os.path.join(HERE, "clients", f"{client}.py"), model_dir, out],
        capture_output=True, text=True, timeout=300, env=env, cwd=str(work))
    assert proc.returncode == 0, f"{client} on {engine} failed:\n{proc.stderr[-3000:]}"
    with np.load(out, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def assert_same(ours: dict, theirs: dict) -> None:
    assert sorted(ours) == sorted(theirs)
    for key, expected in theirs.items():
        got = ours[key]
        assert got.shape == expected.shape and got.dtype == expected.dtype, key
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=key)
        elif expected.dtype == np.uint8:
            assert np.abs(got.astype(int) - expected.astype(int)).max(initial=0) <= 1, key
        else:
            np.testing.assert_array_equal(got, expected, err_msg=key)


@pytest.mark.parametrize("client", CLIENTS)
def test_client_gives_onnxruntimes_results(client, model_dir, tmp_path):
    theirs = run_client("onnxruntime", client, model_dir, tmp_path / "onnxruntime")
    ours = run_client("ai_engine", client, model_dir, tmp_path / "ai_engine")
    assert_same(ours, theirs)


def test_install_as_onnxruntime_runs_the_capi_client(model_dir, tmp_path):
    theirs = run_client("onnxruntime", "nudenet_like", model_dir, tmp_path / "onnxruntime")
    ours = run_client("ai_engine_installed", "nudenet_like", model_dir, tmp_path / "ours")
    assert_same(ours, theirs)
