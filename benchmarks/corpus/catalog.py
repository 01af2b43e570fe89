"""The benchmark corpus: every model, how it is built, the feeds it is timed on, how close the
engines' outputs must agree.

Importing this module needs NumPy only; the builders (torch, onnxruntime.quantization) are
named as ``"module:function"`` and imported by ``build.py`` alone, so the timing process never
loads torch and its thread pool.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

Feeds = dict[str, np.ndarray]
HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("AI_ENGINE_CORPUS_CACHE", os.path.join(HERE, ".cache"))


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    builder: str                       # "module:function(path)", or the variant's kind
    feeds: Callable[[int, int], Feeds]  # (batch, seed) -> feeds
    rtol: float = 1e-3                 # max |a - ref| / max |ref| allowed, per output
    twin: str | None = None            # the float32 model a reduced-precision variant is of
    batches: tuple[int, ...] = (1, 8)  # the batch sizes this model is measured at

    @property
    def sources(self) -> list[str]:
        """Corpus modules whose code decides this model (their hash keys the cache)."""
        if self.twin:
            return ["variants"]
        return [self.builder.split(":")[0], "export"]

    @property
    def path(self) -> str:
        return os.path.join(CACHE, self.name + ".onnx")

    def recipe(self) -> str:
        """Hash of the code that builds this model (and its twin's): a change rebuilds it."""
        digest = hashlib.sha256()
        for entry in filter(None, (self, BY_NAME.get(self.twin or ""))):
            for module in entry.sources:
                with open(os.path.join(HERE, module + ".py"), "rb") as f:
                    digest.update(f.read())
        return digest.hexdigest()[:16]

    def meta(self) -> dict | None:
        """What ``build.py`` recorded (GFLOP at batch 1, recipe), or None if not built."""
        try:
            with open(os.path.join(CACHE, self.name + ".json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def is_built(self) -> bool:
        meta = self.meta()
        return bool(meta) and meta.get("recipe") == self.recipe() and os.path.isfile(self.path)


def _normal(name, shape, scale=1.0):
    def make(batch, seed):
        rng = np.random.default_rng(seed)
        return {name: (rng.standard_normal((batch, *shape)) * scale).astype(np.float32)}
    return make


def _bert(batch, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 30522, (batch, 128), dtype=np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids)}


def _gpt2(batch, seed):
    return {"input_ids": np.random.default_rng(seed).integers(0, 50257, (batch, 64),
                                                              dtype=np.int64)}


def _vad(batch, seed):
    rng = np.random.default_rng(seed)
    return {"x": (rng.standard_normal((batch, 512)) * 0.1).astype(np.float32),
            "sr": np.array(16000, dtype=np.int64),
            "state": (rng.standard_normal((2, batch, 128)) * 0.1).astype(np.float32)}


def _bytes(batch, seed):
    return {"bytes": np.random.default_rng(seed).integers(0, 257, (batch, 2048),
                                                          dtype=np.int32)}


def _images01(name, shape):
    def make(batch, seed):
        return {name: np.random.default_rng(seed).random((batch, *shape), dtype=np.float32)}
    return make


_IMAGE = _normal("input", (3, 224, 224))

ENTRIES = [
    Entry("resnet50", "ResNet-50", "cnn:build_resnet50", _IMAGE),
    Entry("mobilenetv2", "MobileNetV2", "cnn:build_mobilenetv2", _IMAGE),
    Entry("efficientnet_b0", "EfficientNet-B0", "cnn:build_efficientnet_b0", _IMAGE),
    Entry("vit_b16", "ViT-B/16", "transformer:build_vit_b16",
          _normal("pixel_values", (3, 224, 224))),
    Entry("bert_base", "BERT-base, seq 128", "transformer:build_bert_base", _bert),
    Entry("gpt2", "GPT-2, seq 64", "transformer:build_gpt2", _gpt2),
    Entry("yolov8", "YOLOv8-style detector, 320 px", "detector:build_yolov8",
          _images01("images", (3, 320, 320))),
    Entry("ocr_det", "OCR text detector (DB-style), 640 px", "ocr:build_ocr_det",
          _normal("x", (3, 640, 640))),
    Entry("ocr_rec", "OCR text recognizer (CRNN-style)", "ocr:build_ocr_rec",
          _normal("x", (3, 48, 320))),
    Entry("ocr_cls", "OCR direction classifier (tiny CNN)", "ocr:build_ocr_cls",
          _normal("x", (3, 48, 192))),
    Entry("byte_classifier", "byte-level content classifier, 2048 bytes",
          "bytes_classifier:build_byte_classifier", _bytes),
    Entry("lstm", "2-layer LSTM, 32 steps", "recurrent:build_lstm", _normal("x", (32, 64))),
    Entry("vad", "voice-activity model (LSTM state, If on sr, 1-D convs)",
          "recurrent:build_vad", _vad),
    Entry("mobilenetv2_int8_qdq", "MobileNetV2 int8 QDQ", "qdq", _IMAGE, 0.1, "mobilenetv2"),
    Entry("mobilenetv2_int8_dynamic", "MobileNetV2 int8 dynamic", "dynamic", _IMAGE, 0.1,
          "mobilenetv2"),
    Entry("mobilenetv2_fp16", "MobileNetV2 float16", "float16", _IMAGE, 2e-2, "mobilenetv2"),
    # Batch 1 only: at batch 8 one ai-engine call of the int8 BERTs took 68 s (2026-12), which
    # alone would exceed the whole run's budget; batch 1 answers "as fast as the float twin?".
    Entry("bert_base_int8_qdq", "BERT-base int8 QDQ", "qdq", _bert, 0.1, "bert_base", (1,)),
    Entry("bert_base_int8_dynamic", "BERT-base int8 dynamic", "dynamic", _bert, 0.1,
          "bert_base", (1,)),
    Entry("bert_base_fp16", "BERT-base float16", "float16", _bert, 2e-2, "bert_base", (1,)),
]

BY_NAME = {e.name: e for e in ENTRIES}


def select(names: list[str] | None) -> list[Entry]:
    """The entries named (all when ``names`` is empty), in corpus order; unknown names fail."""
    if not names:
        return list(ENTRIES)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise SystemExit(f"unknown model(s) {', '.join(unknown)}; the corpus has: "
                         + ", ".join(BY_NAME))
    return [e for e in ENTRIES if e.name in names]
