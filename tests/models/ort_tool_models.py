"""Small transformer models as exporters write them, for onnxruntime's optimizers to fuse.

- ``bert``: a BERT encoder in the graph pattern torch.onnx writes for Hugging Face's BertModel
  (Gather embeddings + LayerNormalization, the (1 - mask) * -10000 extended mask, per-head
  Reshape/Transpose Q/K/V, Div by sqrt(head size), erf GELU);
- ``gpt2``: a GPT-2 decoder stack in the pattern of its export without past (Conv1D as
  Reshape/Gemm/Reshape, one QKV GEMM and Split, ``w * b - 10000 * (1 - b)`` with ``b`` sliced
  from a lower-triangular constant by w's shape, tanh GELU);
- ``tiny_llm``: a decoder written directly with com.microsoft GroupQueryAttention (layer 0
  rotated by RotaryEmbedding nodes, the others by GQA's ``do_rotary``), RMS norms
  (SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization) and MatMul, laid out as
  onnxruntime-genai's model builder does (past/present KV per layer, seqlens_k and
  total_sequence_length computed from the attention mask).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto, helper, numpy_helper


class _Graph:
    """Collects nodes and initializers with generated names."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value, base="c"):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def weight(self, *shape, scale=0.2):
        return self.const((self.rng.standard_normal(shape) * scale).astype(np.float32), "w")

    def op(self, op_type, *inputs, domain="", n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    def linear(self, x, din, dout):
        return self.op("Add", self.op("MatMul", x, self.weight(din, dout)),
                       self.weight(dout, scale=0.05))

    def layer_norm(self, x, d):
        g = self.const((1 + 0.1 * self.rng.standard_normal(d)).astype(np.float32), "gamma")
        b = self.const((0.1 * self.rng.standard_normal(d)).astype(np.float32), "beta")
        return self.op("LayerNormalization", x, g, b, axis=-1, epsilon=1e-5)

    def model(self, inputs, outputs, opset=17, extra_opsets=()):
        graph = helper.make_graph(self.nodes, "model", inputs, outputs, initializer=self.inits)
        opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v)
                                                      for d, v in extra_opsets]
        m = helper.make_model(graph, opset_imports=opsets)
        m.ir_version = 8
        return m


def _erf_gelu(g, x):
    t = g.op("Erf", g.op("Div", x, g.const(np.float32(math.sqrt(2.0)))))
    return g.op("Mul", g.op("Mul", x, g.op("Add", t, g.const(np.float32(1.0)))),
                g.const(np.float32(0.5)))


def _tanh_gelu(g, x):
    cube = g.op("Mul", g.op("Pow", x, g.const(np.float32(3.0))), g.const(np.float32(0.044715)))
    inner = g.op("Mul", g.op("Add", x, cube), g.const(np.float32(math.sqrt(2.0 / math.pi))))
    return g.op("Mul", g.op("Mul", x, g.const(np.float32(0.5))),
                g.op("Add", g.op("Tanh", inner), g.const(np.float32(1.0))))


def _heads(g, x, heads, head, perm):
    shaped = g.op("Reshape", x, g.const(np.array([0, 0, heads, head], np.int64)))
    return g.op("Transpose", shaped, perm=perm)


def _merge(g, x, hidden):
    t = g.op("Transpose", x, perm=[0, 2, 1, 3])
    return g.op("Reshape", t, g.const(np.array([0, 0, hidden], np.int64)))


def bert(layers=2, hidden=64, heads=4, ffn=128, vocab=60, max_pos=32, seed=0):
    g = _Graph(seed)
    head = hidden // heads
    word = g.op("Gather", g.weight(vocab, hidden), "input_ids")
    pos_ids = g.op("Unsqueeze", g.op("Range", g.const(np.int64(0)),
                                     g.op("Gather", g.op("Shape", "input_ids"),
                                          g.const(np.int64(1))),
                                     g.const(np.int64(1))), g.const(np.array([0], np.int64)))
    pos = g.op("Gather", g.weight(max_pos, hidden), pos_ids)
    seg = g.op("Gather", g.weight(2, hidden), "token_type_ids")
    h = g.layer_norm(g.op("Add", g.op("Add", word, pos), seg), hidden)
    ext = g.op("Unsqueeze", "attention_mask", g.const(np.array([1], np.int64)))
    ext = g.op("Cast", g.op("Unsqueeze", ext, g.const(np.array([2], np.int64))),
               to=TensorProto.FLOAT)
    mask = g.op("Mul", g.op("Sub", g.const(np.float32(1.0)), ext), g.const(np.float32(-10000.0)))
    for _ in range(layers):
        q = _heads(g, g.linear(h, hidden, hidden), heads, head, [0, 2, 1, 3])
        k = _heads(g, g.linear(h, hidden, hidden), heads, head, [0, 2, 3, 1])
        v = _heads(g, g.linear(h, hidden, hidden), heads, head, [0, 2, 1, 3])
        s = g.op("Div", g.op("MatMul", q, k), g.const(np.float32(math.sqrt(head))))
        p = g.op("Softmax", g.op("Add", s, mask), axis=-1)
        ctx = _merge(g, g.op("MatMul", p, v), hidden)
        h = g.layer_norm(g.op("Add", g.linear(ctx, hidden, hidden), h), hidden)
        f = g.linear(_erf_gelu(g, g.linear(h, hidden, ffn)), ffn, hidden)
        h = g.layer_norm(g.op("Add", f, h), hidden)
    g.nodes[-1].output[0] = "last_hidden_state"
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
            for n in ("input_ids", "attention_mask", "token_type_ids")]
    out = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                        ["batch", "seq", hidden])
    return g.model(ints, [out])


def bert_feeds(batch=2, seq=16, vocab=60, seed=1):
    r = np.random.default_rng(seed)
    mask = np.ones((batch, seq), np.int64)
    mask[batch - 1, seq - 5:] = 0       # the last sequence is right-padded
    return {"input_ids": r.integers(0, vocab, (batch, seq)).astype(np.int64),
            "attention_mask": mask,
            "token_type_ids": (np.arange(seq)[None, :] >= seq // 2).repeat(batch, 0)
            .astype(np.int64)}


def _conv1d(g, x, din, dout, shape_of):
    """Hugging Face GPT-2's Conv1D as exported: Reshape to 2-D, Gemm, Reshape back."""
    flat = g.op("Reshape", x, g.const(np.array([-1, din], np.int64)))
    y = g.op("Gemm", flat, g.weight(din, dout), g.weight(dout, scale=0.05))
    lead = g.op("Slice", g.op("Shape", shape_of), g.const(np.array([0], np.int64)),
                g.const(np.array([2], np.int64)))
    return g.op("Reshape", y, g.op("Concat", lead, g.const(np.array([dout], np.int64)),
                                   axis=0))


def _scalar_dim(g, shape, index):
    dim = g.op("Slice", shape, g.const(np.array([index], np.int64)),
               g.const(np.array([index + 1 if index != -1 else 2 ** 62], np.int64)))
    return g.op("Squeeze", dim, g.const(np.array([0], np.int64)))


def _causal(g, w, tril):
    """w * b - 10000 * (1 - b), b = bias[:, :, ns - nd:ns, :ns] with nd, ns from w's shape."""
    shape = g.op("Shape", w)
    ns, nd = _scalar_dim(g, shape, -1), _scalar_dim(g, shape, -2)
    axis = g.const(np.array([0], np.int64))
    rows = g.op("Slice", tril, g.op("Unsqueeze", g.op("Sub", ns, nd), axis),
                g.op("Unsqueeze", ns, axis), g.const(np.array([2], np.int64)))
    b = g.op("Slice", rows, g.const(np.array([0], np.int64)), g.op("Unsqueeze", ns, axis),
             g.const(np.array([3], np.int64)))
    return g.op("Sub", g.op("Mul", w, b),
                g.op("Mul", g.op("Sub", g.const(np.float32(1.0)), b),
                     g.const(np.float32(10000.0))))


def gpt2(layers=2, hidden=64, heads=4, vocab=60, max_pos=32, seed=2):
    g = _Graph(seed)
    head = hidden // heads
    h = g.op("Add", g.op("Gather", g.weight(vocab, hidden), "input_ids"),
             g.op("Gather", g.weight(max_pos, hidden), "position_ids"))
    tril = g.const(np.tril(np.ones((max_pos, max_pos), np.float32))[None, None], "bias")
    for _ in range(layers):
        a = g.layer_norm(h, hidden)
        qkv = _conv1d(g, a, hidden, 3 * hidden, a)
        q, k, v = g.op("Split", qkv, g.const(np.array([hidden] * 3, np.int64)), axis=2, n_out=3)
        q = _heads(g, q, heads, head, [0, 2, 1, 3])
        k = _heads(g, k, heads, head, [0, 2, 3, 1])
        v = _heads(g, v, heads, head, [0, 2, 1, 3])
        w = g.op("Div", g.op("MatMul", q, k), g.const(np.float32(math.sqrt(head))))
        ctx = _merge(g, g.op("MatMul", g.op("Softmax", _causal(g, w, tril), axis=-1), v),
                     hidden)
        h = g.op("Add", h, _conv1d(g, ctx, hidden, hidden, a))
        m = g.linear(_tanh_gelu(g, g.linear(g.layer_norm(h, hidden), hidden, 4 * hidden)),
                     4 * hidden, hidden)
        h = g.op("Add", h, m)
    g.op("MatMul", g.layer_norm(h, hidden), g.weight(hidden, vocab))
    g.nodes[-1].output[0] = "logits"
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
            for n in ("input_ids", "position_ids")]
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", vocab])
    return g.model(ints, [out])


def gpt2_feeds(batch=2, seq=12, vocab=60, seed=3):
    r = np.random.default_rng(seed)
    return {"input_ids": r.integers(0, vocab, (batch, seq)).astype(np.int64),
            "position_ids": np.arange(seq)[None, :].repeat(batch, 0).astype(np.int64)}
def _rms_weight(g, d):
    return g.const((1 + 0.1 * g.rng.standard_normal(d)).astype(np.float32), "rms")


def tiny_llm(layers=2, hidden=64, heads=4, kv_heads=2, ffn=96, vocab=50, max_pos=64, seed=4):
    """Inputs input_ids, position_ids (B, S), attention_mask (B, total) and
    past_key_values.{i}.key/value (B, kv_heads, P, H); outputs logits and present.{i}.*.
    Layer 0 rotates Q/K with RotaryEmbedding nodes, the others with GQA's do_rotary."""
    g = _Graph(seed)
    head = hidden // heads
    inv = 1.0 / (10000.0 ** (np.arange(0, head, 2) / head))
    angles = np.arange(max_pos)[:, None] * inv[None, :]
    cos = g.const(np.cos(angles).astype(np.float32), "cos_cache")
    sin = g.const(np.sin(angles).astype(np.float32), "sin_cache")
    total = g.op("Cast", _scalar_dim(g, g.op("Shape", "attention_mask"), 1), to=TensorProto.INT32)
    seqlens = g.op("Cast", g.op("Sub", g.op("ReduceSum", "attention_mask",
                                            g.const(np.array([1], np.int64)), keepdims=0),
                                g.const(np.int64(1))), to=TensorProto.INT32)
    x = g.op("Gather", g.weight(vocab, hidden), "input_ids")
    h = g.op("SimplifiedLayerNormalization", x, _rms_weight(g, hidden), epsilon=1e-6)
    residual = x
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "seq"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                            ["batch", "total"])]
    outputs = []
    for i in range(layers):
        q = g.op("MatMul", h, g.weight(hidden, hidden))
        k = g.op("MatMul", h, g.weight(hidden, kv_heads * head))
        v = g.op("MatMul", h, g.weight(hidden, kv_heads * head))
        rotary = {}
        if i == 0:
            q = g.op("RotaryEmbedding", q, "position_ids", cos, sin, domain="com.microsoft",
                     num_heads=heads)
            k = g.op("RotaryEmbedding", k, "position_ids", cos, sin, domain="com.microsoft",
                     num_heads=kv_heads)
            extra = []
        else:
            rotary = {"do_rotary": 1}
            extra = [cos, sin]
        past_k, past_v = f"past_key_values.{i}.key", f"past_key_values.{i}.value"
        for n in (past_k, past_v):
            inputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT,
                                                        ["batch", kv_heads, "past", head]))
        present = [f"present.{i}.key", f"present.{i}.value"]
        attn = g.name("attn")
        g.nodes.append(helper.make_node(
            "GroupQueryAttention", [q, k, v, past_k, past_v, seqlens, total, *extra],
            [attn, *present], domain="com.microsoft", num_heads=heads, kv_num_heads=kv_heads,
            **rotary))
        outputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT,
                                                  ["batch", kv_heads, "total", head])
                    for n in present]
        o = g.op("MatMul", attn, g.weight(hidden, hidden))
        h, _, _, residual = g.op("SkipSimplifiedLayerNormalization", o, residual,
                                 _rms_weight(g, hidden), domain="com.microsoft", n_out=4,
                                 epsilon=1e-6)
        gate = g.op("MatMul", h, g.weight(hidden, ffn))
        act = g.op("Mul", gate, g.op("Sigmoid", gate))
        down = g.op("MatMul", g.op("Mul", act, g.op("MatMul", h, g.weight(hidden, ffn))),
                    g.weight(ffn, hidden))
        h, _, _, residual = g.op("SkipSimplifiedLayerNormalization", down, residual,
                                 _rms_weight(g, hidden), domain="com.microsoft", n_out=4,
                                 epsilon=1e-6)
    g.op("MatMul", h, g.weight(hidden, vocab))
    g.nodes[-1].output[0] = "logits"
    outputs.insert(0, helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                    ["batch", "seq", vocab]))
    return g.model(inputs, outputs, extra_opsets=[("com.microsoft", 1)])
