"""ai.onnx.ml kernels through InferenceSession (ml.py, ml_trees.py), checked against
onnxruntime.

The ONNX backend node cases cover ArrayFeatureExtractor, Binarizer, LabelEncoder string->int
and two TreeEnsemble models; these add the other mappings of LabelEncoder (opset 1/2/4, NaN
keys, repeated keys), Scaler, Normalizer, Imputer, OneHotEncoder, the linear models, and
random forests with every node mode, aggregate function and post transform, in the opset-5
TreeEnsemble encoding and the opset-3 TreeEnsembleRegressor/Classifier encoding.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from ai_engine import InferenceSession
from ai_engine.errors import KernelError

ML = "ai.onnx.ml"
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed():
    # Each test draws the same data whether run alone or with the others.
    global rng
    rng = np.random.default_rng(0)


def _model(op, inputs, n_out, ml_opset, **attrs):
    names = [f"x{i}" for i in range(len(inputs))]
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, domain=ML, **attrs)
    vi = [helper.make_tensor_value_info(
        n, TensorProto.STRING if a.dtype.kind in "OU" else
        helper.np_dtype_to_tensor_dtype(a.dtype), a.shape) for n, a in zip(names, inputs)]
    graph = helper.make_graph([node], op, vi, [helper.make_empty_tensor_value_info(o)
                                               for o in outs])
    return helper.make_model(graph, ir_version=10, opset_imports=[
        helper.make_opsetid("", 21), helper.make_opsetid(ML, ml_opset)])


def run(op, *inputs, n_out=1, ml_opset=5, ort_check=True, rtol=1e-5, atol=1e-6,
        ort_attrs=None, **attrs):
    """Run on ai-engine; compare with onnxruntime (dtype, shape, values) unless told not to.
    ``ort_attrs`` replaces attributes in the model given to onnxruntime."""
    model = _model(op, inputs, n_out, ml_opset, **attrs)
    feeds = {f"x{i}": a for i, a in enumerate(inputs)}
    got = InferenceSession(model).run(None, feeds)
    if ort_check:
        if ort_attrs:
            model = _model(op, inputs, n_out, ml_opset, **{**attrs, **ort_attrs})
        want = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"]).run(None, feeds)
        for g, w in zip(got, want, strict=True):
            g, w = np.asarray(g), np.asarray(w)
            assert g.shape == w.shape, (g.shape, w.shape)
            if w.dtype.kind in "OU":
                assert g.dtype == object and g.tolist() == w.tolist()
            else:
                assert g.dtype == w.dtype, (g.dtype, w.dtype)
                np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return got


def _strings(*items):
    return np.array(items, dtype=object)


# ------------------------------------------------------------------------- simple ops
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
def test_array_feature_extractor(dtype):
    x = (rng.standard_normal((2, 3, 5)) * 10).astype(dtype)
    run("ArrayFeatureExtractor", x, np.array([4, 0, 4], np.int64), ml_opset=1)
    run("ArrayFeatureExtractor", x[0, 0], np.array([[1, 2]], np.int64), ml_opset=1)


def test_array_feature_extractor_strings_and_bad_index():
    run("ArrayFeatureExtractor", _strings("a", "b", "c").reshape(1, 3),
        np.array([2, 0], np.int64), ml_opset=1)
    with pytest.raises(KernelError,
                       match="ArrayFeatureExtractor: index out of range for last dim 3"):
        run("ArrayFeatureExtractor", np.zeros((2, 3), np.float32), np.array([3], np.int64),
            ml_opset=1, ort_check=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binarizer_scaler_normalizer(dtype):
    x = rng.standard_normal((4, 3)).astype(dtype)
    x[1] = 0.0
    y, = run("Binarizer", x, ml_opset=1, threshold=0.25, ort_check=dtype == np.float32)
    assert y.dtype == dtype and (y == (x > 0.25)).all()
    run("Scaler", x, ml_opset=1, offset=[0.5, -1.0, 2.0], scale=[2.0, 0.5, -1.0])
    run("Scaler", x, ml_opset=1, offset=[0.5], scale=[3.0])
    for norm in ("MAX", "L1", "L2"):
        run("Normalizer", x, ml_opset=1, norm=norm)


def test_imputer():
    x = rng.standard_normal((4, 3)).astype(np.float32)
    x[0, 1] = x[2, 0] = np.nan
    run("Imputer", x, ml_opset=1, imputed_value_floats=[1.0, 2.0, 3.0],
        replaced_value_float=float("nan"))
    xi = np.array([[1, -1, 3], [-1, 5, -1]], np.int64)
    run("Imputer", xi, ml_opset=1, imputed_value_int64s=[7], replaced_value_int64=-1)


def test_one_hot_encoder():
    run("OneHotEncoder", np.array([[1, 5, 3], [3, 9, 1]], np.int64), ml_opset=1,
        cats_int64s=[1, 3, 5])
    run("OneHotEncoder", _strings("b", "a", "z").reshape(1, 3), ml_opset=1,
        cats_strings=["a", "b"])
    with pytest.raises(KernelError,
                       match="OneHotEncoder: an input value is not one of the categories"):
        run("OneHotEncoder", np.array([1, 2], np.int64), ml_opset=1, ort_check=False,
            cats_int64s=[1], zeros=0)


# ------------------------------------------------------------------------- LabelEncoder
def test_label_encoder_opset2_mappings():
    s = _strings("a", "q", "c", "a")
    run("LabelEncoder", s, ml_opset=2, keys_strings=["a", "b", "c"], values_floats=[1.5, 2, 3])
    run("LabelEncoder", s, ml_opset=2, keys_strings=["a", "c"], values_strings=["X", "Y"],
        default_string="?")
    i = np.array([[3, 7], [1, 3]], np.int64)
    run("LabelEncoder", i, ml_opset=2, keys_int64s=[3, 1], values_strings=["three", "one"])
    run("LabelEncoder", i, ml_opset=2, keys_int64s=[3, 1], values_int64s=[30, 10],
        default_int64=-7)
    f = np.array([0.5, np.nan, 2.0, -1.0], np.float32)
    run("LabelEncoder", f, ml_opset=2, keys_floats=[2.0, 0.5], values_int64s=[20, 5])


def test_label_encoder_tensor_attributes_and_nan_key():
    f = np.array([0.5, np.nan, 2.0, -1.0], np.float64)
    keys = numpy_helper.from_array(np.array([2.0, np.nan, 0.5]), "k")
    vals = numpy_helper.from_array(np.array([20, 99, 5], np.int32), "v")
    default = numpy_helper.from_array(np.array([-3], np.int32), "d")
    y, = run("LabelEncoder", f, ml_opset=4, ort_check=False, keys_tensor=keys, values_tensor=vals,
             default_tensor=default)
    assert y.dtype == np.int32 and y.tolist() == [5, 99, 20, -3]


def test_label_encoder_repeated_key_last_wins():
    y, = run("LabelEncoder", np.array([1, 2], np.int64), ml_opset=4, ort_check=False,
             keys_int64s=[1, 2, 1], values_int64s=[10, 20, 11])
    assert y.tolist() == [11, 20]


def test_label_encoder_opset1():
    run("LabelEncoder", _strings("b", "x", "a"), ml_opset=1, classes_strings=["a", "b"],
        default_int64=-5)
    run("LabelEncoder", np.array([1, 0, 4], np.int64), ml_opset=1, classes_strings=["a", "b"],
        default_string="none")


# ------------------------------------------------------------------------- linear models
@pytest.mark.parametrize("post", ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"])
def test_linear_regressor(post):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    w = rng.standard_normal(12).tolist()
    run("LinearRegressor", x, ml_opset=1, coefficients=w, intercepts=[0.5, -1.0, 0.0],
        targets=3, post_transform=post)


@pytest.mark.parametrize("post", ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"])
@pytest.mark.parametrize("labels", ["ints", "strings"])
def test_linear_classifier_multiclass(post, labels):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    lab = {"classlabels_ints": [5, 7, 9]} if labels == "ints" else {
        "classlabels_strings": ["u", "v", "w"]}
    run("LinearClassifier", x, n_out=2, ml_opset=1, coefficients=rng.standard_normal(12).tolist(),
        intercepts=[0.1, 0.2, -0.3], post_transform=post, **lab)


@pytest.mark.parametrize("post", ["NONE", "LOGISTIC"])
def test_linear_classifier_binary(post):
    x = rng.standard_normal((6, 3)).astype(np.float32)
    run("LinearClassifier", x, n_out=2, ml_opset=1, coefficients=[0.5, -1.0, 2.0],
        intercepts=[0.25], classlabels_ints=[0, 1], post_transform=post)


# ------------------------------------------------------------------------- tree ensembles
def _random_forest(n_trees, depth, n_features, n_targets, member=False):
    """Complete binary trees as flat lists (opset-5 encoding pieces)."""
    nodes = dict(feat=[], mode=[], split=[], tnode=[], fnode=[], tleaf=[], fleaf=[], miss=[])
    leaves_t, leaves_w, roots, members = [], [], [], []
    for _ in range(n_trees):
        base = len(nodes["feat"])
        roots.append(base)
        n_inner = 2 ** depth - 1
        for k in range(n_inner):
            mode = int(rng.integers(0, 7 if member else 6))
            nodes["feat"].append(int(rng.integers(n_features)))
            nodes["mode"].append(mode)
            split = rng.standard_normal() if rng.random() < 0.5 else rng.integers(-2, 3)
            nodes["split"].append(float(np.float32(split)))
            nodes["miss"].append(int(rng.integers(2)))
            if mode == 6:
                members.extend([float(np.float32(v)) for v in rng.integers(-2, 3, 3)] + [np.nan])
            for side, child in (("t", 2 * k + 1), ("f", 2 * k + 2)):
                if child < n_inner:
                    nodes[side + "node"].append(base + child)
                    nodes[side + "leaf"].append(0)
                else:
                    nodes[side + "node"].append(len(leaves_t))
                    nodes[side + "leaf"].append(1)
                    leaves_t.append(int(rng.integers(n_targets)))
                    leaves_w.append(float(np.float32(rng.standard_normal())))
    return nodes, leaves_t, leaves_w, roots, members


def _features(n, n_features, dtype, integers=False):
    # Small integers (so EQ/NEQ/MEMBER nodes are hit), Gaussian values and some NaNs.
    # onnxruntime truncates x to an integer before a BRANCH_MEMBER test (1.5 is "in" {1});
    # ai-engine compares exactly, as the spec says, so forests with sets get integers only.
    x = np.where(integers | (rng.random((n, n_features)) < 0.5),
                 rng.integers(-2, 3, (n, n_features)), rng.standard_normal((n, n_features)))
    x[rng.random(x.shape) < 0.1] = np.nan
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aggregate,post", [(1, 0), (0, 2), (2, 0), (3, 1), (1, 3), (1, 4)])
def test_tree_ensemble_opset5(dtype, aggregate, post):
    nodes, lt, lw, roots, members = _random_forest(7, 4, 3, 3, member=True)
    x = _features(64, 3, dtype, integers=True)
    T = lambda a, dt: numpy_helper.from_array(np.asarray(a, dtype=dt))  # noqa: E731
    # onnxruntime reads post_transform 1 as LOGISTIC and 2 as SOFTMAX, the spec the reverse.
    run("TreeEnsemble", x, ml_opset=5, atol=1e-4 if post == 4 else 1e-6,
        ort_attrs={"post_transform": {1: 2, 2: 1}.get(post, post)},
        nodes_featureids=nodes["feat"], nodes_modes=T(nodes["mode"], np.uint8),
        nodes_splits=T(nodes["split"], dtype), nodes_truenodeids=nodes["tnode"],
        nodes_falsenodeids=nodes["fnode"], nodes_trueleafs=nodes["tleaf"],
        nodes_falseleafs=nodes["fleaf"], nodes_missing_value_tracks_true=nodes["miss"],
        leaf_targetids=lt, leaf_weights=T(lw, dtype), tree_roots=roots, n_targets=3,
        membership_values=T(members, dtype), aggregate_function=aggregate,
        post_transform=post)


def _legacy(n_trees, depth, n_features, n_out, n_weights=1):
    """A forest in the opset-3 encoding (nodes keyed by tree/node id, LEAF weights apart)."""
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes",
                         "nodes_values", "nodes_truenodeids", "nodes_falsenodeids",
                         "nodes_missing_value_tracks_true")}
    t_tree, t_node, t_id, t_w = [], [], [], []
    modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]
    for tree in range(n_trees):
        n_inner = 2 ** depth - 1
        ids = rng.permutation(2 ** (depth + 1) - 1)    # node ids need not follow positions
        for k in range(2 ** (depth + 1) - 1):
            a["nodes_treeids"].append(tree)
            a["nodes_nodeids"].append(int(ids[k]))
            a["nodes_featureids"].append(int(rng.integers(n_features)))
            a["nodes_values"].append(float(np.float32(rng.standard_normal())))
            a["nodes_missing_value_tracks_true"].append(int(rng.integers(2)))
            inner = k < n_inner
            a["nodes_modes"].append(modes[int(rng.integers(6))] if inner else "LEAF")
            a["nodes_truenodeids"].append(int(ids[2 * k + 1]) if inner else 0)
            a["nodes_falsenodeids"].append(int(ids[2 * k + 2]) if inner else 0)
            if not inner:
                for j in rng.choice(n_out, n_weights, replace=False):
                    t_tree.append(tree)
                    t_node.append(int(ids[k]))
                    t_id.append(int(j))
                    t_w.append(float(np.float32(rng.standard_normal())))
    return a, (t_tree, t_node, t_id, t_w)


def test_tree_ensemble_opset5_no_sets():
    nodes, lt, lw, roots, _ = _random_forest(5, 5, 3, 2)
    T = lambda a, dt: numpy_helper.from_array(np.asarray(a, dtype=dt))  # noqa: E731
    run("TreeEnsemble", _features(100, 3, np.float32), ml_opset=5,
        nodes_featureids=nodes["feat"], nodes_modes=T(nodes["mode"], np.uint8),
        nodes_splits=T(nodes["split"], np.float32), nodes_truenodeids=nodes["tnode"],
        nodes_falsenodeids=nodes["fnode"], nodes_trueleafs=nodes["tleaf"],
        nodes_falseleafs=nodes["fleaf"], nodes_missing_value_tracks_true=nodes["miss"],
        leaf_targetids=lt, leaf_weights=T(lw, np.float32), tree_roots=roots, n_targets=2)


def test_tree_ensemble_member_is_exact():
    """x = 1.5 is not in {1, 2} (onnxruntime would say it is)."""
    T = lambda a, dt: numpy_helper.from_array(np.asarray(a, dtype=dt))  # noqa: E731
    y, = run("TreeEnsemble", np.array([[1.0], [1.5], [2.0], [np.nan]], np.float32),
             ml_opset=5, ort_check=False, nodes_featureids=[0],
             nodes_modes=T([6], np.uint8), nodes_splits=T([0], np.float32),
             nodes_truenodeids=[0], nodes_falsenodeids=[1], nodes_trueleafs=[1],
             nodes_falseleafs=[1], nodes_missing_value_tracks_true=[1], leaf_targetids=[0, 0],
             leaf_weights=T([10, 20], np.float32), tree_roots=[0], n_targets=1,
             membership_values=T([1, 2, np.nan], np.float32))
    assert y.ravel().tolist() == [10, 20, 10, 10]


@pytest.mark.parametrize("aggregate", ["SUM", "AVERAGE", "MIN", "MAX"])
@pytest.mark.parametrize("post", ["NONE", "LOGISTIC", "SOFTMAX"])
def test_tree_ensemble_regressor(aggregate, post):
    a, (tt, tn, ti, tw) = _legacy(5, 3, 4, 3, n_weights=2)
    run("TreeEnsembleRegressor", _features(50, 4, np.float32), ml_opset=3, n_targets=3,
        aggregate_function=aggregate, post_transform=post, base_values=[0.5, -0.25, 1.0],
        target_treeids=tt, target_nodeids=tn, target_ids=ti, target_weights=tw, **a)


def test_tree_ensemble_regressor_target_without_votes():
    """A target no leaf votes for is 0 (its base value is not added), as in onnxruntime."""
    for aggregate in ("MIN", "MAX", "SUM"):
        y, = run("TreeEnsembleRegressor", np.array([[0.0], [2.0]], np.float32), ml_opset=3,
                 n_targets=2, aggregate_function=aggregate, base_values=[1.0, 2.0],
                 nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[0, 0, 0],
                 nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF"], nodes_values=[1.0, 0.0, 0.0],
                 nodes_truenodeids=[1, 0, 0], nodes_falsenodeids=[2, 0, 0],
                 target_treeids=[0, 0], target_nodeids=[1, 2], target_ids=[0, 1],
                 target_weights=[5.0, 7.0])
        assert y.tolist() == [[6.0, 0.0], [0.0, 9.0]]


@pytest.mark.parametrize("post", ["NONE", "SOFTMAX", "LOGISTIC"])
@pytest.mark.parametrize("labels", ["ints", "strings"])
def test_tree_ensemble_classifier_multiclass(post, labels):
    a, (tt, tn, ti, tw) = _legacy(6, 3, 4, 4, n_weights=4)
    lab = {"classlabels_int64s": [3, 1, 4, 5]} if labels == "ints" else {
        "classlabels_strings": ["p", "q", "r", "s"]}
    run("TreeEnsembleClassifier", _features(40, 4, np.float64), n_out=2, ml_opset=3,
        post_transform=post, base_values=[0.1, 0.2, 0.3, 0.4], class_treeids=tt,
        class_nodeids=tn, class_ids=ti, class_weights=tw, **lab, **a)


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("post", ["NONE", "LOGISTIC", "SOFTMAX"])
def test_tree_ensemble_classifier_binary(positive, post):
    a, (tt, tn, ti, tw) = _legacy(4, 3, 4, 1)
    tw = [abs(w) / 4 for w in tw] if positive else tw
    run("TreeEnsembleClassifier", _features(40, 4, np.float32), n_out=2, ml_opset=3,
        post_transform=post, class_treeids=tt, class_nodeids=tn, class_ids=ti,
        class_weights=tw, classlabels_int64s=[0, 1], **a)
