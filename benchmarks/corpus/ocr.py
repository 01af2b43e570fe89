"""OCR: a DB-style text detector (640 px), a CRNN-style recognizer, a direction classifier.

Shaped after the PaddleOCR mobile models users run: the detector is a MobileNetV3-style
backbone (depthwise convs, SE, hardswish), an FPN with nearest upsampling and a DB head with
two transposed convs back to full resolution (Liao et al. 2019); the recognizer is a conv stack
down to height 1, a 2-layer bidirectional LSTM and a per-step softmax over 6625 characters
(Shi et al. 2015); the direction classifier is a tiny CNN choosing 0 or 180 degrees.
"""

from __future__ import annotations

import torch
from torch import nn

from corpus.cnn import SqueezeExcite, conv_bn
from corpus.export import export, randomize_norms

DET_SIZE, REC_SHAPE, CLS_SHAPE, REC_CLASSES = 640, (3, 48, 320), (3, 48, 192), 6625


class MobileBlock(nn.Module):
    """MobileNetV3 bottleneck: expand 1x1, depthwise kxk, optional SE, project 1x1."""

    def __init__(self, cin, hidden, cout, k, stride, se, act):
        super().__init__()
        layers = [conv_bn(cin, hidden, 1, act=act),
                  conv_bn(hidden, hidden, k, stride, groups=hidden, act=act)]
        if se:
            layers.append(SqueezeExcite(hidden, max(8, hidden // 4)))
        layers.append(conv_bn(hidden, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class TextDetector(nn.Module):
    # (kernel, hidden, out, SE, activation, stride) of MobileNetV3-large at scale 0.5
    STAGES = (((3, 8, 8, False, nn.ReLU, 1), (3, 32, 12, False, nn.ReLU, 2),
               (3, 36, 12, False, nn.ReLU, 1)),
              ((5, 36, 20, True, nn.ReLU, 2), (5, 60, 20, True, nn.ReLU, 1),
               (5, 60, 20, True, nn.ReLU, 1)),
              ((3, 120, 40, False, nn.Hardswish, 2), (3, 100, 40, False, nn.Hardswish, 1),
               (3, 92, 40, False, nn.Hardswish, 1), (3, 92, 40, False, nn.Hardswish, 1),
               (3, 240, 56, True, nn.Hardswish, 1), (3, 336, 56, True, nn.Hardswish, 1)),
              ((5, 336, 80, True, nn.Hardswish, 2), (5, 480, 80, True, nn.Hardswish, 1),
               (5, 480, 80, True, nn.Hardswish, 1)))

    def __init__(self, fpn=96):
        super().__init__()
        self.stem = conv_bn(3, 8, 3, 2, act=nn.Hardswish)
        self.stages, cin, widths = nn.ModuleList(), 8, []
        for stage in self.STAGES:
            blocks = []
            for k, hidden, cout, se, act, stride in stage:
                blocks.append(MobileBlock(cin, hidden, cout, k, stride, se, act))
                cin = cout
            self.stages.append(nn.Sequential(*blocks))
            widths.append(cin)
        self.lateral = nn.ModuleList(nn.Conv2d(w, fpn, 1, bias=False) for w in widths)
        self.smooth = nn.ModuleList(nn.Conv2d(fpn, fpn // 4, 3, padding=1, bias=False)
                                    for _ in widths)
        self.head = nn.Sequential(
            conv_bn(fpn, fpn // 4, 3), nn.ConvTranspose2d(fpn // 4, fpn // 4, 2, 2),
            nn.BatchNorm2d(fpn // 4), nn.ReLU(), nn.ConvTranspose2d(fpn // 4, 1, 2, 2),
            nn.Sigmoid())

    def forward(self, x):
        feats, x = [], self.stem(x)
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        laterals = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(laterals) - 1, 0, -1):  # top-down: upsample and add
            laterals[i - 1] = laterals[i - 1] + nn.functional.interpolate(
                laterals[i], scale_factor=2.0, mode="nearest")
        size = laterals[0].shape[-2:]
        maps = [nn.functional.interpolate(conv(f), size=size, mode="nearest") if i else conv(f)
                for i, (conv, f) in enumerate(zip(self.smooth, laterals))]
        return self.head(torch.cat(maps[::-1], dim=1))


class TextRecognizer(nn.Module):
    def __init__(self, classes=REC_CLASSES, hidden=96):
        super().__init__()
        self.cnn = nn.Sequential(
            conv_bn(3, 32, 3), nn.MaxPool2d(2, 2),                  # 24 x 160
            conv_bn(32, 64, 3), nn.MaxPool2d(2, 2),                 # 12 x 80
            conv_bn(64, 128, 3), conv_bn(128, 128, 3), nn.MaxPool2d((2, 1), (2, 1)),  # 6 x 80
            conv_bn(128, 256, 3), conv_bn(256, 256, 3), nn.MaxPool2d((2, 1), (2, 1)),  # 3 x 80
            nn.Conv2d(256, 256, (3, 1)), nn.BatchNorm2d(256), nn.ReLU())  # 1 x 80
        self.rnn = nn.LSTM(256, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        seq = self.cnn(x).squeeze(2).transpose(1, 2)  # (batch, 80 steps, 256)
        out, _ = self.rnn(seq)
        return torch.softmax(self.fc(out), dim=-1)


class DirectionClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv_bn(3, 16, 3, 2, act=nn.Hardswish),
                                  conv_bn(16, 16, 3, groups=16), conv_bn(16, 32, 1),
                                  conv_bn(32, 32, 3, 2, groups=32), conv_bn(32, 64, 1),
                                  conv_bn(64, 64, 3, 2, groups=64), conv_bn(64, 128, 1),
                                  conv_bn(128, 128, 3, 2, groups=128), conv_bn(128, 200, 1))
        self.fc = nn.Linear(200, 2)

    def forward(self, x):
        pooled = nn.functional.adaptive_avg_pool2d(self.body(x), 1)
        return torch.softmax(self.fc(torch.flatten(pooled, 1)), dim=-1)


def _export_image_model(model, shape, path, output):
    randomize_norms(model)
    export(model, (torch.randn(1, *shape),), path, ["x"], [output], {"x": 0, output: 0})


def build_ocr_det(path: str) -> None:
    torch.manual_seed(0)
    _export_image_model(TextDetector(), (3, DET_SIZE, DET_SIZE), path, "maps")


def build_ocr_rec(path: str) -> None:
    torch.manual_seed(0)
    _export_image_model(TextRecognizer(), REC_SHAPE, path, "probs")


def build_ocr_cls(path: str) -> None:
    torch.manual_seed(0)
    _export_image_model(DirectionClassifier(), CLS_SHAPE, path, "probs")
