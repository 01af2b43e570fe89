#!/usr/bin/env python3
"""Run ONNX backend node/model test cases through ai-engine and report pass/fail.

    python scripts/conformance.py                # all node cases, summary
    python scripts/conformance.py conv relu      # cases whose name contains a pattern
    python scripts/conformance.py -v conv        # with the error of each failure
    python scripts/conformance.py --models       # the model cases
    python scripts/conformance.py --pytorch      # the stored PyTorch cases
    # rewrite tests/conformance/expected_failures.txt:
    python scripts/conformance.py --write-expected
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "src"), os.path.join(ROOT, "tests", "conformance")]

import cases as conformance  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("patterns", nargs="*")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--models", action="store_true", help="model cases instead of node cases")
    ap.add_argument("--pytorch", action="store_true", help="the stored PyTorch cases")
    ap.add_argument("--traceback", action="store_true")
    ap.add_argument("--write-expected", action="store_true")
    args = ap.parse_args()
    pool = conformance.model_cases() if args.models else \
        conformance.pytorch_cases() if args.pytorch else conformance.node_cases()
    selected = [c for n, c in sorted(pool.items())
                if not args.patterns or any(p in n for p in args.patterns)]
    failures = {}
    start = time.time()
    for case in selected:
        try:
            conformance.run_case(case)
        except Exception as exc:  # noqa: BLE001 - a report, not a test
            msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            failures[case.name] = msg
            if args.verbose:
                print(f"FAIL {case.name}: {msg}")
                if args.traceback:
                    traceback.print_exc()
    passed = len(selected) - len(failures)
    print(f"{passed}/{len(selected)} passed ({100 * passed / max(1, len(selected)):.1f}%) "
          f"in {time.time() - start:.1f}s")
    if args.write_expected:
        kept = {n: r for n, r in conformance.expected_failures().items() if n not in pool}
        write_expected({**kept, **failures})
    return 0


def write_expected(failures: dict[str, str]) -> None:
    old = conformance.expected_failures()
    with open(conformance.EXPECTED_FAILURES, "w") as f:
        f.write("# ONNX backend node cases that ai-engine does not pass yet, each with a reason.\n"
                "# The conformance test fails when a listed case starts passing: remove it.\n")
        for name in sorted(failures):
            reason = old.get(name) or failures[name][:160]
            f.write(f"{name}  # {reason}\n")


if __name__ == "__main__":
    sys.exit(main())
