"""Sequence models: a 2-layer LSTM over 32 steps and a voice-activity detector (VAD).

The VAD follows the shape of the small streaming VADs users deploy (Silero-style): one chunk of
audio plus the LSTM state go in, a speech probability and the new state come out, and an ``If``
on the sample rate picks the 16 kHz or the 8 kHz network, each with its own weights. Each
branch is a short 1-D conv front end, an LSTM step and a 1-D conv decoder.
"""

from __future__ import annotations

import os
import tempfile

import onnx
import torch
from onnx import TensorProto, helper
from torch import nn

from corpus.export import export, save

LSTM_STEPS, LSTM_FEATURES, LSTM_HIDDEN = 32, 64, 128
VAD_HIDDEN = 128
VAD_CHUNK = {16000: 512, 8000: 256}


class TwoLayerLSTM(nn.Module):
    def __init__(self, features=LSTM_FEATURES, hidden=LSTM_HIDDEN, classes=10):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out)


def build_lstm(path: str) -> None:
    torch.manual_seed(0)
    export(TwoLayerLSTM(), (torch.randn(1, LSTM_STEPS, LSTM_FEATURES),), path, ["x"], ["y"],
           {"x": 0, "y": 0})


class VadBranch(nn.Module):
    """One sample rate's network: conv front end, one LSTM step, conv decoder."""

    def __init__(self, chunk, hidden=VAD_HIDDEN):
        super().__init__()
        stride = chunk // 128  # 4 at 16 kHz, 2 at 8 kHz: both give 32 frames
        self.frontend = nn.Sequential(
            nn.Conv1d(1, 32, 2 * stride, stride, padding=stride // 2), nn.ReLU(),
            nn.Conv1d(32, 64, 3, 2, padding=1), nn.ReLU(),
            nn.Conv1d(64, 64, 3, 2, padding=1), nn.ReLU(),
            nn.Conv1d(64, hidden, 3, 2, padding=1), nn.ReLU())
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.decoder = nn.Sequential(nn.ReLU(), nn.Conv1d(hidden, 1, 1), nn.Sigmoid())

    def forward(self, x, state):
        feats = self.frontend(x.unsqueeze(1)).mean(dim=2)
        h, c = self.lstm(feats, (state[0], state[1]))
        prob = self.decoder(h.unsqueeze(2)).squeeze(2)
        return prob, torch.stack([h, c])


def _branch_graph(sample_rate: int, prefix: str, tmpdir: str) -> onnx.GraphProto:
    """The branch exported on its own, then made a subgraph: its inputs become references to
    the outer graph's ``x`` and ``state``, every other name gets ``prefix`` (names must be
    unique across the model's scopes)."""
    path = os.path.join(tmpdir, f"{prefix}.onnx")
    chunk = VAD_CHUNK[sample_rate]
    export(VadBranch(chunk), (torch.randn(1, chunk), torch.zeros(2, 1, VAD_HIDDEN)), path,
           ["x", "state"], ["prob", "stateN"], {"x": 0, "state": 1, "prob": 0, "stateN": 1})
    graph = onnx.load(path).graph
    outer = {"x", "state"}
    rename = {}
    for init in graph.initializer:
        rename[init.name] = init.name = prefix + init.name
    for node in graph.node:
        node.name = prefix + node.name
        for i, name in enumerate(node.input):
            if name and name not in outer:
                node.input[i] = rename.setdefault(name, prefix + name)
        for i, name in enumerate(node.output):
            node.output[i] = rename.setdefault(name, prefix + name)
    for out in graph.output:
        out.name = rename[out.name]
    del graph.input[:]
    graph.name = prefix + "branch"
    return graph


def build_vad(path: str) -> None:
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmpdir:
        then_graph = _branch_graph(16000, "sr16k_", tmpdir)
        else_graph = _branch_graph(8000, "sr8k_", tmpdir)
    nodes = [
        helper.make_node("Constant", [], ["sr_16k"],
                         value=helper.make_tensor("v", TensorProto.INT64, [], [16000])),
        helper.make_node("Equal", ["sr", "sr_16k"], ["is_16k"]),
        helper.make_node("If", ["is_16k"], ["prob", "stateN"], then_branch=then_graph,
                         else_branch=else_graph),
    ]
    graph = helper.make_graph(
        nodes, "vad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "samples"]),
         helper.make_tensor_value_info("sr", TensorProto.INT64, []),
         helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", VAD_HIDDEN])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["batch", 1]),
         helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, "batch", VAD_HIDDEN])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, path)
