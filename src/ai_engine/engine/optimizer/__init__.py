"""Graph optimization passes and the pipeline that runs them by optimization level.

Each pass is ``def name(graph) -> bool`` (whether it changed the graph), one file each, with
its rewrite rules in its docstring. The pipeline wraps a failure in :class:`PassError` naming
the pass and the passes that ran before it.
"""

from __future__ import annotations

import os

from ai_engine.engine.graph import Graph
from ai_engine.engine.optimizer.constant_folding import fold_constants
from ai_engine.engine.optimizer.dead_code import eliminate_dead_code
from ai_engine.engine.optimizer.fuse_conv_activation import fuse_conv_activation
from ai_engine.engine.optimizer.fuse_attention import fuse_attention
from ai_engine.engine.optimizer.fuse_conv_bn import fuse_conv_bn
from ai_engine.engine.optimizer.fuse_gelu import fuse_gelu
from ai_engine.engine.optimizer.fuse_matmul_add import fuse_matmul_add
from ai_engine.engine.optimizer.fuse_silu import fuse_silu
from ai_engine.engine.optimizer.identity import eliminate_identity
from ai_engine.engine.optimizer.merge_duplicate_channels import merge_duplicate_channels
from ai_engine.engine.optimizer.shape_folding import fold_shapes
from ai_engine.errors import EngineError, PassError

# Levels follow onnxruntime's GraphOptimizationLevel: 0 disables all, 1 is basic
# (semantics-preserving rewrites), 2 extended, 99 all.
BASIC_PASSES = (eliminate_identity, fold_constants, eliminate_dead_code,
                merge_duplicate_channels)
EXTENDED_PASSES = BASIC_PASSES + (fuse_conv_bn, fuse_silu, fuse_conv_activation, fold_shapes,
                                  fuse_gelu,
                                  fuse_attention, fuse_matmul_add)
LEVELS = {0: (), 1: BASIC_PASSES, 2: EXTENDED_PASSES, 99: EXTENDED_PASSES}

# Passes enable one another (shape folding exposes constants, folding exposes fusions): the
# pipeline repeats until a round changes nothing, with a bound against rewrite ping-pong.
MAX_ROUNDS = 10


# Debugging aid, on in the test suite: verify the graph's links after every pass, so a pass
# that corrupts the graph is named at once instead of failing later somewhere else.
CHECK_EACH_PASS = os.environ.get("AI_ENGINE_CHECK_PASSES", "") not in ("", "0")


def _check_after(graph: Graph, name: str) -> None:
    try:
        graph.check()
    except ValueError as exc:
        raise PassError(f"optimization pass {name} left an inconsistent graph: {exc}") from exc


def passes_for_level(level: int) -> tuple:
    level = int(level)
    if level <= 0:
        return ()
    return LEVELS.get(level, EXTENDED_PASSES)


def pass_names() -> list[str]:
    """Every pass by name, in pipeline order (``disabled_optimizers`` takes these)."""
    return [p.__name__ for p in EXTENDED_PASSES]


def optimize(graph: Graph, level: int = 99, disabled=frozenset()) -> list[str]:
    """Run the passes of ``level`` but ``disabled`` (names) until none changes the graph;
    returns the passes run."""
    unknown = sorted(set(disabled) - set(pass_names()))
    if unknown:
        raise ValueError(f"unknown optimizer pass(es) {unknown} in disabled_optimizers; "
                         f"the passes are {pass_names()}")
    passes = [p for p in passes_for_level(level) if p.__name__ not in disabled]
    done: list[str] = []
    for _ in range(MAX_ROUNDS):
        changed = False
        for opt_pass in passes:
            try:
                changed |= bool(opt_pass(graph))
            except EngineError:
                raise
            except Exception as exc:
                before = ", ".join(done) or "none"
                raise PassError(f"optimization pass {opt_pass.__name__} failed (passes run "
                                f"before it: {before}): {type(exc).__name__}: {exc}") from exc
            done.append(opt_pass.__name__)
            if CHECK_EACH_PASS:
                _check_after(graph, opt_pass.__name__)
        if not changed:
            break
    return done
