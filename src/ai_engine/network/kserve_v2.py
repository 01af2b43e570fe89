"""KServe V2 / Open Inference Protocol REST routes, plus Triton's HTTP extensions.

Sections of https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/:
"Health" (``/v2/health/live|ready``, ``/v2/models/{m}[/versions/{v}]/ready``), "Server
Metadata" (``GET /v2``), "Model Metadata", "Inference" (``POST .../infer``). Triton
extensions: binary tensor data, model repository (``/v2/repository/...``), statistics
(``.../stats``), model configuration (``.../config``). Handlers only translate HTTP; the work
is in :class:`DataPlane`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ai_engine.errors import EngineError
from ai_engine.network import codec_kserve
from ai_engine.network import openapi_doc as doc
from ai_engine.network.codec_binary import HEADER
from ai_engine.network.dataplane import DataPlane
from ai_engine.network.errors import BadRequestError
from ai_engine.network.http_util import json_response, read_body, unless_disconnected
from ai_engine.network.openapi_doc import answers, json_body


def build_router(plane: DataPlane, body_limit: int) -> APIRouter:
    r = APIRouter(tags=["KServe V2"])

    @r.get("/v2/health/live", summary="Server liveness", responses=answers(doc.Live))
    async def live():
        return json_response({"live": True})

    @r.get("/v2/health/ready", summary="Server readiness: startup loading finished",
           responses=answers(doc.Ready, 503))
    async def ready():
        if plane.ready():
            return json_response({"ready": True})
        return json_response({"error": "server is not ready: models are loading"}, 503)

    @r.get("/v2", summary="Server metadata", responses=answers(doc.ServerMetadata))
    async def server_metadata():
        return json_response(plane.server_metadata())

    @r.get("/v2/models/stats", summary="Statistics of every loaded model",
           responses=answers(doc.StatsBody))
    async def all_stats():
        return json_response(plane.model_stats())

    for suffix in ("", "/versions/{version}"):
        base = "/v2/models/{model}" + suffix

        @r.get(base, summary="Model metadata", responses=answers(doc.ModelMetadata, 404, 503))
        async def metadata(model: str, version: str | None = None):
            return json_response(plane.model_metadata(model, version))

        @r.get(base + "/ready", summary="Model readiness",
               responses=answers(doc.ModelReady, 400))
        async def model_ready(model: str, version: str | None = None):
            try:
                plane.repository.get(model, version)
            except EngineError as exc:  # KServe: "4xx" when not ready
                return json_response({"error": str(exc)}, min(exc.http_status, 400))
            return json_response({"name": model, "ready": True})

        @r.get(base + "/config", summary="Model configuration (Triton JSON form)",
               responses=answers(doc.TritonModelConfig, 404, 503))
        async def config(model: str, version: str | None = None):
            return json_response(plane.model_config(model, version))

        @r.get(base + "/stats", summary="Model statistics",
               responses=answers(doc.StatsBody, 404, 503))
        async def stats(model: str, version: str | None = None):
            return json_response(plane.model_stats(model, version))

        @r.post(base + "/infer", summary="Inference (JSON or binary tensor data)",
                responses=answers(doc.InferResponseBody, 400, 404, 413, 429, 501, 503,
                                  ok_media=("application/octet-stream",)),
                openapi_extra=json_body(doc.InferRequestBody, binary=True))
        async def infer(request: Request, model: str, version: str | None = None):
            input_names = plane.input_names(model, version)  # 404/503 before the body
            body = await read_body(request, body_limit)
            req = codec_kserve.decode_request(body, request.headers.get(HEADER), model,
                                              version, input_names, plane.limits)
            resp = await unless_disconnected(request, plane.infer(req))
            out, header_len = codec_kserve.encode_response(resp, req)
            if header_len is None:
                return Response(out, media_type="application/json")
            return Response(out, media_type="application/octet-stream",
                            headers={HEADER: str(header_len)})

    @r.post("/v2/repository/index", summary="Repository index",
            responses=answers(list[doc.IndexRow], 400, 413),
            openapi_extra=json_body(doc.IndexRequest, required=False))
    async def index(request: Request):
        body = await read_body(request, body_limit)
        doc = codec_kserve.parse_json(body) if body.strip() else {}
        if not isinstance(doc, dict):
            raise BadRequestError("the index request body must be a JSON object")
        return json_response(plane.index(bool(doc.get("ready", False))))

    @r.post("/v2/repository/models/{model}/load", summary="Load or reload a model",
            responses=answers(doc.Empty, 400, 404, 501))
    async def load(model: str):
        await plane.load(model)
        return json_response({})

    @r.post("/v2/repository/models/{model}/unload", summary="Unload a model",
            responses=answers(doc.Empty, 404))
    async def unload(model: str):
        await plane.unload(model)
        return json_response({})

    return r

