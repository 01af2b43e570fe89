"""One loaded model version: its session, batcher, statistics and KServe metadata.

KServe V2 "Model Metadata Response JSON Object": ``name``, ``versions``, ``platform``,
``inputs``/``outputs`` as ``{"name", "datatype", "shape"}`` with -1 for a variable dim.
"""

from __future__ import annotations

import logging

import numpy as np

from ai_engine.core import dtypes
from ai_engine.engine.run_options import RunOptions
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
        self.policy: BatchPolicy | None = None  # set by start(); the batcher's own

    def max_batch_size(self, default: int) -> int:
        """Rows per run: the config's, else the server default for a dynamic dim 0."""
        if not self.batchable:
            return 0
        return default if self.config.max_batch_size is None else self.config.max_batch_size

    def start(self, executor, defaults: BatchPolicy) -> None:
        self.policy = self.scheduling_policy(defaults)
        self.batcher = DynamicBatcher(self._run, self.policy, executor, self.stats,
                                      self.batchable)
        self.batcher.start()

    def scheduling_policy(self, defaults: BatchPolicy) -> BatchPolicy:
        """This version's config over the server's defaults: what its batcher enforces."""
        cfg = self.config
        return BatchPolicy(
            max_batch_size=self.max_batch_size(defaults.max_batch_size),
            dynamic_batching=cfg.dynamic_batching,
            max_queue_delay_us=(defaults.max_queue_delay_us if cfg.max_queue_delay_us is None
                                else cfg.max_queue_delay_us),
            preferred_batch_sizes=tuple(cfg.preferred_batch_size),
            max_queue_size=cfg.max_queue_size or defaults.max_queue_size,
            instances=cfg.instance_count,
            execution_timeout_s=defaults.execution_timeout_s)

    def _run(self, feeds: dict, run_options: RunOptions) -> list:
        return self.session.run(None, feeds, run_options)

    async def stop(self, grace_s: float | None = None,
                   reason: str = "the model is unloading") -> None:
        """Drain the batcher; after ``grace_s`` stop what still runs (see DynamicBatcher)."""
        if self.batcher is not None:
            await self.batcher.close(grace_s, reason)
        self.batcher = None
        self.session = None

    def metadata(self, versions: list[str]) -> dict:
        return {"name": self.name, "versions": versions, "platform": PLATFORM,
                "inputs": [{"name": n, "datatype": dt, "shape": _dims(shape)}
                           for n, dt, _, shape in self.inputs],
                "outputs": [{"name": n, "datatype": dt, "shape": shape}
                            for n, dt, shape in self.outputs]}

    def triton_config(self) -> dict:
        """Triton's model configuration JSON (``GET /v2/models/{m}/config``), every value
        taken from the :class:`BatchPolicy` that this version's batcher enforces."""
        p = self.policy
        cfg = {"name": self.name, "platform": PLATFORM, "backend": "ai_engine",
               "max_batch_size": p.max_batch_size,
               "instance_group": [{"count": p.instances, "kind": "KIND_CPU"}],
               "version_policy": self.config.version_policy_dict()}
        queue_policy = {"max_queue_size": p.max_queue_size}
        if p.dynamic_batching and p.max_batch_size > 1:
            cfg["dynamic_batching"] = {"preferred_batch_size": list(p.preferred_batch_sizes),
                                       "max_queue_delay_microseconds": p.max_queue_delay_us,
                                       "default_queue_policy": queue_policy}
        # Not Triton's: requests queue (bounded) even when they are not batched, so the
        # queue bound is reported whatever the batching mode, with the run limit that
        # applies to requests without a timeout of their own (0: none).
        cfg["scheduler"] = {"batches_across_requests": "dynamic_batching" in cfg,
                            **queue_policy,
                            "execution_timeout_microseconds":
                                round(p.execution_timeout_s * 1e6)}
        cfg["input"] = [{"name": n, "data_type": datatypes.triton_config_type(dt),
                         "dims": _dims(shape)} for n, dt, _, shape in self.inputs]
        cfg["output"] = [{"name": n, "data_type": datatypes.triton_config_type(dt),
                          "dims": shape} for n, dt, shape in self.outputs]
        return cfg


def warm_up(session, timeout_s: float = 0.0) -> None:
    """One run on zeros so the first real request pays no first-run costs.

    A model whose zeros are not a valid input (it indexes with them, say) is still served:
    warm-up is an optimisation, so its failure is logged, not fatal. It is bounded by the
    server's execution limit (``timeout_s``, 0: none) like any request, so a model that runs
    for ever (a Loop with a huge trip count) still loads, and its requests are then bounded.
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
        session.run(None, feeds, RunOptions(timeout_s=timeout_s or None))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("warm-up run failed (%s: %s); serving anyway", type(exc).__name__, exc)
