"""Vision architectures of the model zoo (scripts/export_zoo_models.py), small widths."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from export_test_models import BasicBlock  # the same block as tests/models


class ResNet18(nn.Module):
    """ResNet-18 layout ([2, 2, 2, 2] basic blocks) at 1/8 width."""

    def __init__(self, w=8, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], w
        for i, cout in enumerate([w, 2 * w, 4 * w, 8 * w]):
            blocks += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        cfg = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2), (6, 24, 2, 2), (6, 32, 1, 1)]
        layers, cin = [nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6()], 8
        for t, c, n, s in cfg:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [nn.Conv2d(cin, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r, gate):
        super().__init__()
        self.reduce = nn.Conv2d(c, r, 1)
        self.expand = nn.Conv2d(r, c, 1)
        self.gate = gate

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)                        # GlobalAveragePool
        return x * self.gate(self.expand(F.silu(self.reduce(s))))


class MBConv(nn.Module):
    """EfficientNet MBConv (SiLU, SE with sigmoid gate) or MobileNetV3 (HardSwish, hardsigmoid)."""

    def __init__(self, cin, cout, k, stride, expand, v3=False):
        super().__init__()
        hidden = cin * expand
        act = nn.Hardswish if v3 else nn.SiLU
        self.expand = nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False),
                                    nn.BatchNorm2d(hidden), act())
        self.dw = nn.Sequential(nn.Conv2d(hidden, hidden, k, stride, k // 2, groups=hidden,
                                          bias=False), nn.BatchNorm2d(hidden), act())
        self.se = SqueezeExcite(hidden, max(1, cin // 4), nn.Hardsigmoid() if v3 else
                                nn.Sigmoid())
        self.project = nn.Sequential(nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        return x + y if self.use_res else y


class EfficientNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.SiLU())
        self.blocks = nn.Sequential(MBConv(16, 16, 3, 1, 1), MBConv(16, 24, 3, 2, 4),
                                    MBConv(24, 24, 5, 1, 4), MBConv(24, 32, 5, 2, 4, v3=True),
                                    MBConv(32, 32, 3, 1, 4, v3=True))
        self.head = nn.Sequential(nn.Conv2d(32, 96, 1, bias=False), nn.BatchNorm2d(96),
                                  nn.Hardswish())
        self.fc = nn.Linear(96, classes)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        # Swish written by hand, as older EfficientNet ports do: Sigmoid * Mul.
        x = x * torch.sigmoid(x)
        return self.fc(x.mean(dim=(2, 3)))


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout), nn.ReLU())

    def forward(self, x):
        return self.body(x)


class UNet(nn.Module):
    """Three levels; the decoder upsamples with ConvTranspose, nearest and both bilinear modes."""

    def __init__(self, classes=3, w=8):
        super().__init__()
        self.e1, self.e2, self.e3 = ConvBlock(3, w), ConvBlock(w, 2 * w), ConvBlock(2 * w, 4 * w)
        self.mid = ConvBlock(4 * w, 4 * w)
        self.up3 = nn.ConvTranspose2d(4 * w, 4 * w, 2, 2)
        self.d3 = ConvBlock(8 * w, 2 * w)
        self.d2 = ConvBlock(4 * w, w)
        self.d1 = ConvBlock(2 * w, w)
        self.out = nn.Conv2d(w, classes, 1)
        self.aux = nn.ConvTranspose2d(w, 2, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        s1 = self.e1(x)
        s2 = self.e2(F.max_pool2d(s1, 2))
        s3 = self.e3(F.max_pool2d(s2, 2))
        m = self.mid(F.max_pool2d(s3, 2))
        y = self.d3(torch.cat([self.up3(m), s3], 1))
        y = self.d2(torch.cat([F.interpolate(y, scale_factor=2.0, mode="nearest"), s2], 1))
        y = self.d1(torch.cat([F.interpolate(y, scale_factor=2.0, mode="bilinear",
                                             align_corners=False), s1], 1))
        seg = self.out(y)
        # A second head at a non-integer scale with align_corners=True (DeepLab-style).
        aux = F.interpolate(self.aux(y), size=(40, 40), mode="bilinear", align_corners=True)
        return seg, aux


class YoloHead(nn.Module):
    """YOLOv5-style: SiLU backbone, 3 anchors per cell, sigmoid decode with grid constants."""

    def __init__(self, classes=4, na=3):
        super().__init__()

        def cbs(cin, cout, s):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout),
                                 nn.SiLU())
        self.backbone = nn.Sequential(cbs(3, 8, 2), cbs(8, 16, 2), cbs(16, 32, 2))
        self.p4 = cbs(32, 32, 2)
        self.na, self.no = na, classes + 5
        self.heads = nn.ModuleList([nn.Conv2d(32, na * self.no, 1), nn.Conv2d(32, na * self.no, 1)])
        self.strides = (8, 16)
        anchors = torch.tensor([[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119]],
                               dtype=torch.float32).view(2, 1, na, 1, 1, 2)
        self.register_buffer("anchors", anchors)
        for i, n in enumerate((8, 4)):      # 64x64 input: 8x8 and 4x4 grids
            yv, xv = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
            self.register_buffer(f"grid{i}", torch.stack((xv, yv), 2).view(1, 1, n, n, 2).float())

    def forward(self, x):
        f3 = self.backbone(x)
        feats, out = [f3, self.p4(f3)], []
        for i, f in enumerate(feats):
            p = self.heads[i](f)
            b, _, ny, nx = p.shape
            p = p.view(b, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous().sigmoid()
            xy, wh, conf = p.split((2, 2, self.no - 4), 4)
            xy = (xy * 2 - 0.5 + getattr(self, f"grid{i}")) * self.strides[i]
            wh = (wh * 2) ** 2 * self.anchors[i]
            out.append(torch.cat((xy, wh, conf), 4).view(b, self.na * nx * ny, self.no))
        return torch.cat(out, 1)


class GrabBag(nn.Module):
    """Less common layers of detection/segmentation/GAN/diffusion nets: reflect and replicate
    padding, dilated and grouped convs, GroupNorm, InstanceNorm, PReLU, LeakyReLU, ELU, Mish,
    MaxPool ceil_mode, AvgPool without padded zeros, PixelShuffle, grouped dilated
    ConvTranspose, fractional bilinear and bicubic resizes."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1, padding_mode="reflect")
        self.gn = nn.GroupNorm(4, 16)
        self.act1 = nn.PReLU(16)
        self.c2 = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=4)
        self.inorm = nn.InstanceNorm2d(16, affine=True)
        self.c3 = nn.Conv2d(16, 32, 3, stride=2, padding=1, padding_mode="replicate")
        self.up = nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1, groups=4,
                                     dilation=1)
        self.ct2 = nn.ConvTranspose2d(32, 16, 3, stride=1, padding=2, dilation=2)
        self.shuffle_conv = nn.Conv2d(16, 12, 1)
        self.head = nn.Linear(3 * 3 * 3 + 16, 10)

    def forward(self, x):
        x = self.act1(self.gn(self.c1(x)))
        x = F.leaky_relu(self.inorm(self.c2(x)), 0.1) + x
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)              # 64 -> 32, 48 -> 24, odd sizes
        x = F.elu(self.c3(x))
        x = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        x = F.mish(self.up(x))
        x = self.ct2(x)
        y = F.pixel_shuffle(self.shuffle_conv(x), 2)           # DepthToSpace: 12 -> 3 channels
        y = F.interpolate(y, scale_factor=1.5, mode="bilinear", align_corners=False)
        y = F.interpolate(y, size=(18, 18), mode="bicubic", align_corners=False)
        y = F.softplus(F.avg_pool2d(y, 6)).flatten(1)
        z = torch.amax(x, dim=(2, 3))
        return self.head(torch.cat([y, z], 1)), x
