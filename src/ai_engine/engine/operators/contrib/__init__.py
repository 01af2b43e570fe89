"""Kernels of the ``com.microsoft`` domain: the operators onnxruntime's graph optimizer,
quantizer and LLM builder write into the models they produce.

Spec: onnxruntime docs/ContribOperators.md. Importing this package registers every kernel.
"""

from . import quantized  # noqa: F401
from . import quantized_elementwise  # noqa: F401
from . import quantized_pool  # noqa: F401
from . import quantized_linear  # noqa: F401
from . import quantized_blocks  # noqa: F401
from . import quantized_lstm  # noqa: F401
