"""The model repository: Triton's layout, background loading, real unloading.

Triton "Model Repository": ``<repo>/<model>/<version>/model.onnx`` with an optional
``config.pbtxt`` (or ``config.json``) beside the numeric version folders; the config's
``version_policy`` picks the versions served. Triton "Model Repository Extension": index,
load and unload. States are Triton's: LOADING, READY, UNLOADING, UNAVAILABLE (+ reason).

Confinement is on what requests name, not on what the operator laid out: a model name from a
request must be one plain path component (letters, digits, ``_``, ``-``, ``.``; no leading
dot, no ``..``, no separator) and version folders are plain integers, so every path the server
builds is lexically inside the repository. Symlinks that the operator put inside it (a
``1/model.onnx`` or a model folder pointing at a shared model store or a Kubernetes volume
mount) are followed, as Triton follows them. Every load failure is logged with its reason.
Unloading drains the model's batcher (accepted requests still finish), drops every reference
to the session, collects garbage and hands the freed heap back to the OS, so memory returns.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re

from ai_engine.engine.session import InferenceSession
from ai_engine.errors import EngineError, ModelLoadError
from ai_engine.memory.allocator import release_free_memory
from ai_engine.network.config import ModelConfig, read_config
from ai_engine.network.errors import ModelNotFoundError, ModelNotReadyError
from ai_engine.network.model import ModelVersion, warm_up
from ai_engine.scheduler import BatchPolicy

log = logging.getLogger("ai_engine.network")

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")


class _Entry:
    def __init__(self, name: str):
        self.name = name
        self.state = "UNAVAILABLE"
        self.reason = "unloaded"
        self.versions: dict[str, ModelVersion] = {}
        self.lock = asyncio.Lock()


class ModelRepository:
    def __init__(self, root: str | None, builtin: dict[str, str], executor,
                 defaults: BatchPolicy):
        self.root = os.path.realpath(root) if root else None
        if self.root and not os.path.isdir(self.root):
            raise ModelLoadError(f"model repository {root!r} is not a directory")
        self.builtin = dict(builtin)
        self.executor = executor
        self.defaults = defaults
        self._entries: dict[str, _Entry] = {}

    # -- discovery --------------------------------------------------------------------------
    def names(self) -> list[str]:
        found = set(self.builtin)
        if self.root:
            found.update(n for n in os.listdir(self.root)
                         if _NAME.fullmatch(n) and os.path.isdir(os.path.join(self.root, n)))
        return sorted(found | set(self._entries))

    def _model_dir(self, name: str) -> str:
        if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
            raise ModelNotFoundError(f"invalid model name {name!r}: one path component of "
                                     f"letters, digits, '_', '-', '.'")
        if self.root is None:
            raise ModelNotFoundError(f"unknown model {name!r}; no model repository is set")
        path = os.path.join(self.root, name)  # lexically inside: the name is one component
        if not os.path.isdir(path):
            raise ModelNotFoundError(f"unknown model {name!r}: no folder {name!r} in the "
                                     f"model repository")
        return path

    def _version_files(self, name: str) -> tuple[ModelConfig, dict[str, str]]:
        if name in self.builtin:
            return ModelConfig(), {"1": self.builtin[name]}
        model_dir = self._model_dir(name)
        config = read_config(model_dir)
        available = {}
        for v in os.listdir(model_dir):
            path = os.path.join(model_dir, v, "model.onnx")
            if v.isdigit() and os.path.isfile(path):  # isfile follows the operator's symlinks
                available[int(v)] = path
        chosen = config.select_versions(list(available))
        if not chosen:
            raise ModelLoadError(f"model {name!r}: no version folder with a model.onnx "
                                 f"matches its version policy {config.version_policy}")
        return config, {str(v): available[v] for v in chosen}

    # -- lookups ----------------------------------------------------------------------------
    def get(self, name: str, version: str | None = None) -> ModelVersion:
        entry = self._entries.get(name)
        if entry is None:
            if name in self.names():
                raise ModelNotReadyError(f"model {name!r} is not loaded")
            raise ModelNotFoundError(f"unknown model {name!r}")
        if entry.state != "READY":
            raise ModelNotReadyError(f"model {name!r} is not ready: {entry.state.lower()}"
                                     f"{' (' + entry.reason + ')' if entry.reason else ''}")
        versions = entry.versions
        if version in (None, ""):
            return versions[max(versions, key=int)]
        if version not in versions:
            raise ModelNotFoundError(f"model {name!r} has no version {version!r}; loaded "
                                     f"versions: {sorted(versions, key=int)}")
        return versions[version]

    def loaded(self) -> list[ModelVersion]:
        return [mv for e in self._entries.values() if e.state == "READY"
                for mv in e.versions.values()]

    def versions_of(self, name: str) -> list[str]:
        entry = self._entries.get(name)
        return sorted(entry.versions, key=int) if entry else []

    def loading(self) -> bool:
        return any(e.state == "LOADING" for e in self._entries.values())

    def index(self, ready_only: bool = False) -> list[dict]:
        rows = []
        for name in self.names():
            entry = self._entries.get(name) or _Entry(name)
            if ready_only and entry.state != "READY":
                continue
            for v in sorted(entry.versions, key=int) or [""]:
                row = {"name": name, "version": v, "state": entry.state,
                       "reason": entry.reason}
                rows.append({k: val for k, val in row.items() if val != "" or k == "reason"})
        return rows

    # -- load / unload ----------------------------------------------------------------------
    async def load(self, name: str) -> None:
        """Load (or reload) every version its policy selects; readiness only after warm-up."""
        if name not in self.builtin:
            self._model_dir(name)  # confinement check before any state changes
        entry = self._entries.setdefault(name, _Entry(name))
        async with entry.lock:
            old = entry.versions
            entry.state, entry.reason = ("READY", "") if old else ("LOADING", "")
            try:
                fresh = await self._build(name)
            except Exception as exc:  # noqa: BLE001 - every failure is reported, then raised
                error = exc if isinstance(exc, EngineError) else ModelLoadError(
                    f"model {name!r}: {type(exc).__name__}: {exc}")  # e.g. a file of junk
                log.error("model %s failed to load: %s", name, error)
                if not old:
                    entry.state, entry.reason = "UNAVAILABLE", str(error)
                if error is exc:
                    raise
                raise error from None
            for mv in fresh.values():
                mv.start(self.executor, self.defaults)
            entry.versions, entry.state, entry.reason = fresh, "READY", ""
            await self._release(old)
        log.info("model %s ready (versions %s)", name, sorted(entry.versions, key=int))

    async def _build(self, name: str) -> dict[str, ModelVersion]:
        loop = asyncio.get_running_loop()
        config, files = await loop.run_in_executor(None, self._version_files, name)
        fresh = {}
        for version, path in files.items():
            session = await loop.run_in_executor(None, _open, path,
                                                 self.defaults.execution_timeout_s)
            fresh[version] = ModelVersion(name, version, path, session, config)
        return fresh

    async def unload(self, name: str) -> None:
        entry = self._entries.get(name)
        if entry is None:
            if name in self.names():
                return  # Triton: unloading a model that is not loaded succeeds
            raise ModelNotFoundError(f"unknown model {name!r}")
        async with entry.lock:
            old, entry.versions = entry.versions, {}
            entry.state, entry.reason = "UNLOADING", ""
            await self._release(old)
            entry.state, entry.reason = "UNAVAILABLE", "unloaded"
        log.info("model %s unloaded", name)

    async def _release(self, versions: dict) -> None:
        if not versions:
            return
        for mv in versions.values():
            await mv.stop()
        versions.clear()
        del versions
        # Sessions sit in reference cycles (graph values <-> nodes); only a collection frees
        # their arrays, and only malloc_trim gives the freed heap back to the OS.
        await asyncio.get_running_loop().run_in_executor(None, _collect)

    async def load_all(self) -> None:
        """Startup: load every model found, concurrently; failures are logged and kept."""
        async def one(name):
            try:
                await self.load(name)
            except EngineError:
                pass  # logged by load(); the index shows the model UNAVAILABLE with its reason
        await asyncio.gather(*(one(n) for n in self.names()))

    async def close(self, grace_s: float | None = None) -> None:
        """Unload every model; runs still going after ``grace_s`` are stopped between nodes
        (``None``: wait for them)."""
        await asyncio.gather(*(self._close_model(name, grace_s) for name in list(self._entries)))

    async def _close_model(self, name: str, grace_s: float | None) -> None:
        entry = self._entries[name]
        async with entry.lock:
            old, entry.versions = entry.versions, {}
            entry.state, entry.reason = "UNLOADING", "server shutting down"
            for mv in old.values():
                await mv.stop(grace_s, "the server is shutting down")
            entry.state = "UNAVAILABLE"

    def terminate_runs(self, reason: str) -> None:
        """Stop every queued and running request of every model now (answered 503)."""
        for mv in self.loaded():
            if mv.batcher is not None:
                mv.batcher.terminate(reason)


def _open(path: str, warm_up_timeout_s: float) -> InferenceSession:
    session = InferenceSession(path)
    warm_up(session, warm_up_timeout_s)
    return session


def _collect() -> None:
    gc.collect()
    release_free_memory()
