"""The ai-engine command: demo run, run with inputs, inspect, info, bench, errors."""

import numpy as np
import onnx
import pytest
from onnx import helper

from ai_engine.cli import main
from builders import make_model, tensor_info


@pytest.fixture
def relu_path(tmp_path):
    model = make_model([helper.make_node("Relu", ["x"], ["y"])],
                       [tensor_info("x", shape=["n", 3])], [tensor_info("y", shape=["n", 3])])
    path = tmp_path / "relu.onnx"
    onnx.save(model, path)
    return path


def test_demo_runs_with_no_arguments(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "true label" in out and "correct" in out
    correct, total = out.strip().splitlines()[-1].split()[0].split("/")
    assert int(correct) >= int(total) - 2


def test_run_with_input_and_output(relu_path, tmp_path, capsys):
    x = np.array([[-1, 0, 2]], np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npz"
    assert main(["run", str(relu_path), "--input", f"x={tmp_path / 'x.npy'}", "-o", str(out)]) == 0
    with np.load(out) as data:
        np.testing.assert_array_equal(data["y"], [[0, 0, 2]])


def test_run_random_inputs_says_so(relu_path, capsys):
    assert main(["run", str(relu_path)]) == 0
    assert "random inputs" in capsys.readouterr().err


def test_inspect(relu_path, capsys):
    assert main(["inspect", str(relu_path)]) == 0
    out = capsys.readouterr().out
    assert "ai.onnx:17" in out and "Relu" in out and "[n, 3]" in out


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "blas" in out and "simd" in out
    tiers = next(line for line in out.splitlines() if line.startswith("tiers"))
    assert "blas:" in tiers and "kernel" in tiers and "numba:" in tiers and "cupy:" in tiers


def test_bench_demo(capsys):
    assert main(["bench", "--runs", "5", "--no-ort", "--engines", "ai-engine"]) == 0
    out = capsys.readouterr().out
    assert "| ai-engine median ms (p90) |" in out and "| digits_mlp.onnx |" in out
    assert "create ms (ai-engine)" in out


def test_bench_checks_outputs_against_onnxruntime(capsys):
    pytest.importorskip("onnxruntime")
    assert main(["bench", "--runs", "5", "--engines", "ai-engine,onnxruntime"]) == 0
    assert "ai-engine ok" in capsys.readouterr().out


def test_bench_rejects_an_unknown_engine(capsys):
    assert main(["bench", "--engines", "ai-engine,tvm"]) == 2
    assert "unknown engine(s) tvm" in capsys.readouterr().err


@pytest.mark.parametrize("argv, named", [(["run", "/no/model.onnx"], "/no/model.onnx"),
                                         (["inspect", "/no/model.onnx"], "/no/model.onnx"),
                                         (["run", "--bogus"], "--bogus"),
                                         (["frobnicate"], "frobnicate")])
def test_errors_exit_2_with_one_line(argv, named, capsys):
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ai-engine: error:") and "\n" not in err
    assert named in err  # the line names what was wrong


def _exit_code(argv) -> int:
    """What the process would exit with: main's return, or the SystemExit argparse raises."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_simple_inference_example_runs():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, os.path.join(root, "examples", "simple_inference.py")],
                         capture_output=True, text=True, check=True).stdout
    assert "accuracy on 16 samples" in out
