"""Property tests: linear algebra, Resize, normalization, recurrent layers and
ConvTranspose, ai-engine against onnxruntime (see test_properties_shape_index_cast.py)."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from ai_engine import InferenceSession
from prop_helpers import (DIM, FLOATS, SETTINGS, SHAPE, _check, _check_if_ort, _data, _ort,
                          _same, broadcast_shapes)


# ---------------------------------------------------------------------------------------------
# linear algebra

@SETTINGS
@given(batch=broadcast_shapes(2), m=DIM, k=DIM, n=DIM, a1=st.booleans(), b1=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_matmul(batch, m, k, n, a1, b1, dtype):
    a_shape = (k,) if a1 else batch[0] + (m, k)
    b_shape = (k,) if b1 else batch[1] + (k, n)
    feeds = {"a": _data(a_shape, dtype, 1), "b": _data(b_shape, dtype, 2)}
    _check("MatMul", feeds, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(m=DIM, k=DIM, n=DIM, ta=st.integers(0, 1), tb=st.integers(0, 1),
       alpha=st.sampled_from([1.0, 0.5, -2.0]), beta=st.sampled_from([1.0, 0.0, 3.0]),
       c=st.sampled_from(["none", "scalar", "n", "1n", "m1", "mn"]),
       dtype=st.sampled_from([np.float32, np.float64]), opset=st.sampled_from([11, 13]))
def test_gemm(m, k, n, ta, tb, alpha, beta, c, dtype, opset):
    feeds = {"a": _data((k, m) if ta else (m, k), dtype, 1),
             "b": _data((n, k) if tb else (k, n), dtype, 2)}
    c_shape = {"scalar": (), "n": (n,), "1n": (1, n), "m1": (m, 1), "mn": (m, n)}.get(c)
    if c_shape is not None:
        feeds["c"] = _data(c_shape, dtype, 3)
    _check("Gemm", feeds, opset=opset, transA=ta, transB=tb, alpha=alpha, beta=beta,
           rtol=1e-5, atol=1e-5)


EINSUMS = ["ij,jk->ik", "bij,bjk->bik", "ii->i", "ij->ji", "ij->", "i,i->", "i,j->ij",
           "...ij,...jk->...ik", "bhqd,bhkd->bhqk", "ijk->kji", "ij,ij->ij", "ii", "ij,jk",
           "bn,anm,bm->ba", "i...->...", "abc,cd->abd", "ij,kj->ik", "ijk,ik->j"]


@SETTINGS
@given(eq=st.sampled_from(EINSUMS), data=st.data(),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_einsum(eq, data, dtype):
    letters = {c: data.draw(DIM) for c in "abcdhijkmnq"}
    ell = data.draw(st.lists(DIM, max_size=2))
    feeds = {}
    for i, term in enumerate(eq.split("->")[0].split(",")):
        shape = []
        for c in term.replace("...", "."):
            shape += ell if c == "." else [letters[c]]
        feeds[f"x{i}"] = _data(shape, dtype, i)
    _check("Einsum", feeds, equation=eq, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Resize

COORDS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
          "half_pixel_symmetric"]


@SETTINGS
@given(h=st.integers(1, 6), w=st.integers(1, 6), data=st.data(),
       mode=st.sampled_from(["nearest", "linear", "cubic"]), coord=st.sampled_from(COORDS),
       nearest=st.sampled_from(["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]),
       by_sizes=st.booleans(), exclude_outside=st.integers(0, 1))
def test_resize(h, w, data, mode, coord, nearest, by_sizes, exclude_outside):
    x = _data((1, 2, h, w), np.float32)
    attrs = dict(mode=mode, coordinate_transformation_mode=coord, nearest_mode=nearest)
    if mode != "nearest":
        attrs["antialias"] = data.draw(st.integers(0, 1))
    if mode == "cubic" or attrs.get("antialias"):  # ORT allows exclude_outside only there
        attrs["exclude_outside"] = exclude_outside
    if by_sizes:
        sizes = [data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))]
        # align_corners to a size of 1 divides by zero in the spec's formula
        assume(coord != "align_corners" or min(sizes) > 1)
        # nearest flips at exact integer (floor/ceil) or .5 (round) source coordinates: with
        # a ratio like 3/5, ORT's float32 arithmetic lands either side of them
        assume(mode != "nearest" or all((n / d * 64).is_integer() for n, d in
                                         zip(sizes, (h, w))))
        policy = data.draw(st.sampled_from(["stretch", "not_larger", "not_smaller"]))
        feeds = {"x": x, "roi": np.array([], np.float32), "": None}
        if policy == "stretch" and data.draw(st.booleans()):
            feeds["sizes"] = np.array([1, 2] + sizes, np.int64)
        else:
            feeds["sizes"] = np.array(sizes, np.int64)
            attrs.update(axes=[2, 3], keep_aspect_ratio_policy=policy)
            # A kept aspect ratio rounds in * scale to the output size: the spec then maps
            # coordinates with that common scale, ORT with out / in per axis. Compare only
            # where the two agree.
            scale = (min if policy == "not_larger" else max)(sizes[0] / h, sizes[1] / w)
            assume(all(abs(d * scale - round(d * scale)) < 1e-9 for d in (h, w)))
    else:
        scales = [data.draw(st.sampled_from([0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0]))
                  for _ in range(2)]
        out = [int(np.floor(d * s)) for d, s in zip((h, w), scales)]
        assume(min(out) >= 1 and (coord != "align_corners" or min(out) > 1))
        # align_corners from a scale: the spec (and the ONNX node tests) divide
        # by the fractional length_resized - 1, ORT by the integer output length - 1
        assume(coord != "align_corners" or all(d * s == o for d, s, o in
                                                zip((h, w), scales, out)))
        feeds = {"x": x, "": None, "r": np.array([1, 1] + scales, np.float32)}
    _check("Resize", feeds, opset=19, rtol=1e-5, atol=1e-5, **attrs)


# ---------------------------------------------------------------------------------------------
# normalization

def _tol(dtype):
    return dict(rtol=1e-2, atol=1e-2) if dtype == np.float16 else dict(rtol=1e-4, atol=1e-5)


@SETTINGS
@given(shape=SHAPE, data=st.data(), dtype=FLOATS, eps=st.sampled_from([1e-5, 1e-2]))
def test_layer_normalization(shape, data, dtype, eps):
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    norm = shape[axis:]
    pshape = norm[data.draw(st.integers(0, len(norm) - 1)):]  # scale broadcasts from the right
    feeds = {"x": _data(shape, dtype), "s": _data(pshape, dtype, 1)}
    if data.draw(st.booleans()):
        feeds["b"] = _data(pshape, dtype, 2)
    n_out = 3 if dtype != np.float16 else 1  # ORT's float16 Mean/InvStdDev are float32
    _check("LayerNormalization", feeds, n_out, opset=17, axis=axis, epsilon=eps, **_tol(dtype))


@SETTINGS
@given(shape=st.lists(DIM, min_size=2, max_size=5), dtype=FLOATS, seed=st.integers(0, 99))
def test_batch_and_instance_normalization(shape, dtype, seed):
    c = shape[1]
    x = _data(shape, dtype, seed)
    feeds = {"x": x, "s": _data(c, dtype, 1), "b": _data(c, dtype, 2), "m": _data(c, dtype, 3),
             "v": (np.abs(_data(c, dtype, 4)) + 0.5).astype(dtype)}
    _check("BatchNormalization", feeds, opset=15, epsilon=1e-3, **_tol(dtype))
    if len(shape) >= 3 and dtype != np.float64:  # ORT has no float64 InstanceNormalization
        feeds = {"x": x, "s": _data(c, dtype, 1), "b": _data(c, dtype, 2)}
        _check("InstanceNormalization", feeds, epsilon=1e-3, **_tol(dtype))


# ---------------------------------------------------------------------------------------------
# recurrent

def _both_inputs(op, inputs, n_out, opset, peer=True, **attrs):
    """Like _both, with optional inputs (``None``) anywhere in ``inputs``' list of pairs."""
    from onnx import ValueInfoProto, helper

    given_ = [(n, a) for n, a in inputs if a is not None]
    node = helper.make_node(op, [n if a is not None else "" for n, a in inputs],
                            [f"y{i}" for i in range(n_out)], **attrs)
    graph = helper.make_graph(
        [node], op, [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype),
                                                   a.shape) for n, a in given_],
        [ValueInfoProto(name=f"y{i}") for i in range(n_out)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    feeds = dict(given_)
    return InferenceSession(model).run(None, feeds), _ort(model, feeds) if peer else None


def _check_rnn(op, inputs, n_out, **attrs):
    """Layout 0 against ORT; layout 1 (which ORT's CPU RNNs lack) against our layout 0."""
    ours, peer = _both_inputs(op, inputs, n_out, 14, **attrs)
    _same(ours, peer, rtol=1e-4, atol=1e-5)
    # batch-first: X (T,B,I) -> (B,T,I); states (D,B,H) -> (B,D,H); Y (T,D,B,H) -> (B,T,D,H)
    swapped = [(n, a if a is None or n in ("w", "r", "b", "lens", "p") else a.swapaxes(0, 1))
               for n, a in inputs]
    batch_first, _ = _both_inputs(op, swapped, n_out, 14, peer=False, layout=1, **attrs)
    _same(batch_first, [ours[0].transpose(2, 0, 1, 3)] + [y.swapaxes(0, 1) for y in ours[1:]],
          rtol=1e-6, atol=1e-7)


@st.composite
def rnn_case(draw, gates):
    t, b, i, h = (draw(st.integers(1, 4)) for _ in range(4))
    direction = draw(st.sampled_from(["forward", "reverse", "bidirectional"]))
    d = 2 if direction == "bidirectional" else 1
    rng = np.random.default_rng(draw(st.integers(0, 999)))

    def arr(*shape):
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    def maybe(v):
        return v if draw(st.booleans()) else None

    lens = None
    if draw(st.booleans()):
        lens = rng.integers(1, t + 1, b).astype(np.int32)
    state = (d, b, h)
    inputs = [("x", arr(t, b, i)), ("w", arr(d, gates * h, i)),
              ("r", arr(d, gates * h, h)), ("b", maybe(arr(d, 2 * gates * h))),
              ("lens", lens), ("h0", maybe(arr(*state)))]
    attrs = dict(hidden_size=h, direction=direction)
    if draw(st.booleans()):
        attrs["clip"] = 0.7
    return inputs, attrs, state, maybe, arr, d, h


@SETTINGS
@given(case=rnn_case(4), data=st.data())
def test_lstm(case, data):
    inputs, attrs, state, maybe, arr, d, h = case
    inputs += [("c0", maybe(arr(*state))), ("p", maybe(arr(d, 3 * h)))]
    attrs["input_forget"] = data.draw(st.integers(0, 1))
    _check_rnn("LSTM", inputs, 3, **attrs)


@SETTINGS
@given(case=rnn_case(3), lbr=st.integers(0, 1))
def test_gru(case, lbr):
    inputs, attrs, *_ = case
    _check_rnn("GRU", inputs, 2, linear_before_reset=lbr, **attrs)


@SETTINGS
@given(case=rnn_case(1), act=st.sampled_from(["Tanh", "Relu", "Sigmoid"]))
def test_rnn(case, act):
    inputs, attrs, state, *_ = case
    attrs["activations"] = [act] * (2 if attrs["direction"] == "bidirectional" else 1)
    _check_rnn("RNN", inputs, 2, **attrs)


# ---------------------------------------------------------------------------------------------
# ConvTranspose

@SETTINGS
@given(data=st.data(), nd=st.integers(1, 3), group=st.sampled_from([1, 1, 2, 3]),
       bias=st.booleans(), seed=st.integers(0, 999))
def test_conv_transpose(data, nd, group, bias, seed):
    cin = group * data.draw(st.integers(1, 2))
    cout_g = data.draw(st.integers(1, 2))
    k = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    dil = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    opad = [data.draw(st.integers(0, s - 1)) for s in strides]  # ORT: below the stride
    size = [data.draw(st.integers(1, 5)) for _ in range(nd)]
    rng = np.random.default_rng(seed)
    feeds = {"x": rng.standard_normal([data.draw(st.integers(1, 2)), cin] + size)
             .astype(np.float32),
             "w": rng.standard_normal([cin, cout_g] + k).astype(np.float32)}
    if bias:
        feeds["b"] = rng.standard_normal(cout_g * group).astype(np.float32)
    attrs = dict(group=group, strides=strides, dilations=dil, output_padding=opad)
    how = data.draw(st.sampled_from(["pads", "auto", "output_shape"]))
    full = [s * (n - 1) + op + (kk - 1) * d + 1
            for s, n, op, kk, d in zip(strides, size, opad, k, dil)]
    if how == "pads":
        pads = [data.draw(st.integers(0, 2)) for _ in range(2 * nd)]
        assume(all(f - p0 - p1 >= 1 for f, p0, p1 in zip(full, pads[:nd], pads[nd:])))
        attrs["pads"] = pads
    elif how == "auto":
        attrs["auto_pad"] = data.draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]))
        # SAME where the kernel is shorter than the stride needs a negative total padding:
        # the spec still gives in * stride outputs, ORT clamps it to 0
        assume(attrs["auto_pad"] == "VALID" or all(
            f >= s * n for f, s, n in zip(full, strides, size)))
    else:
        attrs["output_shape"] = [data.draw(st.integers(max(1, f - 3), f)) for f in full]
    _check("ConvTranspose", feeds, rtol=1e-4, atol=1e-4, **attrs)


# ---------------------------------------------------------------------------------------------
# Attention-23

@SETTINGS
@given(data=st.data(), b=st.integers(1, 2), kvh=st.integers(1, 2), groups=st.integers(1, 2),
       sq=st.integers(1, 4), skv=st.integers(1, 4), d=st.integers(1, 4),
       layout3d=st.booleans(), causal=st.integers(0, 1), seed=st.integers(0, 999))
def test_attention(data, b, kvh, groups, sq, skv, d, layout3d, causal, seed):
    qh = kvh * groups
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, qh, sq, d)).astype(np.float32)
    k = rng.standard_normal((b, kvh, skv, d)).astype(np.float32)
    v = rng.standard_normal((b, kvh, skv, d + 1)).astype(np.float32)
    attrs = dict(is_causal=causal)
    if data.draw(st.booleans()):
        attrs["scale"] = 0.7
    if data.draw(st.booleans()):
        attrs["softcap"] = 2.0
    if layout3d:  # (B, S, heads * D), heads from the attributes
        q, k, v = (t.transpose(0, 2, 1, 3).reshape(b, t.shape[2], -1) for t in (q, k, v))
        attrs.update(q_num_heads=qh, kv_num_heads=kvh)
    feeds = {"q": q, "k": k, "v": v}
    mask = data.draw(st.sampled_from(["none", "bool", "float"]))
    if mask != "none":
        shape = data.draw(st.sampled_from([[sq, skv], [1, sq, skv], [b, 1, sq, skv],
                                           [b, qh, sq, skv]]))  # ORT: rank 2 to 4
        m = rng.random(shape) > 0.3
        if mask == "bool":
            m[..., 0] = True  # keep a visible key in every row
        feeds["mask"] = m if mask == "bool" else np.where(m, 0, -3).astype(np.float32)
    _check_if_ort("Attention", feeds, opset=23, rtol=1e-4, atol=1e-5, **attrs)
