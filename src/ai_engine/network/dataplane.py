"""The data plane: health, metadata, inference, repository actions. No HTTP here.

Handlers in :mod:`kserve_v2` and :mod:`api_v1` decode a request, call one method, encode the
result. Sections of the KServe V2 spec: "Health" (live/ready), "Server Metadata", "Model
Metadata", "Inference"; Triton extensions: "Model Repository", "Statistics",
"Model Configuration".
"""

from __future__ import annotations

import time

import numpy as np

from ai_engine import __version__
from ai_engine.core import dtypes
from ai_engine.errors import EngineError, InvalidInputError
from ai_engine.network import datatypes
from ai_engine.network.errors import BadRequestError
from ai_engine.network.model import ModelVersion
from ai_engine.network.repository import ModelRepository
from ai_engine.network.tensor_limits import TensorLimits
from ai_engine.network.types import InferRequest, InferResponse, Tensor

EXTENSIONS = ["binary_tensor_data", "model_repository", "statistics", "model_configuration",
              "schedule_policy"]


class DataPlane:
    def __init__(self, repository: ModelRepository, limits: TensorLimits | None = None):
        self.repository = repository
        # per-request tensor limits the codecs apply while decoding
        self.limits = limits if limits is not None else TensorLimits()
        self.started = False  # the startup load has finished
        self.draining = False  # SIGTERM received: not ready, in-flight work finishing
        self.loop = None       # the server's event loop, set at startup

    def drain(self, grace_s: float) -> None:
        """SIGTERM (call from any thread): report not ready, and after ``grace_s`` stop every
        run still going, so its request is answered 503 and the process can exit."""
        def start():
            self.draining = True
            self.loop.call_later(grace_s, self.repository.terminate_runs,
                                 "the server is shutting down")
        self.loop.call_soon_threadsafe(start)

    # -- health and metadata ----------------------------------------------------------------
    def live(self) -> bool:
        return True

    def ready(self) -> bool:
        return self.started and not self.draining and not self.repository.loading()

    def server_metadata(self) -> dict:
        return {"name": "ai-engine", "version": __version__, "extensions": EXTENSIONS}

    def model_metadata(self, name: str, version: str | None = None) -> dict:
        mv = self.repository.get(name, version)
        return mv.metadata(self.repository.versions_of(name))

    def input_names(self, name: str, version: str | None = None) -> list[str]:
        """The inputs of a served model version (404/503 when it is not served)."""
        return [n for n, *_ in self.repository.get(name, version).inputs]

    def model_config(self, name: str, version: str | None = None) -> dict:
        mv = self.repository.get(name, version)
        return mv.triton_config()

    def model_stats(self, name: str | None = None, version: str | None = None) -> dict:
        if name is None:
            versions = self.repository.loaded()
        else:
            versions = [self.repository.get(name, version)] if version else \
                [self.repository.get(name, v) for v in self.repository.versions_of(name)] \
                or [self.repository.get(name)]
        return {"model_stats": [mv.stats.as_dict() for mv in versions]}

    # -- repository -------------------------------------------------------------------------
    def index(self, ready_only: bool = False) -> list[dict]:
        return self.repository.index(ready_only)

    async def load(self, name: str) -> None:
        await self.repository.load(name)

    async def unload(self, name: str) -> None:
        await self.repository.unload(name)

    # -- inference --------------------------------------------------------------------------
    async def infer(self, req: InferRequest) -> InferResponse:
        mv = self.repository.get(req.model, req.version)
        start = time.perf_counter_ns()
        try:
            feeds = self._feeds(mv, req)
            picks = self._picks(mv, req)
            outs = await mv.batcher.submit(feeds, req.timeout_us)
        except EngineError:
            mv.stats.add("fail", time.perf_counter_ns() - start)
            raise
        mv.stats.add("success", time.perf_counter_ns() - start)
        return InferResponse(mv.name, mv.version, [Tensor(mv.output_names[i], outs[i])
                                                   for i in picks], req.id)

    def _feeds(self, mv: ModelVersion, req: InferRequest) -> dict:
        """Per-request checks, so one bad request never reaches (or fails) a shared batch."""
        given = {t.name: t.array for t in req.inputs}
        expected = [n for n, *_ in mv.inputs]
        unknown = sorted(set(given) - set(expected))
        if unknown:
            raise InvalidInputError(f"unknown input(s) {unknown} for model {mv.name!r}; its "
                                    f"inputs are {expected}")
        feeds = {}
        for name, datatype, elem_type, shape in mv.inputs:
            if name not in given:
                raise InvalidInputError(f"input {name!r} is missing; model {mv.name!r} "
                                        f"needs {expected}")
            feeds[name] = _check(name, datatype, elem_type, shape, given[name])
        limit = mv.policy.max_batch_size if mv.config.max_batch_size else 0
        if limit and mv.batchable:
            rows = next(iter(feeds.values())).shape[0]
            if rows > limit:
                raise BadRequestError(f"batch size {rows} exceeds model {mv.name!r}'s "
                                      f"max_batch_size {limit}")
        return feeds

    @staticmethod
    def _picks(mv: ModelVersion, req: InferRequest) -> list[int]:
        names = req.output_names()
        if names is None:
            return list(range(len(mv.output_names)))
        missing = [n for n in names if n not in mv.output_names]
        if missing:
            raise InvalidInputError(f"unknown output(s) {missing} for model {mv.name!r}; its "
                                    f"outputs are {mv.output_names}")
        return [mv.output_names.index(n) for n in names]


def _check(name: str, datatype: str, elem_type, shape, array: np.ndarray) -> np.ndarray:
    got = datatypes.from_numpy(array.dtype)
    if datatype != "UNKNOWN" and got != datatype:
        raise InvalidInputError(f"input {name!r} expects datatype {datatype}, got {got}")
    if shape is not None:
        if array.ndim != len(shape):
            raise InvalidInputError(f"input {name!r} expects shape {_show(shape)}, got "
                                    f"{list(array.shape)}")
        for want, have in zip(shape, array.shape):
            if isinstance(want, int) and want >= 0 and want != have:
                raise InvalidInputError(f"input {name!r} expects shape {_show(shape)}, got "
                                        f"{list(array.shape)}")
    if elem_type and dtypes.to_numpy(elem_type) == object and array.dtype != object:
        array = array.astype(object)
    return array


def _show(shape) -> list:
    return [d if isinstance(d, int) and d >= 0 else -1 for d in shape]
