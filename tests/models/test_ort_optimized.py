"""Models as onnxruntime's tools leave them: saved after its graph optimizer
(``SessionOptions.optimized_model_filepath`` at ORT_ENABLE_EXTENDED) and after
``onnxruntime.transformers.optimizer.optimize_model`` (model types bert and gpt2), plus a tiny
LLM in onnxruntime-genai's layout (GroupQueryAttention + RotaryEmbedding + MatMul) decoding
with its KV cache. Each runs in ai-engine and matches onnxruntime to 1e-4 relative."""

import collections

import numpy as np
import onnx
import ort_tool_models as models
import pytest

from ai_engine import InferenceSession

ort = pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow


def _contrib_ops(model):
    return collections.Counter(n.op_type for n in model.graph.node if n.domain == "com.microsoft")


def _ort_extended(model, tmp_path, name):
    path = str(tmp_path / f"{name}_ort_extended.onnx")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = path
    ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return onnx.load(path)


def _transformers_optimizer(model, tmp_path, name, model_type):
    from onnxruntime.transformers.optimizer import optimize_model

    src, dst = str(tmp_path / f"{name}.onnx"), str(tmp_path / f"{name}_{model_type}_opt.onnx")
    onnx.save(model, src)
    optimize_model(src, model_type=model_type, num_heads=4, hidden_size=64,
                   opt_level=0).save_model_to_file(dst)
    return onnx.load(dst)


def _run_peer(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _assert_rel(got, want, rel=1e-4):
    """Max error within ``rel`` of the output's magnitude (element-wise near zero would
    demand more than float32 accumulation order allows)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    err = float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1e-30)
    assert err <= rel, f"relative error {err:.2e} > {rel:.0e}"


# The com.microsoft ops each optimizer is expected to write for these graphs (measured with
# onnxruntime 1.32; a new fusion would show up here as an unexpected op and fail loudly).
_CASES = {
    ("bert", "extended"): {"FusedMatMul", "BiasGelu"},
    ("bert", "tool"): {"EmbedLayerNormalization", "Attention", "SkipLayerNormalization",
                       "BiasGelu"},
    ("gpt2", "extended"): {"FusedMatMul", "FastGelu"},
    ("gpt2", "tool"): {"EmbedLayerNormalization", "Attention", "SkipLayerNormalization",
                       "FastGelu"},
}


@pytest.mark.parametrize("arch,how", sorted(_CASES))
def test_optimized_model_matches_onnxruntime(arch, how, tmp_path):
    build, feeds = (models.bert, models.bert_feeds()) if arch == "bert" else \
        (models.gpt2, models.gpt2_feeds())
    original = build()
    optimized = _ort_extended(original, tmp_path, arch) if how == "extended" else \
        _transformers_optimizer(original, tmp_path, arch, arch)
    assert set(_contrib_ops(optimized)) == _CASES[(arch, how)]
    got = InferenceSession(optimized).run(None, feeds)
    _assert_rel(got[0], _run_peer(optimized, feeds)[0])
    # and the fused model still computes what the original did
    _assert_rel(got[0], InferenceSession(original).run(None, feeds)[0])


def test_bert_attention_fusion_reads_the_padding_mask(tmp_path):
    """The fused Attention gets mask_index from EmbedLayerNormalization: padded keys must
    not change the unpadded positions' outputs."""
    optimized = _transformers_optimizer(models.bert(), tmp_path, "bert", "bert")
    feeds = models.bert_feeds()
    sess = InferenceSession(optimized)
    base = sess.run(None, feeds)[0]
    changed = dict(feeds, input_ids=feeds["input_ids"].copy())
    changed["input_ids"][1, -5:] = (changed["input_ids"][1, -5:] + 7) % 60
    again = sess.run(None, changed)[0]
    np.testing.assert_allclose(again[1, :-5], base[1, :-5], rtol=1e-5, atol=1e-5)
    assert not np.allclose(again[1, -5:], base[1, -5:])


def _llm_feeds(ids, positions, mask, past):
    feeds = {"input_ids": ids, "position_ids": positions, "attention_mask": mask}
    for i, (k, v) in enumerate(past):
        feeds[f"past_key_values.{i}.key"], feeds[f"past_key_values.{i}.value"] = k, v
    return feeds


def test_tiny_llm_decodes_with_kv_cache_like_onnxruntime():
    """A right-padded batch of two prompts, then four greedy decode steps, each step's
    logits and present KV compared with onnxruntime's, the presents fed back as past."""
    model = models.tiny_llm()
    ours, peer = InferenceSession(model), ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert set(_contrib_ops(model)) == {"GroupQueryAttention", "RotaryEmbedding",
                                        "SkipSimplifiedLayerNormalization"}
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, (2, 5)).astype(np.int64)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], np.int64)
    positions = np.arange(5)[None, :].repeat(2, 0).astype(np.int64)
    past = [(np.zeros((2, 2, 0, 16), np.float32),) * 2] * 2
    lengths = mask.sum(1)
    for step in range(5):
        feeds = _llm_feeds(ids, positions, mask, past)
        got, want = ours.run(None, feeds), peer.run(None, feeds)
        for g, w in zip(got, want):
            _assert_rel(g, w)
        # greedy next token from each sequence's last real position
        last = got[0][np.arange(2), (lengths - 1) if step == 0 else 0]
        ids = last.argmax(-1).reshape(2, 1).astype(np.int64)
        positions = lengths.reshape(2, 1).astype(np.int64)
        lengths = lengths + 1
        mask = np.concatenate([mask, np.ones((2, 1), np.int64)], axis=1)
        past = [(got[1 + 2 * i], got[2 + 2 * i]) for i in range(2)]
    assert past[0][0].shape == (2, 2, 9, 16)


def test_inspect_lists_contrib_ops_and_unknown_vendor_op_fails_with_domain(tmp_path):
    import os
    import subprocess
    import sys

    from ai_engine.errors import UnsupportedOperatorError

    path = tmp_path / "llm.onnx"
    onnx.save(models.tiny_llm(), path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-m", "ai_engine.cli", "inspect", str(path)],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "com.microsoft:1" in out.stdout
    assert "GroupQueryAttention" in out.stdout and "RotaryEmbedding" in out.stdout
    model = models.bert()
    model.graph.node.append(onnx.helper.make_node("NotAnOp", ["last_hidden_state"], ["z"],
                                                  domain="com.example"))
    model.opset_import.append(onnx.helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedOperatorError, match="com.example::NotAnOp"):
        InferenceSession(model)
