"""Sequence/transformer/tabular architectures of the model zoo (scripts/export_zoo_models.py)."""

from __future__ import annotations

import math
from typing import List

import torch
import torch.nn.functional as F
from torch import nn

class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def _rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class LlamaBlock(nn.Module):
    """RMSNorm, rotary embeddings, grouped-query attention (repeat_kv), SwiGLU MLP."""

    def __init__(self, d=64, heads=4, kv_heads=2, ffn=128):
        super().__init__()
        self.h, self.kvh, self.dk = heads, kv_heads, d // heads
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, kv_heads * self.dk, bias=False)
        self.v = nn.Linear(d, kv_heads * self.dk, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, t, self.h, self.dk).transpose(1, 2)
        k = self.k(h).view(b, t, self.kvh, self.dk).transpose(1, 2)
        v = self.v(h).view(b, t, self.kvh, self.dk).transpose(1, 2)
        q, k = q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin
        rep = self.h // self.kvh
        k = k[:, :, None].expand(b, self.kvh, rep, t, self.dk).reshape(b, self.h, t, self.dk)
        v = v[:, :, None].expand(b, self.kvh, rep, t, self.dk).reshape(b, self.h, t, self.dk)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(y.transpose(1, 2).reshape(b, t, d))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, vocab=128, d=64, heads=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList([LlamaBlock(d, heads), LlamaBlock(d, heads)])
        self.norm = RMSNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        dk = d // heads
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, dk, 2).float() / dk))

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).float()
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x, cos, sin)
        return self.lm_head(self.norm(x))


class Ranker(nn.Module):
    """Detection/recommendation post-processing: Einsum, TopK, GatherElements, CumSum,
    ArgMax, ReduceMax/LogSumExp, boolean masking through Where."""

    def __init__(self, d=16):
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.score = nn.Linear(d, 1)

    def forward(self, items, query):                          # (b, n, d), (b, d)
        e = torch.einsum("bnd,bd->bn", self.proj(items), query)
        s = self.score(items).squeeze(-1) + e
        vals, idx = torch.topk(s, 5, dim=1)
        picked = torch.gather(items, 1, idx.unsqueeze(-1).expand(-1, -1, items.shape[2]))
        cum = torch.cumsum(torch.softmax(s, 1), dim=1)
        best = torch.argmax(s, dim=1)
        lse = torch.logsumexp(s, dim=1)
        masked = torch.where(s > 0, s, torch.zeros_like(s)).amax(1)
        return vals, picked, cum, best, lse + masked


class SelfAttention(nn.Module):
    """Hand-written multi-head attention (the pattern of HF BERT/GPT-2/timm ViT)."""

    def __init__(self, d, heads, causal=False, sdpa=False):
        super().__init__()
        self.h, self.dk, self.causal, self.sdpa = heads, d // heads, causal, sdpa
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x, bias=None):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, self.dk).transpose(1, 2) for z in (q, k, v))
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, is_causal=self.causal)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.dk)
            if self.causal:
                mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), 1)
                att = att.masked_fill(mask, float("-inf"))
            if bias is not None:
                att = att + bias
            y = att.softmax(dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d, heads, gelu="none", causal=False, sdpa=False, pre_norm=True):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = SelfAttention(d, heads, causal, sdpa)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.gelu, self.pre_norm = gelu, pre_norm

    def mlp(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate=self.gelu))

    def forward(self, x, bias=None):
        if self.pre_norm:
            x = x + self.attn(self.ln1(x), bias)
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.attn(x, bias))                   # BERT: post-norm
        return self.ln2(x + self.mlp(x))


class ViT(nn.Module):
    def __init__(self, img=32, patch=8, d=64, depth=3, heads=4, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, d, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, (img // patch) ** 2 + 1, d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, heads, "none"), Block(d, heads, "tanh"),
                                     Block(d, heads, "none", sdpa=True)][:depth])
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


class GPT2(nn.Module):
    def __init__(self, vocab=256, ctx=64, d=48, depth=2, heads=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList([Block(d, heads, "tanh", causal=True),
                                     Block(d, heads, "tanh", causal=True, sdpa=True)][:depth])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight                  # tied embeddings

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.wte(ids) + self.wpe(pos)
        for blk in self.blocks:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


class CachedAttention(nn.Module):
    """GPT-2 attention with a KV cache: past keys/values Concat along time, causal mask offset by
    the past length (Trilu with a dynamic k); HF-style Where with finfo.min or masked_fill."""

    def __init__(self, d, heads, hf_where):
        super().__init__()
        self.h, self.dk, self.hf_where = heads, d // heads, hf_where
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x, past_k, past_v):
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.h, self.dk).transpose(1, 2)
                   for z in self.c_attn(x).split(d, dim=2))
        k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
        p = past_k.shape[2]
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.dk))
        future = torch.ones(t, p + t, dtype=torch.bool, device=x.device).triu(p + 1)
        if self.hf_where:
            att = torch.where(future, torch.tensor(torch.finfo(att.dtype).min), att)
        else:
            att = att.masked_fill(future, float("-inf"))
        y = torch.matmul(att.softmax(-1), v).transpose(1, 2).reshape(b, t, d)
        return self.c_proj(y), k, v


class GPT2Cached(nn.Module):
    """One decoding step of a GPT-2 with past_key_values inputs and present outputs."""

    def __init__(self, vocab=256, ctx=64, d=64, heads=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.attn = nn.ModuleList([CachedAttention(d, heads, False),
                                   CachedAttention(d, heads, True)])
        self.ln1 = nn.ModuleList([nn.LayerNorm(d), nn.LayerNorm(d)])
        self.ln2 = nn.ModuleList([nn.LayerNorm(d), nn.LayerNorm(d)])
        self.mlp = nn.ModuleList([nn.Sequential(nn.Linear(d, 4 * d), nn.GELU("tanh"),
                                                nn.Linear(4 * d, d)) for _ in range(2)])
        self.ln_f = nn.LayerNorm(d)

    def forward(self, ids, k0, v0, k1, v1):
        p = k0.shape[2]
        pos = torch.arange(p, p + ids.shape[1], dtype=torch.long, device=ids.device)
        x = self.wte(ids) + self.wpe(pos).unsqueeze(0)
        present = []
        for i, (pk, pv) in enumerate(((k0, v0), (k1, v1))):
            a, k, v = self.attn[i](self.ln1[i](x), pk, pv)
            x = x + a
            x = x + self.mlp[i](self.ln2[i](x))
            present += [k, v]
        return (self.ln_f(x) @ self.wte.weight.t(), *present)   # tied lm head: MatMul(W^T)


class Bert(nn.Module):
    def __init__(self, vocab=200, ctx=64, d=64, depth=2, heads=4):
        super().__init__()
        self.word, self.position = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.token_type = nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.blocks = nn.ModuleList([Block(d, heads, "none", pre_norm=False)
                                     for _ in range(depth)])
        self.pooler = nn.Linear(d, d)

    def forward(self, input_ids, attention_mask, token_type_ids):
        t = input_ids.shape[1]
        pos = torch.arange(t, dtype=torch.long, device=input_ids.device).expand(1, t)
        x = self.ln(self.word(input_ids) + self.position(pos) + self.token_type(token_type_ids))
        # HF get_extended_attention_mask: int64 mask -> Cast/Unsqueeze/Sub/Mul.
        ext = attention_mask[:, None, None, :].to(torch.float32)
        ext = (1.0 - ext) * torch.finfo(torch.float32).min
        for blk in self.blocks:
            x = blk(x, ext)
        return x, torch.tanh(self.pooler(x[:, 0]))


class Speech(nn.Module):
    """Conv1d front end, BatchNorm1d, bidirectional GRU, per-frame log-softmax (CTC-style)."""

    def __init__(self, feats=20, hidden=32, classes=12):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(feats, 32, 5, padding=2), nn.BatchNorm1d(32),
                                  nn.ReLU(), nn.Conv1d(32, 32, 3, stride=2, padding=1),
                                  nn.BatchNorm1d(32), nn.Hardtanh(0, 20))
        # Two single-layer GRUs rather than num_layers=2: the dynamo exporter cannot decompose
        # a multi-layer aten.gru (torch 2.13).
        self.gru1 = nn.GRU(32, hidden, batch_first=True, bidirectional=True)
        self.gru2 = nn.GRU(2 * hidden, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):                                      # x: (batch, feats, time)
        y, _ = self.gru1(self.conv(x).transpose(1, 2))
        y, _ = self.gru2(y)
        return F.log_softmax(self.fc(y), dim=-1)


class GreedyDecoder(nn.Module):
    """Scripted (torch.jit.script) greedy decoding: a Loop with a runtime trip count whose body
    holds an If on a data-dependent condition, ArgMax feedback, and a tensor list turned into
    SequenceEmpty/SequenceInsert/ConcatFromSequence."""

    def __init__(self, vocab=8, d=16):
        super().__init__()
        self.emb = nn.Embedding(vocab, vocab)
        self.wx, self.wh = nn.Linear(vocab, d), nn.Linear(d, d)
        self.out = nn.Linear(d, vocab)

    def forward(self, tok, h, steps: int):
        outs: List[torch.Tensor] = []
        for _ in range(steps):
            h = torch.tanh(self.wx(self.emb(tok)) + self.wh(h))
            logits = self.out(h)
            if bool(logits.sum() > 0):
                logits = logits * 2.0
            else:
                logits = logits - 1.0
            tok = logits.argmax(-1)
            outs.append(logits)
        return torch.stack(outs, 1)


class MHAModel(nn.Module):
    def __init__(self, d=48, heads=4):
        super().__init__()
        self.inp = nn.Linear(16, d)
        self.self_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.cross = nn.MultiheadAttention(d, heads, kdim=24, vdim=24, batch_first=True)
        self.norm = nn.LayerNorm(d)

    def forward(self, x, memory):
        h = self.inp(x)
        a, w = self.self_attn(h, h, h, need_weights=True)
        h = self.norm(h + a)
        c, _ = self.cross(h, memory, memory, need_weights=False)
        return h + c, w
