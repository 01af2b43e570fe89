"""Transformers: ViT-B/16 (224 px), BERT-base (seq 128), GPT-2 small (seq 64).

Written as Hugging Face writes them (explicit q/k/v projections, softmax attention, exact-erf
GELU for ViT and BERT, tanh GELU for GPT-2), so the exported graphs have the same node
patterns as the checkpoints users export; the weights are random.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from corpus.export import export


class SelfAttention(nn.Module):
    def __init__(self, dim, heads, causal_len=0):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)
        if causal_len:
            self.register_buffer("causal", torch.tril(torch.ones(causal_len, causal_len,
                                                                 dtype=torch.bool)))
        else:
            self.causal = None

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, additive_mask=None):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if self.causal is not None:
            t = x.shape[1]
            scores = scores.masked_fill(~self.causal[:t, :t], torch.finfo(scores.dtype).min)
        if additive_mask is not None:
            scores = scores + additive_mask
        ctx = torch.softmax(scores, dim=-1) @ v
        b, _, t, _ = ctx.shape
        return self.out(ctx.transpose(1, 2).reshape(b, t, -1))


class Block(nn.Module):
    """Pre-LN (ViT, GPT-2) or post-LN (BERT) encoder block."""

    def __init__(self, dim, heads, mlp, pre_norm, gelu, eps, causal_len=0):
        super().__init__()
        self.attn = SelfAttention(dim, heads, causal_len)
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(approximate=gelu),
                                 nn.Linear(mlp, dim))
        self.pre_norm = pre_norm

    def forward(self, x, mask=None):
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), mask)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x, mask))
        return self.norm2(x + self.mlp(x))


class ViT(nn.Module):
    def __init__(self, dim=768, depth=12, heads=12, mlp=3072, patch=16, image=224, classes=1000):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        tokens = (image // patch) ** 2 + 1
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp, True, "none", 1e-6)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, pixels):
        x = self.patch(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


class Bert(nn.Module):
    def __init__(self, vocab=30522, dim=768, depth=12, heads=12, mlp=3072, max_len=512):
        super().__init__()
        self.words = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(max_len, dim)
        self.types = nn.Embedding(2, dim)
        self.embed_norm = nn.LayerNorm(dim, eps=1e-12)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp, False, "none", 1e-12)
                                    for _ in range(depth))
        self.pooler = nn.Linear(dim, dim)

    def forward(self, input_ids, attention_mask, token_type_ids):
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
        x = self.embed_norm(self.words(input_ids) + self.positions(pos)
                            + self.types(token_type_ids))
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for block in self.blocks:
            x = block(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


class GPT2(nn.Module):
    def __init__(self, vocab=50257, dim=768, depth=12, heads=12, ctx=1024):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(ctx, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, 4 * dim, True, "tanh", 1e-5, ctx)
                                    for _ in range(depth))
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # the LM head is tied to the embedding


BERT_SEQ, GPT2_SEQ = 128, 64


def build_vit_b16(path: str) -> None:
    torch.manual_seed(0)
    export(ViT(), (torch.randn(1, 3, 224, 224),), path, ["pixel_values"], ["logits"],
           {"pixel_values": 0, "logits": 0})


def build_bert_base(path: str) -> None:
    torch.manual_seed(0)
    ids = torch.randint(0, 30522, (1, BERT_SEQ))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    export(Bert(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), path, names,
           ["last_hidden_state", "pooler_output"],
           {n: 0 for n in names + ["last_hidden_state", "pooler_output"]})


def build_gpt2(path: str) -> None:
    torch.manual_seed(0)
    export(GPT2(), (torch.randint(0, 50257, (1, GPT2_SEQ)),), path, ["input_ids"], ["logits"],
           {"input_ids": 0, "logits": 0})
