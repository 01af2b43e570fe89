#!/usr/bin/env python3
"""Export the "model zoo" test networks with PyTorch (random weights) into tests/models/zoo.

Developer tool, not needed to run the tests: the exported .onnx files are committed. Needs
``pip install torch==2.13.0 onnxscript`` (CPU build). Every architecture is exported twice:

* ``NAME_ts.onnx``: TorchScript exporter (``dynamo=False``, opset 17): Shape/Gather/Concat/
  Reshape chains, Gelu/LayerNorm decomposed into primitive ops, Conv+BN folded.
* ``NAME_dynamo.onnx``: torch.export-based exporter (``dynamo=True``, opset 18): native
  LayerNormalization, opset-18 Reduce*/Split forms, BatchNormalization kept, SymInt shape math.

Variants (other opsets, exporter options, onnxruntime's quantizers) and a few scikit-learn models
(``NAME_skl.onnx``, skl2onnx) complete the set: see VARIANTS, quantize() and sklearn_models().

Widths are small on purpose: each file stays well under 3 MB. The matching test is
tests/models/test_zoo_models.py, whose FEEDS table must know every name exported here.

    python scripts/export_zoo_models.py [NAME ...]

The architectures live in scripts/zoo_vision.py and scripts/zoo_sequence.py.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn
from zoo_sequence import (GPT2, MHAModel, Bert, Block, GPT2Cached, GreedyDecoder, Llama, Ranker,
                          Speech, ViT)
from zoo_vision import EfficientNet, GrabBag, MobileNetV2, ResNet18, UNet, YoloHead

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "models", "zoo")
# The TorchScript exporter bakes nn.MultiheadAttention's traced sizes into Reshape constants, so
# its graph only runs at the example shape: export it with static shapes.
STATIC_TS = {"mha"}
# The dynamo exporter fails to decompose aten.gru once any input dimension is dynamic
# ("size of tensor a (32) must match the size of tensor b (96)", torch 2.13): export it static.
STATIC_DYNAMO = {"speech"}
# torch.export cannot take a scripted module (and would unroll the loop anyway).
TS_ONLY = {"greedy"}


# ---------------------------------------------------------------- export
def _randomize_bn(model):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def _image(h=64, dynamic_hw=False):
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_hw else {0: "batch"}
    return (torch.randn(1, 3, h, h),), ["image"], {"image": axes}


def _zoo():
    """name -> (model, example args, input names, dynamic axes of the inputs, output names)."""
    ids = torch.randint(0, 200, (1, 16))
    bert_args = (ids, torch.ones(1, 16, dtype=torch.int64), torch.zeros(1, 16, dtype=torch.int64))
    seq = {0: "batch", 1: "sequence"}
    return {
        "resnet18": (ResNet18(), *_image(dynamic_hw=True), ["logits"]),
        "mobilenetv2": (MobileNetV2(), *_image(dynamic_hw=True), ["logits"]),
        "efficientnet": (EfficientNet(), *_image(dynamic_hw=True), ["logits"]),
        "vit": (ViT(), *_image(32), ["logits"]),
        "gpt2": (GPT2(), (torch.randint(0, 256, (1, 16)),), ["input_ids"],
                 {"input_ids": seq}, ["logits"]),
        "gpt2kv": (GPT2Cached(), (torch.randint(0, 256, (1, 4)),
                                  *[torch.randn(1, 4, 6, 16) for _ in range(4)]),
                   ["input_ids", "past_key_0", "past_value_0", "past_key_1", "past_value_1"],
                   {"input_ids": seq, **{n: {0: "batch", 2: "past"} for n in
                                         ("past_key_0", "past_value_0", "past_key_1",
                                          "past_value_1")}},
                   ["logits", "present_key_0", "present_value_0", "present_key_1",
                    "present_value_1"]),
        "bert": (Bert(), bert_args, ["input_ids", "attention_mask", "token_type_ids"],
                 {"input_ids": seq, "attention_mask": seq, "token_type_ids": seq},
                 ["last_hidden_state", "pooler_output"]),
        "speech": (Speech(), (torch.randn(1, 20, 50),), ["features"],
                   {"features": {0: "batch", 2: "time"}}, ["log_probs"]),
        "unet": (UNet(), *_image(dynamic_hw=True), ["segmentation", "aux"]),
        "yolo": (YoloHead(), *_image(), ["detections"]),
        "grabbag": (GrabBag(), *_image(dynamic_hw=True), ["logits", "features"]),
        "llama": (Llama(), (torch.randint(0, 128, (1, 12)),), ["input_ids"], {"input_ids": seq},
                  ["logits"]),
        "ranker": (Ranker(), (torch.randn(1, 30, 16), torch.randn(1, 16)), ["items", "query"],
                   {"items": {0: "batch", 1: "n"}, "query": {0: "batch"}},
                   ["top_scores", "top_items", "cumulative", "best", "score"]),
        "greedy": (torch.jit.script(GreedyDecoder()), (torch.tensor([1]), torch.randn(1, 16), 5),
                   ["token", "hidden", "steps"], {"token": {0: "batch"}, "hidden": {0: "batch"}},
                   ["logits"]),
        "mha": (MHAModel(), (torch.randn(1, 10, 16), torch.randn(1, 7, 24)), ["x", "memory"],
                {"x": {0: "batch", 1: "tgt"}, "memory": {0: "batch", 1: "src"}},
                ["output", "attn_weights"]),
    }


# Older opsets are still common in the wild and take other paths: LayerNorm decomposed into
# ReduceMean/Pow/Sqrt, Split/Unsqueeze/Squeeze axes as attributes, Clip min/max attributes,
# HardSwish as HardSigmoid*Mul, Upsample instead of Resize, Resize-11 with an roi input.
# Newer ones emit fused ops (Gelu-20, Attention-23). "raw": do_constant_folding=False keeps
# BatchNormalization and the exporter's constant subgraphs; "initin": initializers also listed
# as graph inputs (keep_initializers_as_inputs, the default of old exporters); "fn": blocks and
# LayerNorms as model-local functions (FunctionProto, export_modules_as_functions).
VARIANTS = {
    "mobilenetv2": [("ts9", False, 9), ("ts11initin", False, 11)],
    "efficientnet": [("ts11", False, 11), ("tsraw", False, 17)],
    "bert": [("ts11", False, 11)],
    "gpt2": [("ts14", False, 14), ("dynamo23", True, 23), ("tsraw", False, 17),
             ("tsfn", False, 17)],
    "unet": [("ts11", False, 11)],
    "yolo": [("ts11", False, 11)],
    "vit": [("dynamo23", True, 23)],
    "mha": [("dynamo23", True, 23)],
}


def export(name, model, args, input_names, dyn, output_names, tag, dynamo, opset):
    path = os.path.join(OUT, f"{name}_{tag}.onnx")
    axes = dict(dyn)
    for o in output_names:
        if dyn:
            axes[o] = {0: "batch"}
    kw = dict(input_names=input_names, output_names=output_names)
    if dynamo:
        # torch.export specializes a dimension whose example size is 1: trace with batch 2.
        args = tuple(a.expand(2, *a.shape[1:]).contiguous() for a in args)
        kw.update(dynamo=True, opset_version=opset, external_data=False,
                  dynamic_shapes=tuple({a: torch.export.Dim.DYNAMIC for a in dyn.get(n, {})}
                                       for n in input_names) if dyn else None)
    else:
        kw.update(dynamo=False, opset_version=opset, dynamic_axes=axes,
                  do_constant_folding="raw" not in tag,
                  keep_initializers_as_inputs="initin" in tag,
                  export_modules_as_functions={Block, nn.LayerNorm} if "fn" in tag else False)
    try:
        torch.onnx.export(model, args, path, **kw)
    except Exception as exc:                                   # report, keep exporting
        print(f"FAILED {path}: {type(exc).__name__}: {str(exc)[:300]}")
        return
    print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} KiB)")


def quantize(names):
    """Quantized variants as onnxruntime's tools write them: dynamic (DynamicQuantizeLinear +
    MatMulInteger) for the transformer, static QDQ (QuantizeLinear/DequantizeLinear pairs around
    float ops) for the CNN. The com.microsoft QOperator format is not ONNX and not covered."""
    import numpy as np
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)

    class Images(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.it = iter([{"image": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}
                            for _ in range(4)])

        def get_next(self):
            return next(self.it, None)

    if not names or "bert" in names:
        path = os.path.join(OUT, "bert_qdynamic.onnx")
        quantize_dynamic(os.path.join(OUT, "bert_ts.onnx"), path, weight_type=QuantType.QInt8)
        print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} KiB)")
    if not names or "mobilenetv2" in names:
        path = os.path.join(OUT, "mobilenetv2_qdq.onnx")
        quantize_static(os.path.join(OUT, "mobilenetv2_ts.onnx"), path, Images(),
                        quant_format=QuantFormat.QDQ)
        print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} KiB)")


def sklearn_models(names):
    """Classical ML as skl2onnx writes it (``pip install skl2onnx scikit-learn``): ai.onnx.ml
    operators (trees, linear, SVM with libsvm probabilities), classifiers ending in ZipMap (a
    sequence of maps), string class labels."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_classification, make_regression
    from sklearn.decomposition import PCA
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    X, y = make_classification(200, 8, n_informative=5, n_classes=3, random_state=0)
    Xr, yr = make_regression(200, 8, random_state=0)
    X, Xr = X.astype(np.float32), Xr.astype(np.float32)
    labels = np.array(["cat", "dog", "eel"])[y]
    zoo = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
        "forest": RandomForestClassifier(10, max_depth=6, random_state=0).fit(X, labels),
        "gbr": GradientBoostingRegressor(n_estimators=20, random_state=0).fit(Xr, yr),
        "kmeans": make_pipeline(PCA(4), KMeans(3, n_init=2, random_state=0)).fit(X),
        "mlpclf": MLPClassifier((16,), max_iter=300, random_state=0).fit(X, labels),
        "svc": make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)).fit(X, y),
        "svr": SVR(kernel="poly", degree=2).fit(Xr, yr),
        # Binary, no probabilities: one decision value, scores [-d, d], string labels.
        "svcbin": SVC(kernel="sigmoid", gamma=0.05).fit(X, np.array(["no", "yes"])[y % 2]),
    }
    for name, model in zoo.items():
        if names and name not in names:
            continue
        path = os.path.join(OUT, f"{name}_skl.onnx")
        with open(path, "wb") as f:
            f.write(to_onnx(model, X[:1], target_opset={"": 17, "ai.onnx.ml": 3})
                    .SerializeToString())
        print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} KiB)")


def main(names):
    os.makedirs(OUT, exist_ok=True)
    for name, (model, args, inputs, dyn, outputs) in _zoo().items():
        if names and name not in names:
            continue
        torch.manual_seed(0)
        _randomize_bn(model)
        model.eval()
        default = [("ts", False, 17)] + ([] if name in TS_ONLY else [("dynamo", True, 18)])
        for tag, dynamo, opset in default + VARIANTS.get(name, []):
            static = name in (STATIC_DYNAMO if dynamo else STATIC_TS)
            export(name, model, args, inputs, {} if static else dyn, outputs, tag, dynamo, opset)


if __name__ == "__main__":
    torch.manual_seed(0)
    main(sys.argv[1:])
    quantize(sys.argv[1:])
    sklearn_models(sys.argv[1:])
