"""A byte-level content-type classifier over 2048 bytes (Magika-style: embed, conv, dense).

The input is the file's bytes as int32 values 0..255 (256 pads short files); an embedding, two
1-D convolutions, a global max pool and two dense layers give probabilities over 100 types.
"""

from __future__ import annotations

import torch
from torch import nn

from corpus.export import export

BYTES, CLASSES = 2048, 100


class ByteClassifier(nn.Module):
    def __init__(self, embed=32, channels=128, hidden=256):
        super().__init__()
        self.embed = nn.Embedding(257, embed)
        self.convs = nn.Sequential(nn.Conv1d(embed, channels, 8, 4), nn.ReLU(),
                                   nn.Conv1d(channels, channels, 4, 2), nn.ReLU())
        self.dense = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                   nn.Linear(hidden, CLASSES))

    def forward(self, data):
        x = self.convs(self.embed(data).transpose(1, 2))
        return torch.softmax(self.dense(x.amax(dim=2)), dim=-1)


def build_byte_classifier(path: str) -> None:
    torch.manual_seed(0)
    export(ByteClassifier(), (torch.randint(0, 257, (1, BYTES), dtype=torch.int32),), path,
           ["bytes"], ["probs"], {"bytes": 0, "probs": 0})
