"""Per-model configuration: a subset of Triton's ``config.pbtxt``, or the same in JSON.

Triton, "Model Configuration": ``max_batch_size``, ``dynamic_batching {
preferred_batch_size, max_queue_delay_microseconds, default_queue_policy { max_queue_size }
}``, ``instance_group [{ count }]`` and ``version_policy { latest { num_versions } | all {} |
specific { versions } }``. ``config.json`` holds the same fields as JSON (Triton's own JSON
form of the config). Other fields (``input``, ``output``, ``platform``...) are accepted and
ignored, so an existing Triton repository loads unchanged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import orjson

from ai_engine.errors import ModelLoadError


@dataclass
class ModelConfig:
    """``max_batch_size`` None means "decide from the model": batch when dim 0 is dynamic."""

    max_batch_size: int | None = None
    dynamic_batching: bool = True
    preferred_batch_size: list[int] = field(default_factory=list)
    max_queue_delay_us: int | None = None
    max_queue_size: int | None = None
    instance_count: int = 1
    version_policy: tuple = ("latest", 1)

    def select_versions(self, available: list[int]) -> list[int]:
        kind = self.version_policy[0]
        if kind == "all":
            return sorted(available)
        if kind == "specific":
            return sorted(v for v in available if v in self.version_policy[1])
        return sorted(available)[-self.version_policy[1]:]

    def version_policy_dict(self) -> dict:
        """Triton's JSON form of ``version_policy``."""
        kind, *arg = self.version_policy
        if kind == "latest":
            return {"latest": {"num_versions": arg[0]}}
        if kind == "specific":
            return {"specific": {"versions": arg[0] if arg else []}}
        return {"all": {}}


def read_config(model_dir: str) -> ModelConfig:
    """The config beside the version folders; defaults when there is none."""
    for fname, parse in (("config.pbtxt", parse_pbtxt), ("config.json", _parse_json)):
        path = os.path.join(model_dir, fname)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                raw = f.read()
            try:
                return from_dict(parse(raw.decode("utf-8")))
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                raise ModelLoadError(f"{path}: {exc}") from None
    return ModelConfig()


def _parse_json(text: str) -> dict:
    doc = orjson.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("config.json must hold a JSON object")
    return doc


def from_dict(doc: dict) -> ModelConfig:
    cfg = ModelConfig()
    if "max_batch_size" in doc:
        cfg.max_batch_size = _nonneg(_one(doc["max_batch_size"]), "max_batch_size")
    dyn = doc.get("dynamic_batching")
    # Triton batches across requests only with a dynamic_batching block; with an explicit
    # max_batch_size and none, requests run one by one.
    cfg.dynamic_batching = dyn is not None or "max_batch_size" not in doc
    dyn = _one(dyn) or {}
    cfg.preferred_batch_size = [_nonneg(v, "preferred_batch_size")
                                for v in _many(dyn.get("preferred_batch_size", []))]
    if "max_queue_delay_microseconds" in dyn:
        cfg.max_queue_delay_us = _nonneg(_one(dyn["max_queue_delay_microseconds"]),
                                         "max_queue_delay_microseconds")
    policy = _one(dyn.get("default_queue_policy")) or {}
    size = policy.get("max_queue_size", dyn.get("max_queue_size"))
    if size is not None:
        cfg.max_queue_size = _nonneg(_one(size), "max_queue_size") or None
    groups = _many(doc.get("instance_group", []))
    if groups:
        cfg.instance_count = max(1, sum(_nonneg(_one(g.get("count", 1)), "count")
                                        for g in groups))
    cfg.version_policy = _version_policy(_one(doc.get("version_policy")) or {})
    return cfg


def _version_policy(vp: dict) -> tuple:
    if "all" in vp:
        return ("all",)
    if "specific" in vp:
        return ("specific", [int(v) for v in _many(_one(vp["specific"]).get("versions", []))])
    if "latest" in vp:
        return ("latest", max(1, _nonneg(_one(_one(vp["latest"]).get("num_versions", 1)),
                                          "num_versions")))
    return ("latest", 1)


def _one(v):
    return v[-1] if isinstance(v, list) and v and not isinstance(v[0], (int, str)) else v


def _many(v) -> list:
    return v if isinstance(v, list) else [v]


def _nonneg(v, what: str) -> int:
    v = int(v)
    if v < 0:
        raise ValueError(f"{what} must be >= 0, got {v}")
    return v


_TOKEN = re.compile(r'\s*(?:#[^\n]*\n?|([{}\[\]:,])|"((?:[^"\\]|\\.)*)"|([^\s{}\[\]:,"#]+))')


def parse_pbtxt(text: str) -> dict:
    """Protobuf text format into nested dicts; a repeated field becomes a list."""
    tokens = _tokenize(text)
    doc, pos = _message(tokens, 0)
    if pos != len(tokens):
        raise ValueError(f"unexpected {tokens[pos][1]!r}")
    return doc


def _tokenize(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip():
                raise ValueError(f"cannot parse config near {text[pos:pos + 20]!r}")
            break
        pos = m.end()
        punct, string, word = m.groups()
        if punct:
            out.append(("p", punct))
        elif string is not None:
            out.append(("v", string))
        elif word:
            out.append(("v", int(word) if re.fullmatch(r"-?\d+", word) else word))
    return out


def _message(tokens, pos) -> tuple[dict, int]:
    doc: dict = {}
    while pos < len(tokens) and tokens[pos] != ("p", "}"):
        kind, name = tokens[pos]
        if kind != "v":
            raise ValueError(f"expected a field name, got {name!r}")
        pos += 1
        if tokens[pos] == ("p", ":"):
            pos += 1
        value, pos = _value(tokens, pos)
        if name in doc:
            prev = doc[name] if isinstance(doc[name], list) else [doc[name]]
            doc[name] = prev + (value if isinstance(value, list) else [value])
        else:
            doc[name] = value
        if pos < len(tokens) and tokens[pos] == ("p", ","):
            pos += 1
    return doc, pos


def _value(tokens, pos):
    tok = tokens[pos]
    if tok == ("p", "{"):
        doc, pos = _message(tokens, pos + 1)
        return doc, pos + 1
    if tok == ("p", "["):
        items, pos = [], pos + 1
        while tokens[pos] != ("p", "]"):
            item, pos = _value(tokens, pos)
            items.append(item)
            if tokens[pos] == ("p", ","):
                pos += 1
        return items, pos + 1
    return tok[1], pos + 1
