"""Kernels of the private ``ai_engine`` domain: the ops that the optimizer's fusion passes
create (models never contain them). One module per fused op; importing the package registers
them all."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
