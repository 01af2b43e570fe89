"""One loaded model version: its session, batcher, statistics and KServe metadata.

KServe V2 "Model Metadata Response JSON Object": ``name``, ``versions``, ``platform``,
``inputs``/``outputs`` as ``{"name", "datatype", "shape"}`` with -1 for a variable dim.
"""

from __future__ import annotations

import logging

import numpy as np

from ai_engine.core import dtypes
from ai_engine.network import datatypes
from ai_engine.network.config import ModelConfig
from ai_engine.scheduler import BatchPolicy, DynamicBatcher, ModelStats

log = logging.getLogger("ai_engine.network")

PLATFORM = "onnx"


def _dims(shape) -> list[int]:
    return [d if isinstance(d, int) and d >= 0 else -1 for d in (shape or ())]


class ModelVersion:
    def __init__(self, name: str, version: str, path: str, session, config: ModelConfig):
        self.name = name
        self.version = version
        self.path = path
        self.session = session
        self.config = config
        graph = session.graph
        self.inputs = [(v.name, datatypes.from_onnx(v.elem_type), v.elem_type, v.shape)
                       for v in graph.inputs]
        self.outputs = [(v.name, datatypes.from_onnx(v.elem_type), _dims(v.shape))
                        for v in graph.outputs]
        self.output_names = [o[0] for o in self.outputs]
        self.batchable = all(v.shape and not isinstance(v.shape[0], int)
                             for v in graph.inputs) and bool(graph.inputs)
        self.stats = ModelStats(name, version)
        self.batcher: DynamicBatcher | None = None

    def max_batch_size(self, default: int) -> int:
        """Rows per run: the config's, else the server default for a dynamic dim 0."""
        if not self.batchable:
            return 0
        return default if self.config.max_batch_size is None else self.config.max_batch_size

    def start(self, executor, defaults: BatchPolicy) -> None:
        cfg = self.config
        mbs = self.max_batch_size(defaults.max_batch_size) if cfg.dynamic_batching else 0
        policy = BatchPolicy(
            max_batch_size=mbs,
            max_queue_delay_us=(defaults.max_queue_delay_us if cfg.max_queue_delay_us is None
                                else cfg.max_queue_delay_us),
            preferred_batch_sizes=tuple(cfg.preferred_batch_size),
            max_queue_size=cfg.max_queue_size or defaults.max_queue_size,
            instances=cfg.instance_count)
        self.batcher = DynamicBatcher(self._run, policy, executor, self.stats, self.batchable)
        self.batcher.start()

    def _run(self, feeds: dict) -> list:
        return self.session.run(None, feeds)

    async def stop(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
        self.batcher = None
        self.session = None

    def metadata(self, versions: list[str]) -> dict:
        return {"name": self.name, "versions": versions, "platform": PLATFORM,
                "inputs": [{"name": n, "datatype": dt, "shape": _dims(shape)}
                           for n, dt, _, shape in self.inputs],
                "outputs": [{"name": n, "datatype": dt, "shape": shape}
                            for n, dt, shape in self.outputs]}

    def triton_config(self, default_max_batch: int) -> dict:
        """Triton's model configuration JSON (``GET /v2/models/{m}/config``)."""
        cfg = self.config.as_dict()
        cfg.update(name=self.name, platform=PLATFORM, backend="ai_engine",
                   max_batch_size=self.max_batch_size(default_max_batch))
        cfg["input"] = [{"name": n, "data_type": datatypes.triton_config_type(dt),
                         "dims": _dims(shape)} for n, dt, _, shape in self.inputs]
        cfg["output"] = [{"name": n, "data_type": datatypes.triton_config_type(dt),
                          "dims": shape} for n, dt, shape in self.outputs]
        return cfg


def warm_up(session) -> None:
    """One run on zeros so the first real request pays no first-run costs.

    A model whose zeros are not a valid input (it indexes with them, say) is still served:
    warm-up is an optimisation, so its failure is logged, not fatal.
    """
    feeds = {}
    for v in session.graph.inputs:
        shape = [d if isinstance(d, int) and d >= 0 else 1 for d in (v.shape or ())]
        dtype = dtypes.to_numpy(v.elem_type) if v.elem_type else np.dtype(np.float32)
        arr = np.zeros(shape, dtype=dtype)
        if dtype == object:
            arr[...] = ""
        feeds[v.name] = arr
    try:
        session.run(None, feeds)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("warm-up run failed (%s); serving anyway", type(exc).__name__)
