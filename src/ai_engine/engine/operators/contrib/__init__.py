"""Kernels of the ``com.microsoft`` domain: the operators onnxruntime's graph optimizer,
transformer optimizer and model builders write (docs/ContribOperators.md of onnxruntime).

One module per family; importing this package registers them all.
"""

from ai_engine.engine.operators.contrib import (  # noqa: F401
    activations,
    attention,
    conv,
    gemm,
    gqa,
    mha,
    normalization,
    rotary,
)
