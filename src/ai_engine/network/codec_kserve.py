"""KServe V2 inference request/response bodies <-> :class:`InferRequest`/:class:`InferResponse`.

Spec: KServe V2 REST "Inference Request JSON Object" / "Inference Response JSON Object", and
Triton's binary tensor data extension for ``binary_data_size``, ``binary_data`` and
``binary_data_output`` (see :mod:`codec_binary`).
"""

from __future__ import annotations

import orjson

from ai_engine.network import codec_binary, codec_json, datatypes
from ai_engine.network.errors import BadRequestError, UnsupportedError
from ai_engine.network.tensor_limits import RequestBudget, TensorLimits
from ai_engine.network.types import InferRequest, InferResponse, RequestedOutput, Tensor

MAX_TIMEOUT_US = 2 ** 63 - 1


def parse_json(raw: bytes, what: str = "request body"):
    """Strict RFC 8259 JSON (orjson): no NaN/Infinity, no number that overflows a double,
    nesting at most 1024 deep; the error names the problem and where it is."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        at = raw[exc.pos:exc.pos + 9] if isinstance(raw, (bytes, bytearray)) else b""
        hint = " (NaN and Infinity are not JSON numbers)" \
            if at.lstrip(b"-").startswith((b"NaN", b"Infinity")) else ""
        raise BadRequestError(f"{what} is not valid JSON: {exc}{hint}") from None


def _obj(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadRequestError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def decode_request(body: bytes, header_length: str | None, model: str, version: str | None,
                   input_names: list[str], limits: TensorLimits) -> InferRequest:
    """The request, every input checked against the model's ``input_names`` and ``limits``
    before its data is decoded (so nothing is built for an input that will be refused)."""
    header, binary = codec_binary.split_body(body, header_length)
    doc = _obj(parse_json(header, "inference header"), "the inference request")
    params = _obj(doc.get("parameters") or {}, "'parameters'")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise BadRequestError("'inputs' must be a non-empty list of tensors")
    if len(raw_inputs) > len(input_names):
        raise BadRequestError(f"the request has {len(raw_inputs)} inputs; model {model!r} "
                              f"has {len(input_names)}: {input_names[:16]}")
    reader = codec_binary.BinaryReader(binary)
    budget = limits.budget()
    inputs, seen = [], set()
    for t in raw_inputs:
        t = _obj(t, "each input")
        name = t.get("name")
        if not isinstance(name, str):
            raise BadRequestError("every input needs a string 'name'")
        if name not in input_names:
            raise BadRequestError(f"unknown input {_short(name)} for model {model!r}; its "
                                  f"inputs are {input_names[:16]}")
        if name in seen:
            raise BadRequestError(f"input {name!r} is given twice")
        seen.add(name)
        inputs.append(_decode_input(name, t, reader, budget))
    reader.finish()
    binary_output = bool(params.get("binary_data_output", False))
    return InferRequest(model=model, version=version, inputs=inputs,
                        id=_id(doc.get("id")), parameters=params,
                        outputs=_decode_outputs(doc.get("outputs"), binary_output),
                        binary_output=binary_output, timeout_us=_timeout(params))


def _short(name: str) -> str:
    text = repr(name)
    return text if len(text) <= 80 else text[:77] + "..."


def _id(value):
    if value is not None and not isinstance(value, str):
        raise BadRequestError("'id' must be a string")
    return value


def _timeout(params: dict) -> int | None:
    t = params.get("timeout")
    if t is None:
        return None
    if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t <= MAX_TIMEOUT_US:
        raise BadRequestError(f"parameter 'timeout' must be an integer number of "
                              f"microseconds in [0, {MAX_TIMEOUT_US}], got {t!r}")
    return t or None


def _decode_input(name: str, t: dict, reader: codec_binary.BinaryReader,
                  budget: RequestBudget) -> Tensor:
    datatype = t.get("datatype")
    params = _obj(t.get("parameters") or {}, f"input {name!r} 'parameters'")
    if "binary_data_size" in params:
        if "data" in t:
            raise BadRequestError(f"input {name!r} has both 'data' and binary_data_size")
        array = reader.read(name, datatype, t.get("shape"), params["binary_data_size"], budget)
    elif "data" in t:
        array = codec_json.decode(name, datatype, t.get("shape"), t["data"], budget)
    else:
        raise BadRequestError(f"input {name!r} has neither 'data' nor binary_data_size")
    return Tensor(name, array, params)


def _decode_outputs(raw, binary_default: bool) -> list[RequestedOutput] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise BadRequestError("'outputs' must be a list")
    outs = []
    for o in raw:
        o = _obj(o, "each requested output")
        if not isinstance(o.get("name"), str):
            raise BadRequestError("every requested output needs a string 'name'")
        params = _obj(o.get("parameters") or {}, f"output {o['name']!r} 'parameters'")
        if params.get("classification"):
            raise UnsupportedError("the classification extension is not supported")
        outs.append(RequestedOutput(o["name"], bool(params.get("binary_data",
                                                                binary_default))))
    return outs


def encode_response(resp: InferResponse, req: InferRequest) -> tuple[bytes, int | None]:
    """``(body, json header length or None)``; binary outputs follow the JSON header."""
    wanted = {o.name: o.binary for o in req.outputs} if req.outputs is not None else {}
    outputs, blobs = [], []
    for t in resp.outputs:
        binary = wanted.get(t.name, req.binary_output)
        if binary:
            blob = codec_binary.serialize(t.array)
            outputs.append({"name": t.name, "datatype": datatypes.from_numpy(t.array.dtype),
                            "shape": list(t.array.shape),
                            "parameters": {"binary_data_size": len(blob)}})
            blobs.append(blob)
        else:
            datatype, shape, data = codec_json.encode(t.array)
            outputs.append({"name": t.name, "datatype": datatype, "shape": shape,
                            "data": data})
    doc = {"model_name": resp.model_name, "model_version": resp.model_version,
           "outputs": outputs}
    if resp.id is not None:
        doc["id"] = resp.id
    header = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), len(header)
