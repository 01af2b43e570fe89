"""Protocol-neutral request and response objects shared by both APIs and the data plane.

They mirror the KServe V2 "Inference Request JSON Object" and "Inference Response JSON
Object" after decoding: tensors are NumPy arrays, whatever wire form (JSON or binary) they
arrived in. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Tensor:
    name: str
    array: np.ndarray
    parameters: dict = field(default_factory=dict)


@dataclass
class RequestedOutput:
    name: str
    binary: bool = False


@dataclass
class InferRequest:
    model: str
    inputs: list[Tensor]
    version: str | None = None
    id: str | None = None
    parameters: dict = field(default_factory=dict)
    outputs: list[RequestedOutput] | None = None  # None: every output of the model
    binary_output: bool = False                    # request-level binary_data_output
    timeout_us: int | None = None                  # KServe/Triton "timeout" parameter

    def output_names(self) -> list[str] | None:
        return None if self.outputs is None else [o.name for o in self.outputs]


@dataclass
class InferResponse:
    model_name: str
    model_version: str
    outputs: list[Tensor]
    id: str | None = None
