"""onnxruntime's ``capi`` package, as code written for onnxruntime imports it.

``from ai_engine.capi import _pybind_state as C``, ``ai_engine.capi.onnxruntime_pybind11_state``
(the names of onnxruntime's compiled module: functions, classes, exception classes) and
``ai_engine.capi.onnxruntime_inference_collection`` (InferenceSession, IOBinding, OrtValue).

Aliasing: with ``sys.modules["onnxruntime"] = ai_engine``, ``import onnxruntime.capi`` finds
these files through ``ai_engine.__path__`` and would load each a second time under its
``onnxruntime.`` name: a second module object, with second copies of the exception classes
that ai-engine's errors do not derive from. So every module here starts with
:func:`use_canonical_module`: loaded under another name, it puts the ``ai_engine.capi``
module in ``sys.modules`` in its place, which the import system then hands out (a module may
replace itself in ``sys.modules`` while it loads). One module object and one class per name,
however it is imported. :func:`ai_engine.install_as_onnxruntime` registers the names up front.

This ``__init__`` imports nothing of ai-engine: ``ai_engine.errors`` imports ``capi.status``
while ``ai_engine`` itself is still loading.
"""

import importlib as _importlib
import sys as _sys


def use_canonical_module(name: str) -> None:
    """If the module being loaded as ``name`` is an alias (``onnxruntime.capi.x``), make
    ``sys.modules[name]`` the ``ai_engine.capi.x`` module instead."""
    canonical = "ai_engine." + name.split(".", 1)[1]
    if name != canonical:
        _sys.modules[name] = _importlib.import_module(canonical)


use_canonical_module(__name__)
