"""Model zoo: architectures "from the wild" exported by PyTorch with both exporters
(scripts/export_zoo_models.py: NAME_ts.onnx = TorchScript opset 17, NAME_dynamo.onnx =
torch.export opset 18; NAME_<variant>.onnx: other opsets and exporter options, onnxruntime's
quantizers; NAME_skl.onnx: scikit-learn via skl2onnx), run by ai-engine (unoptimized and fully
optimized) and by onnxruntime on the same random inputs, batch 1, 2 and 1 again where the batch
is dynamic: every output agrees to rtol 1e-4, atol 1e-5 * max|ref|.

Quantized models (``*_q*``) are compared with an exact reference instead of onnxruntime's own
integer kernels, which saturate on CPUs without VNNI (see exact_reference.py).
"""

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from exact_reference import exact_session, is_quantized

from ai_engine import InferenceSession, SessionOptions

ZOO = os.path.join(os.path.dirname(__file__), "zoo")


def _image(size):
    def feeds(b, rng, dims):
        _, _, h, w = dims["image"]                             # batch 2: non-square if dynamic
        h = h if isinstance(h, int) else (size if b == 1 else size * 3 // 4)
        w = w if isinstance(w, int) else (size if b == 1 else size * 5 // 4)
        return {"image": rng.standard_normal((b, 3, h, w)).astype(np.float32)}
    return feeds


def _gpt2(b, rng, dims):
    return {"input_ids": rng.integers(0, 256, (b, 5 + 6 * b)).astype(np.int64)}


def _gpt2kv(b, rng, dims):
    t, past = (1, 7) if b == 1 else (5, 3)                     # decode step, short prompt
    feeds = {"input_ids": rng.integers(0, 256, (b, t)).astype(np.int64)}
    for name in ("past_key_0", "past_value_0", "past_key_1", "past_value_1"):
        feeds[name] = rng.standard_normal((b, 4, past, 16)).astype(np.float32)
    return feeds


def _bert(b, rng, dims):
    t = 12
    mask = np.ones((b, t), np.int64)
    mask[1:, t - 4:] = 0                                       # padded second sequence
    types = np.zeros((b, t), np.int64)
    types[:, t // 2:] = 1
    return {"input_ids": rng.integers(0, 200, (b, t)).astype(np.int64),
            "attention_mask": mask, "token_type_ids": types}


def _speech(b, rng, dims):
    t = dims["features"][2]                                    # speech_dynamo is static
    t = t if isinstance(t, int) else 37 + 4 * b
    return {"features": rng.standard_normal((b, 20, t)).astype(np.float32)}


def _llama(b, rng, dims):
    return {"input_ids": rng.integers(0, 128, (b, 4 + 5 * b)).astype(np.int64)}


def _ranker(b, rng, dims):
    return {"items": rng.standard_normal((b, 20 + 7 * b, 16)).astype(np.float32),
            "query": rng.standard_normal((b, 16)).astype(np.float32)}


def _greedy(b, rng, dims):
    return {"token": rng.integers(0, 8, (b,)).astype(np.int64),
            "hidden": rng.standard_normal((b, 16)).astype(np.float32),
            "steps": np.array(6 - b, np.int64)}


def _tabular(b, rng, dims):
    return {"X": rng.standard_normal((3 * b, 8)).astype(np.float32)}


def _mha(b, rng, dims):
    return {"x": rng.standard_normal((b, 10, 16)).astype(np.float32),
            "memory": rng.standard_normal((b, 7, 24)).astype(np.float32)}


FEEDS = {"resnet18": _image(64), "mobilenetv2": _image(64), "efficientnet": _image(64),
         "vit": _image(32), "gpt2": _gpt2, "gpt2kv": _gpt2kv, "bert": _bert, "speech": _speech,
         "unet": _image(64), "yolo": _image(64), "mha": _mha,
         "grabbag": _image(64), "llama": _llama, "ranker": _ranker,
         "greedy": _greedy, "logreg": _tabular, "forest": _tabular, "gbr": _tabular,
         "kmeans": _tabular, "mlpclf": _tabular, "svc": _tabular, "svr": _tabular,
         "svcbin": _tabular}

MODELS = sorted(f[:-5] for f in os.listdir(ZOO) if f.endswith(".onnx"))


def test_zoo_is_complete():
    """Every PyTorch architecture has a TorchScript export; the table knows every file."""
    for name in FEEDS:
        assert f"{name}_ts" in MODELS or f"{name}_skl" in MODELS
    for model in MODELS:
        assert model.rsplit("_", 1)[0] in FEEDS


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_matches_onnxruntime(model):
    path = os.path.join(ZOO, f"{model}.onnx")
    make_feeds = FEEDS[model.rsplit("_", 1)[0]]
    quiet = ort.SessionOptions()
    quiet.log_severity_level = 3                               # *_initin: initializer warnings
    proto = onnx.load(path)
    peer = exact_session(proto) if is_quantized(proto) else \
        ort.InferenceSession(path, quiet, providers=["CPUExecutionProvider"])
    ours = {level: InferenceSession(path, SessionOptions(graph_optimization_level=level))
            for level in (0, 99)}
    dims = {i.name: i.shape for i in peer.get_inputs()}
    batch0 = peer.get_inputs()[0].shape[0]                     # mha_ts, speech_dynamo: static
    # Batch 1 again last: a plan or buffer cached for the first shape must not go stale.
    for batch in (batch0,) if isinstance(batch0, int) else (1, 2, 1):
        feeds = make_feeds(batch, np.random.default_rng(batch), dims)
        want = peer.run(None, feeds)
        for level, session in ours.items():
            got = session.run(None, feeds)
            assert len(got) == len(want)
            for i, (g, w) in enumerate(zip(got, want)):
                where = f"{model} level={level} batch={batch} output {i}"
                if isinstance(w, list):                        # ZipMap: a sequence of maps
                    assert isinstance(g, list) and len(g) == len(w), where
                    assert all(gm.keys() == wm.keys() for gm, wm in zip(g, w)), where
                    g = np.array([[gm[k] for k in wm] for gm, wm in zip(g, w)], np.float32)
                    w = np.array([list(wm.values()) for wm in w], np.float32)
                assert g.dtype == w.dtype and g.shape == w.shape, where
                if w.dtype == object:                          # string class labels
                    np.testing.assert_array_equal(g, w, err_msg=where)
                    continue
                np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * np.abs(w).max(),
                                           err_msg=where)
