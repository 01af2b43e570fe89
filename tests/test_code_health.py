"""The code stays one the next engineer can carry on: lint-clean, small files, no dead code.

These run the project's own linters as tests, so the README's one test command checks them on
every machine; each failure names the files and lines to fix.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = ["src", "tests", "scripts", "benchmarks", "examples"]
MAX_LINES = 400            # a module longer than this holds more than one thing
WHITELIST = ROOT / "tests" / "vulture_whitelist.py"


def _tool(name: str) -> list[str]:
    if shutil.which(name) is None and not _importable(name):
        pytest.skip(f"{name} is not installed (it is in the test extra)")
    return [sys.executable, "-m", name]


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_ruff_finds_nothing():
    proc = subprocess.run(_tool("ruff") + ["check", "--output-format", "concise",
                                           *[s for s in SOURCES if (ROOT / s).exists()]],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_no_module_is_longer_than_400_lines():
    long = []
    for top in SOURCES:
        for path in (ROOT / top).rglob("*.py") if (ROOT / top).exists() else ():
            n = sum(1 for _ in path.open(encoding="utf-8"))
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not long, "split these by what they hold:\n" + "\n".join(long)


def test_no_dead_code():
    """vulture over src and tests; names used only from outside Python's view (the public
    onnxruntime-shaped API, kernels the registry calls, hooks the generated plan calls, ONNX
    attributes a kernel accepts by spec but does not need) are listed in the whitelist."""
    args = ["src", "tests", str(WHITELIST.relative_to(ROOT)), "--min-confidence", "60",
            "--ignore-decorators",
            "@register,@*.register,@app.*,@router.*,@r.*,@pytest.*,@given,@settings,"
            "@*.setter,@property"]
    proc = subprocess.run(_tool("vulture") + args, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
