"""Execution providers: onnxruntime's names (or ``cpu`` / ``cuda``), their options, and the
array module a session runs on.

``providers`` is a list of names or ``(name, options)`` pairs; ``provider_options``, when
given, is a list of option dicts parallel to it, as in onnxruntime. A provider of onnxruntime
that ai-engine does not have (``TensorrtExecutionProvider``, ``CoreMLExecutionProvider``...)
is skipped with a warning, as onnxruntime skips a provider its build lacks, so code that
lists them in order of preference runs; a name neither knows (a typo) and unknown option
keys raise ``ValueError`` naming what is known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
_ALIASES = {"cpu": CPU, "cuda": CUDA, "gpu": CUDA, CPU: CPU, CUDA: CUDA}

# Option keys each provider takes. Values marked "accepted" change nothing, for the reason
# given; the others are read by the backend.
CPU_OPTIONS = {
    "use_arena": "accepted: ai-engine has no arena; arrays come from NumPy and malloc",
    "arena_extend_strategy": "accepted: ai-engine has no arena to extend",
}
CUDA_OPTIONS = {
    "device_id": "the CUDA device the session runs on",
    "strict": "raise instead of falling back to the CPU when no usable GPU is found",
    "gpu_mem_limit": "cap on the session's CuPy memory pool, in bytes",
    "arena_extend_strategy": "accepted: CuPy's memory pool grows by its own policy",
    "cudnn_conv_algo_search": "accepted: CuPy 14 has no cuDNN; convolutions are GEMMs",
    "do_copy_in_default_stream": "accepted: ai-engine copies on the default stream",
}
_KNOWN = {CPU: CPU_OPTIONS, CUDA: CUDA_OPTIONS}
# onnxruntime's other execution providers (its get_all_providers(), 1.17 to 1.32): hardware
# and libraries ai-engine has no backend for.
ONNXRUNTIME_ONLY = frozenset((
    "TensorrtExecutionProvider", "MIGraphXExecutionProvider", "ROCMExecutionProvider",
    "OpenVINOExecutionProvider", "DnnlExecutionProvider", "VitisAIExecutionProvider",
    "QNNExecutionProvider", "NnapiExecutionProvider", "VSINPUExecutionProvider",
    "JsExecutionProvider", "CoreMLExecutionProvider", "ArmNNExecutionProvider",
    "ACLExecutionProvider", "DmlExecutionProvider", "RknpuExecutionProvider",
    "WebNNExecutionProvider", "WebGpuExecutionProvider", "XnnpackExecutionProvider",
    "CANNExecutionProvider", "AzureExecutionProvider", "TvmExecutionProvider",
    "SNPEExecutionProvider"))

log = logging.getLogger("ai_engine.providers")
_warned_fallback = False


@dataclass
class ProviderChoice:
    """What a session runs on: provider names (as ``get_providers()`` reports them), the
    array module, and the options given per provider."""

    names: list[str]
    xp: object = np
    options: dict[str, dict] = field(default_factory=dict)

    @property
    def device_id(self) -> int:
        return int(self.options.get(CUDA, {}).get("device_id", 0))


def _normalise(providers, provider_options) -> list[tuple[str, dict]]:
    items = []
    for p in providers:
        name, opts = (p[0], dict(p[1])) if isinstance(p, (tuple, list)) else (p, {})
        if name not in _ALIASES and name not in ONNXRUNTIME_ONLY:
            raise ValueError(f"unknown execution provider {name!r}; available: "
                             f"{sorted(_KNOWN)} (or 'cpu', 'cuda')")
        items.append((_ALIASES.get(name, name), opts))
    if provider_options is not None:
        if len(provider_options) != len(items):
            raise ValueError(f"provider_options has {len(provider_options)} entries for "
                             f"{len(items)} providers; give one dict per provider")
        items = [(name, {**opts, **dict(extra)})
                 for (name, opts), extra in zip(items, provider_options)]
    skipped = [name for name, _ in items if name in ONNXRUNTIME_ONLY]
    if skipped:
        log.warning("execution provider(s) %s are onnxruntime's, not ai-engine's; skipped "
                    "(ai-engine has %s)", skipped, sorted(_KNOWN))
        items = [(name, opts) for name, opts in items if name not in ONNXRUNTIME_ONLY]
    for name, opts in items:
        unknown = sorted(set(opts) - set(_KNOWN[name]))
        if unknown:
            raise ValueError(f"unknown {name} option(s) {unknown}; known: "
                             f"{sorted(_KNOWN[name])}")
    return items


STRICT_KEY = "session.strict_providers"   # session config entry: no silent CPU fallback


def truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def resolve(providers=None, provider_options=None, strict_config: bool = False
            ) -> ProviderChoice:
    """The providers a session uses, in order of preference, as onnxruntime picks them.

    CUDA without a usable GPU falls back to the CPU (logged once per process, and
    ``get_providers()`` then lists only the CPU), or raises ``RuntimeError`` when its
    ``strict`` option (or the session config entry ``session.strict_providers``) is set.
    """
    global _warned_fallback
    items = _normalise(providers or [CPU], provider_options) or [(CPU, {})]
    options = {name: opts for name, opts in items}
    for name, opts in items:
        if name == CPU:
            return ProviderChoice([CPU], np, options)
        from ai_engine.gpu import cupy_or_none

        cp = cupy_or_none()
        if cp is not None:
            return ProviderChoice([CUDA, CPU], cp, options)
        if strict_config or truthy(opts.get("strict", "0")):
            raise RuntimeError("CUDAExecutionProvider was asked for with 'strict' but no "
                               "usable GPU was found (CuPy missing or no CUDA device)")
        if not _warned_fallback:
            _warned_fallback = True
            log.warning("CUDAExecutionProvider was asked for but no usable GPU/CuPy was "
                        "found; running on the CPU")
    return ProviderChoice([CPU], np, options)
