#!/usr/bin/env python3
"""Export the real-model test networks with PyTorch (random weights) into tests/models/data.

Developer tool, not needed to run the tests: the exported .onnx files are committed. Needs
``pip install torch==2.13.0`` (CPU build). Uses the TorchScript exporter (``dynamo=False``),
whose graphs carry the Shape/Gather/Concat/Reshape patterns found in models in the wild.

    python scripts/export_test_models.py
"""

from __future__ import annotations

import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "models", "data")


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2),
                                    BasicBlock(32, 64, 2))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 project, ReLU6, residual."""

    def __init__(self, c, expand=4, stride=1):
        super().__init__()
        hidden = c * expand
        self.block = nn.Sequential(
            nn.Conv2d(c, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.block(x)


class TinyMobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU6())
        self.blocks = nn.Sequential(InvertedResidual(16), InvertedResidual(16),
                                    nn.Conv2d(16, 16, 3, 2, 1, groups=16), InvertedResidual(16))
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 64)
        self.layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, activation="gelu",
                                                batch_first=True)
        self.norm = nn.LayerNorm(64)

    def forward(self, tokens):
        return self.norm(self.layer(self.embed(tokens)))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True, bidirectional=True)
        self.out = nn.Linear(64, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.out(y)


def _randomize_bn(model):
    # Fresh BatchNorm statistics are 0/1; random ones make the folding tests meaningful.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def export(name, model, example, input_names, dynamic_axes, opset=17, fold=True):
    model.eval()
    path = os.path.join(OUT, f"{name}.onnx")
    # fold=False keeps BatchNormalization nodes (the exporter would fold them into the convs).
    torch.onnx.export(model, example, path, input_names=input_names, output_names=["output"],
                      dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False,
                      do_constant_folding=fold)
    print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} KiB)")


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    resnet, mobilenet = TinyResNet(), TinyMobileNet()
    _randomize_bn(resnet)
    _randomize_bn(mobilenet)
    export("tiny_resnet", resnet, torch.randn(1, 3, 64, 64), ["image"],
           {"image": {0: "batch"}, "output": {0: "batch"}}, fold=False)
    export("tiny_mobilenet", mobilenet, torch.randn(1, 3, 64, 64), ["image"],
           {"image": {0: "batch"}, "output": {0: "batch"}}, fold=False)
    export("transformer_encoder", Encoder(), torch.randint(0, 100, (1, 16)), ["tokens"],
           {"tokens": {0: "batch", 1: "sequence"}, "output": {0: "batch", 1: "sequence"}})
    export("lstm_tagger", Recurrent(), torch.randn(1, 12, 16), ["features"],
           {"features": {0: "batch", 1: "time"}, "output": {0: "batch", 1: "time"}})


if __name__ == "__main__":
    main()
