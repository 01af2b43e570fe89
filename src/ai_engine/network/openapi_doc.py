"""What the published OpenAPI schema says about each route: bodies, answers, statuses.

The schema is a contract that clients generate code from and that the schemathesis test
fuzzes (tests/network/test_openapi_fuzz.py), so it must say what the server really does:
the KServe V2 request and response objects (KServe V2 REST, "Inference Request JSON Object",
"Model Metadata Response JSON Object", ...), every status a route can answer with the
``{"error"}`` body of "HTTP/REST > Errors", and no FastAPI 422 (invalid bodies answer 400
here, see app.py). The models document; handlers build their answers themselves.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    error: str


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class RequestTensor(BaseModel):
    name: str
    shape: list[int] = Field(description="non-negative dims, row-major")
    datatype: str = Field(description="BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, "
                                      "BF16, BYTES")
    parameters: dict[str, Any] | None = Field(None, description="binary_data_size: N for "
                                                                "binary tensor data")
    data: Any = Field(None, description="flat or nested row-major values")


class RequestOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferRequestBody(BaseModel):
    id: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="timeout (microseconds, "
                                                                "queue and execution), "
                                                                "binary_data_output")
    inputs: list[RequestTensor] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


class ResponseTensor(_Open):
    name: str
    datatype: str
    shape: list[int]


class InferResponseBody(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[ResponseTensor]


class TritonModelConfig(_Open):
    name: str
    platform: str
    max_batch_size: int


class ModelStats(_Open):
    name: str
    version: str
    inference_count: int
    execution_count: int


class StatsBody(BaseModel):
    model_stats: list[ModelStats]


class IndexRow(BaseModel):
    name: str
    version: str | None = None
    state: Literal["LOADING", "READY", "UNLOADING", "UNAVAILABLE"]
    reason: str


class IndexRequest(BaseModel):
    ready: bool | None = None


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class V1Health(BaseModel):
    status: Literal["ok", "loading"]
    live: bool
    ready: bool
    models: dict[str, str]


class V1Output(BaseModel):
    data: Any
    shape: list[int]
    dtype: str


class V1Infer(BaseModel):
    model: str
    version: str
    outputs: dict[str, V1Output]


class V1BatchItem(BaseModel):
    outputs: dict[str, V1Output] | None = None
    error: str | None = None
    status: int | None = None


class V1Batch(BaseModel):
    model: str
    responses: list[V1BatchItem]


class V1ModelRow(_Open):
    name: str
    state: str


class V1Models(BaseModel):
    models: list[V1ModelRow]


class V1Loaded(BaseModel):
    name: str
    state: str
    versions: list[str] | None = None


_WHY = {400: "malformed request, bad input, or model failed to load",
        401: "missing or invalid API key", 404: "unknown model, version or route",
        409: "a repository action is already running for the model",
        413: "body or declared tensors over the server's limits",
        429: "the model's queue is full", 501: "unsupported feature or operator",
        503: "not ready, unloading, shutting down, or the request's timeout expired "
             "(the error names the phase: queue or execution)"}


def answers(ok_model=None, *statuses: int, ok_media: tuple[str, ...] = ()) -> dict:
    """``responses=`` for a route: its 200 body and the error statuses it can answer."""
    out: dict = {}
    if ok_model is not None:
        out[200] = {"model": ok_model}
    for media in ok_media:
        out.setdefault(200, {}).setdefault("content", {})[media] = {}
    for status in statuses:
        out[status] = {"model": ErrorBody, "description": _WHY[status]}
    return out


def json_body(model: type[BaseModel], required: bool = True, binary: bool = False) -> dict:
    """``openapi_extra=`` for a route that reads its body itself (gzip; with ``binary``, the
    binary tensor data extension too)."""
    content = {"application/json": {"schema": {
        "$ref": f"#/components/schemas/{model.__name__}"}}}
    if binary:
        content["application/octet-stream"] = {
            "schema": {"type": "string", "format": "binary",
                       "description": "JSON header (Inference-Header-Content-Length bytes) "
                                      "followed by binary tensor data"}}
    return {"requestBody": {"required": required, "content": content}}


def finish(spec: dict, models: list[type[BaseModel]], api_keys: bool) -> dict:
    """Replace FastAPI's 422 by the 400 this server answers; add the schemas that
    :func:`json_body` refers to; say 401 everywhere but health when API keys are on."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        for name, schema in model.model_json_schema(
                ref_template="#/components/schemas/{model}").get("$defs", {}).items():
            schemas.setdefault(name, schema)
        schemas[model.__name__] = {k: v for k, v in model.model_json_schema(
            ref_template="#/components/schemas/{model}").items() if k != "$defs"}
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
    error = {"description": _WHY[400], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for path, ops in spec["paths"].items():
        for op in ops.values():
            responses = op.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", error)
            if api_keys and not path.startswith(("/v2/health/", "/api/v1/health")):
                responses.setdefault("401", {**error, "description": _WHY[401]})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec
