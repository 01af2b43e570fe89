#!/usr/bin/env python3
"""Train the built-in demo model and write it into the package.

A multi-layer perceptron (64 -> 64 -> 32 -> 10, ReLU, softmax) trained with scikit-learn on its
bundled 8x8 handwritten digits set (no download), exported as ONNX by hand:
``src/ai_engine/demo/digits_mlp.onnx`` plus ``digits_samples.npz`` with held-out samples and
their true labels. Deterministic: re-running gives the same model.

    python scripts/build_demo_model.py
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "src", "ai_engine", "demo")


def train():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    clf = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=600, random_state=0)
    clf.fit(x_train, y_train)
    print(f"test accuracy: {clf.score(x_test, y_test):.3f}")
    return clf, x_test, y_test


def export(clf) -> onnx.ModelProto:
    nodes, inits = [], []
    prev = "pixels"
    n_layers = len(clf.coefs_)
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        inits += [numpy_helper.from_array(w.astype(np.float32), f"fc{i}.weight"),
                  numpy_helper.from_array(b.astype(np.float32), f"fc{i}.bias")]
        out = f"fc{i}" if i < n_layers - 1 else "logits"
        nodes.append(helper.make_node("Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [out],
                                      name=f"fc{i}"))
        if i < n_layers - 1:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"], name=f"relu{i}"))
            prev = f"relu{i}"
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1,
                                  name="softmax"))
    nodes.append(helper.make_node("ArgMax", ["logits"], ["label"], axis=-1, keepdims=0,
                                  name="argmax"))
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="ai-engine demo (scikit-learn digits)")
    model.ir_version = 8
    model.doc_string = ("Handwritten digit classifier: 8x8 grey images scaled to [0, 1], "
                        "flattened to 64 values")
    onnx.checker.check_model(model)
    return model


def main() -> None:
    clf, x_test, y_test = train()
    model = export(clf)
    os.makedirs(OUT_DIR, exist_ok=True)
    onnx.save(model, os.path.join(OUT_DIR, "digits_mlp.onnx"))
    np.savez(os.path.join(OUT_DIR, "digits_samples.npz"), pixels=x_test[:16],
             labels=y_test[:16].astype(np.int64))
    print(f"wrote {OUT_DIR}/digits_mlp.onnx and digits_samples.npz")


if __name__ == "__main__":
    main()
