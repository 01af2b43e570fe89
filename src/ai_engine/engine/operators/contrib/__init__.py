"""Kernels of the ``com.microsoft`` domain: the operators onnxruntime's graph optimizer,
transformer optimizer, quantizer and LLM model builder write into the models they produce.

Spec: onnxruntime's docs/ContribOperators.md (its CPU kernels where the doc is silent). One
module per family; importing this package registers them all.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
