"""A YOLOv8-style object detector (the "n" scale) at 320 px, with its decoding in the graph.

After Ultralytics' YOLOv8 as users export it to ONNX: Conv-BN-SiLU blocks, C2f stages, SPPF, a
PAN neck, a decoupled head per level, and in-graph decoding (distribution focal loss softmax
over 16 bins, distances to boxes around anchor points, sigmoid class scores), giving one
(batch, 84, 2100) tensor: 4 box coordinates and 80 class scores for each of the 2100 anchors.
"""

from __future__ import annotations

import torch
from torch import nn

from corpus.export import export, randomize_norms

SIZE, CLASSES, BINS, STRIDES = 320, 80, 16, (8, 16, 32)


def cbs(cin, cout, k=1, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.SiLU())


class C2f(nn.Module):
    def __init__(self, cin, cout, n, shortcut):
        super().__init__()
        self.hidden = cout // 2
        self.cv1 = cbs(cin, 2 * self.hidden)
        self.cv2 = cbs((2 + n) * self.hidden, cout)
        self.blocks = nn.ModuleList(nn.Sequential(cbs(self.hidden, self.hidden, 3),
                                                  cbs(self.hidden, self.hidden, 3))
                                    for _ in range(n))
        self.shortcut = shortcut

    def forward(self, x):
        parts = list(self.cv1(x).split(self.hidden, dim=1))
        for block in self.blocks:
            y = block(parts[-1])
            parts.append(parts[-1] + y if self.shortcut else y)
        return self.cv2(torch.cat(parts, dim=1))


class SPPF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = cbs(c, c // 2), cbs(2 * c, c)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.pool(y[-1]))
        return self.cv2(torch.cat(y, dim=1))


class YoloV8(nn.Module):
    def __init__(self):
        super().__init__()
        up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.p3 = nn.Sequential(cbs(3, 16, 3, 2), cbs(16, 32, 3, 2), C2f(32, 32, 1, True),
                                cbs(32, 64, 3, 2), C2f(64, 64, 2, True))
        self.p4 = nn.Sequential(cbs(64, 128, 3, 2), C2f(128, 128, 2, True))
        self.p5 = nn.Sequential(cbs(128, 256, 3, 2), C2f(256, 256, 1, True), SPPF(256))
        self.up = up
        self.top4, self.top3 = C2f(384, 128, 1, False), C2f(192, 64, 1, False)
        self.down3, self.bottom4 = cbs(64, 64, 3, 2), C2f(192, 128, 1, False)
        self.down4, self.bottom5 = cbs(128, 128, 3, 2), C2f(384, 256, 1, False)
        self.box = nn.ModuleList(nn.Sequential(cbs(c, 64, 3), cbs(64, 64, 3),
                                               nn.Conv2d(64, 4 * BINS, 1)) for c in (64, 128, 256))
        self.cls = nn.ModuleList(nn.Sequential(cbs(c, 80, 3), cbs(80, 80, 3),
                                               nn.Conv2d(80, CLASSES, 1)) for c in (64, 128, 256))
        self.register_buffer("bins", torch.arange(BINS, dtype=torch.float32).view(1, BINS, 1, 1))
        anchors, strides = [], []
        for s in STRIDES:
            n = SIZE // s
            ys, xs = torch.meshgrid(torch.arange(n) + 0.5, torch.arange(n) + 0.5, indexing="ij")
            anchors.append(torch.stack([xs, ys]).reshape(2, -1))
            strides.append(torch.full((1, n * n), float(s)))
        self.register_buffer("anchors", torch.cat(anchors, dim=1).unsqueeze(0))
        self.register_buffer("strides", torch.cat(strides, dim=1).unsqueeze(0))

    def forward(self, x):
        p3 = self.p3(x)
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        t4 = self.top4(torch.cat([self.up(p5), p4], dim=1))
        n3 = self.top3(torch.cat([self.up(t4), p3], dim=1))
        n4 = self.bottom4(torch.cat([self.down3(n3), t4], dim=1))
        n5 = self.bottom5(torch.cat([self.down4(n4), p5], dim=1))
        levels = [torch.cat([box(f), cls(f)], dim=1).flatten(2)
                  for f, box, cls in zip((n3, n4, n5), self.box, self.cls)]
        raw = torch.cat(levels, dim=2)                       # (batch, 64 + 80, 2100)
        box, scores = raw.split([4 * BINS, CLASSES], dim=1)
        b = box.shape[0]
        dist = torch.softmax(box.view(b, 4, BINS, -1).transpose(1, 2), dim=1)
        dist = (dist * self.bins).sum(dim=1)                 # (batch, 4, 2100): l, t, r, b
        lt, rb = dist.split(2, dim=1)
        x1y1, x2y2 = self.anchors - lt, self.anchors + rb
        boxes = torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], dim=1) * self.strides
        return torch.cat([boxes, torch.sigmoid(scores)], dim=1)


def build_yolov8(path: str) -> None:
    torch.manual_seed(0)
    model = YoloV8()
    randomize_norms(model)
    export(model, (torch.randn(1, 3, SIZE, SIZE),), path, ["images"], ["output0"],
           {"images": 0, "output0": 0})
