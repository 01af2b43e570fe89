"""Tree ensembles of the ``ai.onnx.ml`` domain: TreeEnsemble (opset 5), TreeEnsembleRegressor
and TreeEnsembleClassifier (opsets 1 and 3).

Operator pages: https://onnx.ai/onnx/operators/onnx_aionnxml_TreeEnsemble.html,
onnx_aionnxml_TreeEnsembleRegressor.html, onnx_aionnxml_TreeEnsembleClassifier.html.

All three are converted to one flat forest: interior nodes in arrays (feature, mode, split,
children, missing-value direction), children encoded as ``>= 0`` (interior node) or
``-1 - leaf`` (leaf), and each leaf's weights as sparse (leaf, target, weight) entries.
Evaluation walks every (sample, tree) pair one depth level per step, fully vectorized over
the pairs still at an interior node, so the Python loop runs ``max depth`` times. Scores are
aggregated with ``bincount`` (SUM/AVERAGE) or a sort (MIN/MAX). Details the spec leaves open
(targets no leaf voted for, binary classifiers) follow onnxruntime.
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.operators.ml import ML_DOMAIN, _host, _obj, post_transform_scores
from ai_engine.engine.registry import register

_LEQ, _LT, _GTE, _GT, _EQ, _NEQ, _MEMBER = range(7)
_MODE_NAMES = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3,
               "BRANCH_EQ": 4, "BRANCH_NEQ": 5}
_COMPARE = (np.less_equal, np.less, np.greater_equal, np.greater, np.equal, np.not_equal)
_AGG = ("AVERAGE", "SUM", "MIN", "MAX")
_POST = ("NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT")


class _Forest:
    """Flat forest (host arrays); ``leaf_*`` are the sparse leaf weight entries."""

    def __init__(self, feature, mode, split, true_child, false_child, missing_true, roots,
                 leaf_of_entry, target_of_entry, weight_of_entry, n_leaves, sets=None):
        self.feature = np.asarray(feature, dtype=np.int64)
        self.mode = np.asarray(mode, dtype=np.int64)
        self.split = np.asarray(split, dtype=np.float64)
        self.true_child = np.asarray(true_child, dtype=np.int64)
        self.false_child = np.asarray(false_child, dtype=np.int64)
        self.missing_true = np.asarray(missing_true, dtype=bool)
        self.roots = np.asarray(roots, dtype=np.int64)
        self.entry_leaf = np.asarray(leaf_of_entry, dtype=np.int64)
        self.entry_target = np.asarray(target_of_entry, dtype=np.int64)
        self.entry_weight = np.asarray(weight_of_entry, dtype=np.float64)
        self.n_leaves = n_leaves
        # BRANCH_MEMBER sets: one NaN-padded row per member node, indexed by set_row[node].
        self.sets = sets
        modes = np.unique(self.mode)
        self.single_mode = int(modes[0]) if len(modes) == 1 and modes[0] != _MEMBER else None

    def leaves(self, xp, x):
        """The leaf reached by every (sample, tree): int64 [N, n_trees]."""
        n, t = x.shape[0], len(self.roots)
        xf = x.astype(np.float64)
        feature, mode, split = (xp.asarray(a) for a in (self.feature, self.mode, self.split))
        tchild, fchild = xp.asarray(self.true_child), xp.asarray(self.false_child)
        miss = xp.asarray(self.missing_true)
        if self.sets is not None:
            set_row, set_vals = xp.asarray(self.sets[0]), xp.asarray(self.sets[1])
        cur = xp.broadcast_to(xp.asarray(self.roots), (n, t)).reshape(-1)
        out = xp.empty(n * t, dtype=np.int64)
        pos = xp.arange(n * t, dtype=np.int64)
        for _ in range(len(self.feature) + 1):
            done = cur < 0
            out[pos[done]] = -1 - cur[done]
            pos, node = pos[~done], cur[~done]
            if pos.size == 0:
                return out.reshape(n, t)
            v = xf[pos // t, feature[node]]
            thr, m = split[node], mode[node]
            if self.single_mode is not None:   # the usual case (all BRANCH_LEQ): one compare
                cond = _COMPARE[self.single_mode](v, thr)
            else:
                cond = xp.where(m == _LEQ, v <= thr, xp.where(m == _LT, v < thr,
                       xp.where(m == _GTE, v >= thr, xp.where(m == _GT, v > thr,
                       xp.where(m == _EQ, v == thr, v != thr)))))
            if self.sets is not None:
                mem = m == _MEMBER
                if bool(mem.any()):
                    rows = set_vals[set_row[node[mem]]]
                    cond[mem] = (rows == v[mem][:, None]).any(axis=1)
            cond = cond | (miss[node] & xp.isnan(v))
            cur = xp.where(cond, tchild[node], fchild[node])
        raise ValueError("tree ensemble: the node links contain a cycle")

    def scores(self, xp, x, n_targets, aggregate):
        """Aggregated scores float64 [N, n_targets] and whether any leaf voted for each."""
        leaf = self.leaves(xp, x)
        n, t = leaf.shape
        e_leaf, e_tgt, e_w = (xp.asarray(a) for a in
                              (self.entry_leaf, self.entry_target, self.entry_weight))
        # Expand every reached leaf into its weight entries (entries are sorted by leaf).
        count = xp.bincount(e_leaf, minlength=self.n_leaves)
        start = xp.cumsum(count) - count
        flat = leaf.reshape(-1)
        rep = count[flat]
        total = int(rep.sum())
        sample = xp.repeat(xp.arange(n * t) // t, rep)
        first = xp.repeat(xp.cumsum(rep) - rep, rep)
        entry = xp.repeat(start[flat], rep) + (xp.arange(total) - first)
        key = sample * n_targets + e_tgt[entry]
        w = e_w[entry]
        size = n * n_targets
        has = xp.bincount(key, minlength=size) > 0
        if aggregate in ("SUM", "AVERAGE"):
            s = xp.bincount(key, weights=w, minlength=size)
            if aggregate == "AVERAGE":
                s = s / t
        else:
            s = xp.zeros(size, dtype=np.float64)
            if total:
                order = xp.lexsort(xp.stack([w if aggregate == "MIN" else -w, key]))
                k, ws = key[order], w[order]
                head = xp.concatenate([xp.ones(1, dtype=bool), k[1:] != k[:-1]])
                s[k[head]] = ws[head]
        return s.reshape(n, n_targets), has.reshape(n, n_targets)


def _check_len(op, **arrays):
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{op}: attribute lengths differ: {lengths}")


def _as_2d(x):
    return x.reshape(1, -1) if x.ndim == 1 else x


@register("TreeEnsemble", since=5, domain=ML_DOMAIN)
def tree_ensemble(xp, x, *, nodes_featureids, nodes_splits, nodes_modes, nodes_truenodeids,
                  nodes_falsenodeids, nodes_trueleafs, nodes_falseleafs, leaf_targetids,
                  leaf_weights, tree_roots, n_targets=None, aggregate_function=1,
                  post_transform=0, nodes_hitrates=None, nodes_missing_value_tracks_true=None,
                  membership_values=None):
    """TreeEnsemble-5: https://onnx.ai/onnx/operators/onnx_aionnxml_TreeEnsemble.html"""
    _check_len("TreeEnsemble", f=nodes_featureids, s=nodes_splits.reshape(-1),
               m=nodes_modes.reshape(-1), t=nodes_truenodeids, fa=nodes_falsenodeids,
               tl=nodes_trueleafs, fl=nodes_falseleafs, miss=nodes_missing_value_tracks_true)
    _check_len("TreeEnsemble", targets=leaf_targetids, weights=leaf_weights.reshape(-1))
    if not 0 <= aggregate_function < 4 or not 0 <= post_transform < 5:
        raise ValueError("TreeEnsemble: aggregate_function must be in [0, 3] and "
                         "post_transform in [0, 4]")
    mode = np.asarray(nodes_modes).reshape(-1).astype(np.int64)
    sets = None
    n_member = int((mode == _MEMBER).sum())
    if n_member:
        if membership_values is None:
            raise ValueError("TreeEnsemble: BRANCH_MEMBER nodes need membership_values")
        mv = np.asarray(membership_values, dtype=np.float64).reshape(-1)
        # The sets are listed in node order, each terminated by a NaN.
        groups = np.split(mv, np.flatnonzero(np.isnan(mv)) + 1)[:n_member]
        if len(groups) < n_member:
            raise ValueError("TreeEnsemble: fewer membership sets than BRANCH_MEMBER nodes")
        groups = [g[~np.isnan(g)] for g in groups]
        width = max(1, max(len(g) for g in groups))
        vals = np.full((n_member, width), np.nan)
        for i, g in enumerate(groups):
            vals[i, :len(g)] = g
        set_row = np.zeros(len(mode), dtype=np.int64)
        set_row[mode == _MEMBER] = np.arange(n_member)
        sets = (set_row, vals)
    tl = np.asarray(nodes_trueleafs, dtype=bool)
    fl = np.asarray(nodes_falseleafs, dtype=bool)
    tc = np.asarray(nodes_truenodeids, dtype=np.int64)
    fc = np.asarray(nodes_falsenodeids, dtype=np.int64)
    miss = nodes_missing_value_tracks_true or (0,) * len(mode)
    n_leaves = len(leaf_targetids)
    targets = np.asarray(leaf_targetids, dtype=np.int64)
    if n_targets is None:
        n_targets = int(targets.max()) + 1 if n_leaves else 1
    if n_leaves and (targets.min() < 0 or targets.max() >= n_targets):
        raise ValueError(f"TreeEnsemble: leaf_targetids must be in [0, {n_targets})")
    forest = _Forest(nodes_featureids, mode, np.asarray(nodes_splits).reshape(-1),
                     np.where(tl, -1 - tc, tc), np.where(fl, -1 - fc, fc), miss, tree_roots,
                     np.arange(n_leaves), targets, np.asarray(leaf_weights).reshape(-1),
                     n_leaves, sets)
    x2 = _as_2d(x)
    s, _ = forest.scores(xp, x2, n_targets, _AGG[aggregate_function])
    return post_transform_scores(xp, s, _POST[post_transform]).astype(x.dtype)


def _legacy_forest(op, nodes_treeids, nodes_nodeids, nodes_featureids, nodes_modes, values,
                   nodes_truenodeids, nodes_falsenodeids, missing, e_treeids, e_nodeids,
                   e_ids, e_weights):
    """A ``_Forest`` from the opset 1/3 encoding: nodes keyed by (tree id, node id), LEAF
    nodes carrying weights listed in separate (tree id, node id, target, weight) arrays."""
    _check_len(op, t=nodes_treeids, n=nodes_nodeids, f=nodes_featureids, m=nodes_modes,
               v=values, tr=nodes_truenodeids, fa=nodes_falsenodeids, miss=missing)
    _check_len(op, t=e_treeids, n=e_nodeids, i=e_ids, w=e_weights)
    key = {(t, n): i for i, (t, n) in enumerate(zip(nodes_treeids, nodes_nodeids))}
    is_leaf = np.array([m == "LEAF" for m in nodes_modes], dtype=bool)
    leaf_no = np.cumsum(is_leaf) - 1           # leaf index of each LEAF node
    inner_no = np.cumsum(~is_leaf) - 1         # interior index of each other node
    code = np.where(is_leaf, -1 - leaf_no, inner_no)

    def child(tree, node):
        try:
            return code[key[(tree, node)]]
        except KeyError:
            raise ValueError(f"{op}: node ({tree}, {node}) is referenced but not defined") \
                from None

    inner = np.flatnonzero(~is_leaf)
    tc = [child(nodes_treeids[i], nodes_truenodeids[i]) for i in inner]
    fc = [child(nodes_treeids[i], nodes_falsenodeids[i]) for i in inner]
    try:
        mode = [_MODE_NAMES[nodes_modes[i]] for i in inner]
    except KeyError as exc:
        raise ValueError(f"{op}: unknown node mode {exc.args[0]!r}") from None
    miss = np.asarray(missing or (0,) * len(nodes_modes), dtype=bool)[inner]
    # Each tree's root is its first listed node that no node of the tree points to.
    children = {(nodes_treeids[i], c) for i in inner
                for c in (nodes_truenodeids[i], nodes_falsenodeids[i])}
    roots = {}
    for i, (t, n) in enumerate(zip(nodes_treeids, nodes_nodeids)):
        if t not in roots and (t, n) not in children:
            roots[t] = code[i]
    try:
        e_leaf = [-1 - code[key[(t, n)]] for t, n in zip(e_treeids, e_nodeids)]
    except KeyError as exc:
        raise ValueError(f"{op}: weight for unknown node {exc.args[0]}") from None
    if any(v < 0 for v in e_leaf):
        raise ValueError(f"{op}: a weight is attached to a node that is not a LEAF")
    order = np.argsort(np.asarray(e_leaf, dtype=np.int64), kind="stable")
    return _Forest(np.asarray(nodes_featureids, dtype=np.int64)[inner], mode,
                   np.asarray(values, dtype=np.float64)[inner], tc, fc, miss,
                   list(roots.values()), np.asarray(e_leaf, dtype=np.int64)[order],
                   np.asarray(e_ids, dtype=np.int64)[order],
                   np.asarray(e_weights, dtype=np.float64)[order], int(is_leaf.sum()))


def _pick(plain, tensor):
    return tuple(np.asarray(tensor).reshape(-1).tolist()) if tensor is not None else plain


@register("TreeEnsembleRegressor", since=3, domain=ML_DOMAIN)
def tree_ensemble_regressor(xp, x, *, aggregate_function="SUM", base_values=None,
                            base_values_as_tensor=None, n_targets=None, nodes_falsenodeids=None,
                            nodes_featureids=None, nodes_hitrates=None,
                            nodes_hitrates_as_tensor=None, nodes_missing_value_tracks_true=None,
                            nodes_modes=None, nodes_nodeids=None, nodes_treeids=None,
                            nodes_truenodeids=None, nodes_values=None,
                            nodes_values_as_tensor=None, post_transform="NONE", target_ids=None,
                            target_nodeids=None, target_treeids=None, target_weights=None,
                            target_weights_as_tensor=None):
    """TreeEnsembleRegressor-3: https://onnx.ai/onnx/operators/onnx_aionnxml_TreeEnsembleRegressor.html

    Output float32 ``[N, n_targets]``. ``base_values`` are added per target (or one value to
    all); a target that no leaf voted for scores 0, as in onnxruntime."""
    if aggregate_function not in _AGG:
        raise ValueError(f"TreeEnsembleRegressor: unknown aggregate_function "
                         f"{aggregate_function!r}")
    forest = _legacy_forest("TreeEnsembleRegressor", nodes_treeids, nodes_nodeids,
                            nodes_featureids, nodes_modes,
                            _pick(nodes_values, nodes_values_as_tensor), nodes_truenodeids,
                            nodes_falsenodeids, nodes_missing_value_tracks_true,
                            target_treeids, target_nodeids, target_ids,
                            _pick(target_weights, target_weights_as_tensor))
    n_targets = n_targets or (int(max(target_ids)) + 1 if target_ids else 1)
    s, has = forest.scores(xp, _as_2d(x), n_targets, aggregate_function)
    base = _pick(base_values, base_values_as_tensor)
    if base:
        # onnxruntime leaves a target that no leaf voted for at 0, without its base value.
        s = xp.where(has, s + xp.asarray(base, dtype=np.float64), 0.0)
    return post_transform_scores(xp, s, post_transform).astype(np.float32)


@register("TreeEnsembleRegressor", since=1, domain=ML_DOMAIN)
def tree_ensemble_regressor_1(xp, x, *, aggregate_function="SUM", base_values=None,
                              n_targets=None, nodes_falsenodeids=None, nodes_featureids=None,
                              nodes_hitrates=None, nodes_missing_value_tracks_true=None,
                              nodes_modes=None, nodes_nodeids=None, nodes_treeids=None,
                              nodes_truenodeids=None, nodes_values=None, post_transform="NONE",
                              target_ids=None, target_nodeids=None, target_treeids=None,
                              target_weights=None):
    """TreeEnsembleRegressor-1 (no *_as_tensor attributes)."""
    return tree_ensemble_regressor(
        xp, x, aggregate_function=aggregate_function, base_values=base_values,
        n_targets=n_targets, nodes_falsenodeids=nodes_falsenodeids,
        nodes_featureids=nodes_featureids,
        nodes_missing_value_tracks_true=nodes_missing_value_tracks_true,
        nodes_modes=nodes_modes, nodes_nodeids=nodes_nodeids, nodes_treeids=nodes_treeids,
        nodes_truenodeids=nodes_truenodeids, nodes_values=nodes_values,
        post_transform=post_transform, target_ids=target_ids, target_nodeids=target_nodeids,
        target_treeids=target_treeids, target_weights=target_weights)


@register("TreeEnsembleClassifier", since=3, domain=ML_DOMAIN)
def tree_ensemble_classifier(xp, x, *, base_values=None, base_values_as_tensor=None,
                             class_ids=None, class_nodeids=None, class_treeids=None,
                             class_weights=None, class_weights_as_tensor=None,
                             classlabels_int64s=None, classlabels_strings=None,
                             nodes_falsenodeids=None, nodes_featureids=None, nodes_hitrates=None,
                             nodes_hitrates_as_tensor=None,
                             nodes_missing_value_tracks_true=None, nodes_modes=None,
                             nodes_nodeids=None, nodes_treeids=None, nodes_truenodeids=None,
                             nodes_values=None, nodes_values_as_tensor=None,
                             post_transform="NONE"):
    """TreeEnsembleClassifier-3: https://onnx.ai/onnx/operators/onnx_aionnxml_TreeEnsembleClassifier.html

    Returns ``(labels [N], scores float32 [N, classes])``: the leaf weights summed per class
    plus ``base_values``, the label of the best class that got a vote, then post_transform.
    Two classes whose weights all go to one class id ("binary") follow onnxruntime: the
    label is the second class when the score exceeds 0.5 (all weights >= 0) or 0, and the
    scores become ``[1 - p, p]`` with LOGISTIC, else ``[1 - s, s]`` (all weights >= 0) or
    ``[-s, s]``."""
    labels = list(classlabels_strings or classlabels_int64s or ())
    if not labels:
        raise ValueError("TreeEnsembleClassifier: classlabels_strings or classlabels_int64s "
                         "is required")
    weights = _pick(class_weights, class_weights_as_tensor)
    forest = _legacy_forest("TreeEnsembleClassifier", nodes_treeids, nodes_nodeids,
                            nodes_featureids, nodes_modes,
                            _pick(nodes_values, nodes_values_as_tensor), nodes_truenodeids,
                            nodes_falsenodeids, nodes_missing_value_tracks_true,
                            class_treeids, class_nodeids, class_ids, weights)
    n_cls = len(labels)
    s, has = forest.scores(xp, _as_2d(x), n_cls, "SUM")
    base = list(_pick(base_values, base_values_as_tensor) or ())
    binary = n_cls == 2 and len(set(class_ids or ())) == 1
    if not binary:
        if base:
            s = s + xp.asarray(base, dtype=np.float64)
            has = xp.ones_like(has) if len(base) == n_cls else has
        best = xp.argmax(xp.where(has, s, -np.inf), axis=1)
        out = post_transform_scores(xp, s, post_transform)
    else:
        # One score column carries the vote; the other class is its complement.
        col = int(class_ids[0])
        v = s[:, col] + (base[col] if len(base) == n_cls else base[0] if base else 0.0)
        positive = all(w >= 0 for w in weights)
        best = (v > (0.5 if positive else 0.0)).astype(np.int64)
        # As onnxruntime: LOGISTIC gives [1 - p, p]; other transforms are not applied and
        # the scores are [1 - s, s] (weights all >= 0, s a probability) or [-s, s].
        if post_transform in ("LOGISTIC", "PROBIT"):
            t = post_transform_scores(xp, v[:, None], post_transform)[:, 0]
            out = xp.stack([1 - t, t], axis=1)
        else:
            out = xp.stack([1 - v if positive else -v, v], axis=1)
    if classlabels_strings:
        y = _obj([labels[i] for i in _host(best).tolist()], best.shape)
    else:
        y = xp.asarray(np.asarray(labels, dtype=np.int64))[best]
    return y, out.astype(np.float32)


@register("TreeEnsembleClassifier", since=1, domain=ML_DOMAIN)
def tree_ensemble_classifier_1(xp, x, *, base_values=None, class_ids=None, class_nodeids=None,
                               class_treeids=None, class_weights=None, classlabels_int64s=None,
                               classlabels_strings=None, nodes_falsenodeids=None,
                               nodes_featureids=None, nodes_hitrates=None,
                               nodes_missing_value_tracks_true=None, nodes_modes=None,
                               nodes_nodeids=None, nodes_treeids=None, nodes_truenodeids=None,
                               nodes_values=None, post_transform="NONE"):
    """TreeEnsembleClassifier-1 (no *_as_tensor attributes)."""
    return tree_ensemble_classifier(
        xp, x, base_values=base_values, class_ids=class_ids, class_nodeids=class_nodeids,
        class_treeids=class_treeids, class_weights=class_weights,
        classlabels_int64s=classlabels_int64s, classlabels_strings=classlabels_strings,
        nodes_falsenodeids=nodes_falsenodeids, nodes_featureids=nodes_featureids,
        nodes_missing_value_tracks_true=nodes_missing_value_tracks_true,
        nodes_modes=nodes_modes, nodes_nodeids=nodes_nodeids, nodes_treeids=nodes_treeids,
        nodes_truenodeids=nodes_truenodeids, nodes_values=nodes_values,
        post_transform=post_transform)
