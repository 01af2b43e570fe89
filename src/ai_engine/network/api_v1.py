"""The seed's ``/api/v1`` API: simple JSON for people who do not speak KServe.

``POST /api/v1/infer``  ``{"model", "version"?, "inputs": {name: nested list |
{"data", "shape"?, "dtype"?}}, "outputs"?: [names], "timeout_us"?}`` ->
``{"model", "version", "outputs": {name: {"data" (nested), "shape", "dtype"}}}``.
``POST /api/v1/batch``  ``{"model", "version"?, "requests": [{"inputs", "outputs"?}],
"timeout_us"?}`` ->
``{"responses": [{"outputs"} | {"error", "status"}]}``; the requests enter the model's
dynamic batcher together, so they run as one batch where their shapes allow.
``GET|POST /api/v1/health``, ``GET /api/v1/models``, ``POST /api/v1/models/load``
``{"name"}``, ``DELETE /api/v1/models/{id}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ai_engine.errors import EngineError
from ai_engine.network import codec_json, datatypes
from ai_engine.network import openapi_doc as doc
from ai_engine.network.codec_kserve import MAX_TIMEOUT_US
from ai_engine.network.dataplane import DataPlane
from ai_engine.network.errors import BadRequestError
from ai_engine.network.http_util import StrictJsonRoute, json_response, unless_disconnected
from ai_engine.network.openapi_doc import answers
from ai_engine.network.tensor_limits import RequestBudget
from ai_engine.network.types import InferRequest, RequestedOutput, Tensor

_EXAMPLE = {"model": "digits", "inputs": {"pixels": [[0.0] * 64]}}
TIMEOUT_DOC = ("microseconds the whole request may take, queue and execution: past it, the "
               "run stops between nodes and the answer is 503 naming the phase")


class InferBody(BaseModel):
    model: str
    version: str | None = None
    inputs: dict[str, Any] = Field(description="name -> nested list, or {data, shape, dtype}")
    outputs: list[str] | None = None
    timeout_us: int | None = Field(None, ge=0, le=MAX_TIMEOUT_US, description=TIMEOUT_DOC)
    model_config = {"json_schema_extra": {"examples": [_EXAMPLE]}}


class BatchItem(BaseModel):
    inputs: dict[str, Any]
    outputs: list[str] | None = None


class BatchBody(BaseModel):
    model: str
    version: str | None = None
    requests: list[BatchItem]
    timeout_us: int | None = Field(None, ge=0, le=MAX_TIMEOUT_US,
                                   description=TIMEOUT_DOC + " (each request)")


class LoadBody(BaseModel):
    name: str = Field(description="a model folder of the repository")


def _shape_of(data) -> list[int]:
    shape = []
    while isinstance(data, list):
        shape.append(len(data))
        data = data[0] if data else None
    return shape


def _tensor(name: str, spec, model_types: dict, budget: RequestBudget) -> Tensor:
    if name not in model_types:
        raise BadRequestError(f"unknown input {name!r}; the model's inputs are "
                              f"{sorted(model_types)[:16]}")
    if isinstance(spec, dict):
        if "data" not in spec:
            raise BadRequestError(f"input {name!r}: an object input needs 'data'")
        data = spec["data"]
        datatype = datatypes.from_any(spec["dtype"]) if spec.get("dtype") else model_types[name]
        shape = spec.get("shape", _shape_of(data))
    else:
        data, datatype, shape = spec, model_types[name], _shape_of(spec)
    if datatype == "UNKNOWN":
        raise BadRequestError(f"input {name!r}: give its 'dtype'")
    return Tensor(name, codec_json.decode(name, datatype, shape, data, budget))


def _request(plane: DataPlane, model: str, version, inputs: dict, outputs, timeout=None):
    mv = plane.repository.get(model, version)
    types = {n: dt for n, dt, _, _ in mv.inputs}
    if len(inputs) > len(types):
        raise BadRequestError(f"the request has {len(inputs)} inputs; model {model!r} has "
                              f"{len(types)}: {sorted(types)[:16]}")
    budget = plane.limits.budget()
    tensors = [_tensor(n, spec, types, budget) for n, spec in inputs.items()]
    return InferRequest(model=model, version=mv.version, inputs=tensors, timeout_us=timeout,
                        outputs=None if outputs is None else [RequestedOutput(n)
                                                              for n in outputs])


def _outputs(resp) -> dict:
    out = {}
    for t in resp.outputs:
        datatype, shape, flat = codec_json.encode(t.array)
        nested = np.array(flat, dtype=object).reshape(shape).tolist()
        out[t.name] = {"data": nested, "shape": shape, "dtype": datatypes.numpy_name(datatype)}
    return out


def build_router(plane: DataPlane) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["ai-engine API v1"], route_class=StrictJsonRoute)

    @r.get("/health", summary="Health and model states", operation_id="api_v1_health_get",
           responses=answers(doc.V1Health))
    @r.post("/health", summary="Health and model states", operation_id="api_v1_health_post",
            responses=answers(doc.V1Health))
    async def health():
        return json_response({"status": "ok" if plane.ready() else "loading", "live": True,
                              "ready": plane.ready(),
                              "models": {row["name"]: row["state"] for row in plane.index()}})

    @r.post("/infer", summary="Run one inference",
            responses=answers(doc.V1Infer, 400, 404, 413, 429, 501, 503))
    async def infer(body: InferBody, request: Request):
        req = _request(plane, body.model, body.version, body.inputs, body.outputs,
                       body.timeout_us)
        resp = await unless_disconnected(request, plane.infer(req))
        return json_response({"model": resp.model_name, "version": resp.model_version,
                              "outputs": _outputs(resp)})

    @r.post("/batch", summary="Run many inferences, batched together where shapes allow",
            responses=answers(doc.V1Batch, 400, 404, 413, 503))
    async def batch(body: BatchBody, request: Request):
        async def one(item: BatchItem):
            try:
                req = _request(plane, body.model, body.version, item.inputs, item.outputs,
                               body.timeout_us)
                return {"outputs": _outputs(await plane.infer(req))}
            except EngineError as exc:
                return {"error": str(exc), "status": exc.http_status}

        plane.repository.get(body.model, body.version)  # 404/503 for the whole call
        responses = await unless_disconnected(
            request, asyncio.gather(*(one(item) for item in body.requests)))
        return json_response({"model": body.model, "responses": responses})

    @r.get("/models", summary="Models of the repository and their states",
           responses=answers(doc.V1Models))
    async def models():
        rows = plane.index()
        for row in rows:
            if row["state"] == "READY":
                meta = plane.model_metadata(row["name"], row.get("version"))
                row.update(inputs=meta["inputs"], outputs=meta["outputs"])
        return json_response({"models": rows})

    @r.post("/models/load", summary="Load a model of the repository",
            responses=answers(doc.V1Loaded, 400, 404, 413, 501))
    async def load(body: LoadBody):
        await plane.load(body.name)
        return json_response({"name": body.name, "state": "READY",
                              "versions": plane.repository.versions_of(body.name)})

    @r.delete("/models/{model_id}", summary="Unload a model",
              responses=answers(doc.V1Loaded, 404))
    async def unload(model_id: str):
        await plane.unload(model_id)
        return json_response({"name": model_id, "state": "UNAVAILABLE"})

    return r
