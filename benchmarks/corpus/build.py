#!/usr/bin/env python3
"""Build the benchmark corpus into ``benchmarks/corpus/.cache`` (idempotent).

    python benchmarks/corpus/build.py [--models resnet50,bert_base] [--force]

A model is rebuilt only when it is missing or the code that builds it changed (its recipe
hash, stored beside it in NAME.json with its GFLOP at batch 1). Needs the ``bench`` extra
(torch, and onnxruntime for the int8 and float16 variants).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from corpus import catalog  # noqa: E402
from corpus.flops import count_gflop  # noqa: E402


def _build_one(entry: catalog.Entry) -> None:
    if entry.twin:
        from corpus import variants

        twin = catalog.BY_NAME[entry.twin]
        if entry.builder == "qdq":
            # per-channel weight scales for convolutions, as CNN quantization recipes use
            variants.build_qdq(twin.path, entry.path, entry.feeds,
                               per_channel=not twin.name.startswith("bert"))
        elif entry.builder == "dynamic":
            variants.build_dynamic(twin.path, entry.path)
        elif entry.builder == "float16":
            variants.build_float16(twin.path, entry.path)
        else:
            raise ValueError(f"{entry.name}: unknown variant kind {entry.builder!r}")
        gflop = catalog.BY_NAME[entry.twin].meta()["gflop"]
    else:
        module, function = entry.builder.split(":")
        getattr(importlib.import_module("corpus." + module), function)(entry.path)
        shapes = {name: value.shape for name, value in entry.feeds(1, 0).items()}
        gflop = count_gflop(entry.path, shapes)
    meta = {"recipe": entry.recipe(), "gflop": round(gflop, 4),
            "bytes": os.path.getsize(entry.path)}
    with open(os.path.join(catalog.CACHE, entry.name + ".json"), "w") as f:
        json.dump(meta, f)


def build(entries: list[catalog.Entry], force: bool = False) -> None:
    os.makedirs(catalog.CACHE, exist_ok=True)
    wanted = list(entries)
    for entry in entries:  # a variant needs its float32 twin built first
        if entry.twin and catalog.BY_NAME[entry.twin] not in wanted:
            wanted.insert(0, catalog.BY_NAME[entry.twin])
    order = sorted(wanted, key=lambda e: e.twin is not None)
    for entry in order:
        if entry.is_built() and not force:
            continue
        start = time.perf_counter()
        _build_one(entry)
        print(f"built {entry.name}: {entry.meta()['gflop']:.3f} GFLOP, "
              f"{entry.meta()['bytes'] / 2**20:.1f} MiB in {time.perf_counter() - start:.1f} s",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma-separated corpus names (default: all)")
    ap.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = ap.parse_args()
    build(catalog.select([n for n in args.models.split(",") if n]), args.force)


if __name__ == "__main__":
    main()
