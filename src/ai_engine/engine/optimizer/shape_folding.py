"""Shape folding: evaluate shape arithmetic at load time, symbolically where a dim is dynamic.

Every dim is tracked as a monomial ``coef * d1 * d2 ...`` whose factors ``d`` are dims of the
graph inputs that are *not* fixed ints in the declared input shapes (those are read from the
fed tensors at run time); a fixed declared dim is an int. Tensor shapes are propagated through
a small, exact set of ops (elementwise, broadcasting binaries, MatMul, Gemm, Transpose,
Gather, Reshape, Unsqueeze, Squeeze, Shape...); anything else is "unknown". Small integer
tensors (at most 1-D) also carry their *values* as monomials through Shape, Gather, Slice,
Concat, Unsqueeze, Squeeze, Cast and integer Add/Sub/Mul/Div.

Rewrite rules:
- an integer tensor whose values are all known ints (only fixed dims went in) becomes a
  constant and its producer goes (constant folding then folds the chain that reads it);
- ``Reshape(x, shape)`` whose target values are all known monomials but not all ints becomes
  ``ai_engine::ReshapeDims(x, *graph inputs)`` with the monomials as an attribute: the target
  is computed from the fed inputs' shapes with Python ints, and the Shape/Gather/Concat chain
  that computed it dies. Symbolic dims stay dynamic; nothing is assumed beyond the declared
  input shapes (which the session validates on every run).
"""

from __future__ import annotations

import numpy as np

from ai_engine.engine.graph import Graph, Node
from ai_engine.engine.optimizer.matching import INT32, INT64

ONE = (1, ())
UNARY = frozenset({"Relu", "Erf", "Sqrt", "Neg", "Exp", "Tanh", "Sigmoid", "Softmax",
                   "LayerNormalization", "Gelu", "Identity", "Abs", "Log", "Reciprocal",
                   "Cast", "Dropout", "LeakyRelu", "Not", "Sign", "Floor", "Ceil", "Round",
                   "LogSoftmax", "HardSigmoid", "Elu", "Selu", "Softplus", "Clip"})
BINARY = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Where", "Equal", "Less", "Greater",
                    "And", "Or", "Max", "Min", "Mod"})
INT_TYPES = {INT32: np.int32, INT64: np.int64}


def _c(k: int):
    return (int(k), ())


def _mul(a, b):
    if a is None or b is None:
        return None
    if a[0] == 0 or b[0] == 0:
        return (0, ())
    return (a[0] * b[0], tuple(sorted(a[1] + b[1])))


def _div(a, b):
    """Exact division only (no rounding-mode question): by an int or by a sub-monomial."""
    if a is None or b is None or b[0] == 0 or a[0] % b[0]:
        return None
    rest = list(a[1])
    for f in b[1]:
        if f not in rest:
            return None
        rest.remove(f)
    return (a[0] // b[0], tuple(rest))


def _add(a, b, sign=1):
    if a is None or b is None:
        return None
    if a[1] == b[1] or not b[0]:
        k = a[0] + sign * b[0]
        return (k, a[1] if k else ())
    if not a[0] and sign == 1:
        return b
    return None


def _prod(dims):
    p = ONE
    for d in dims:
        p = _mul(p, d)
    return p


def _broadcast(shapes):
    if any(s is None for s in shapes):
        return None
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0}
        dims.discard(ONE)
        out.append(ONE if not dims else dims.pop() if len(dims) == 1 and None not in dims
                   else None)
    return tuple(out)


class _Infer:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.shape: dict[int, tuple | None] = {}
        self.data: dict[int, tuple] = {}   # id -> (dtype, shape, [monomials])
        self.input_index = {}
        for i, v in enumerate(graph.inputs):
            self.input_index[id(v)] = i
            if v.const is not None:
                continue
            if v.shape is not None:
                self.shape[id(v)] = tuple(_c(d) if isinstance(d, int) and d >= 0
                                          else (1, ((i, a),)) for a, d in enumerate(v.shape))

    def get_shape(self, v):
        if v is None:
            return None
        if v.const is not None:
            return tuple(_c(d) for d in v.const.shape)
        return self.shape.get(id(v))

    def get_data(self, v):
        if v is None:
            return None
        if v.const is not None:
            c = v.const
            if c.dtype.kind in "iu" and c.ndim <= 1 and c.size <= 64:
                return (c.dtype, c.shape, [_c(x) for x in c.reshape(-1).tolist()])
            return None
        return self.data.get(id(v))

    def run(self):
        for node in self.graph.nodes:
            if node.domain not in ("", "ai_engine"):
                continue
            try:
                self.node_shape(node)
                self.node_data(node)
            except (IndexError, KeyError, TypeError, ValueError):
                continue  # malformed or unexpected: leave the value unknown

    # -- tensor shapes ---------------------------------------------------------------------
    def node_shape(self, node: Node):
        op, ins, out = node.op_type, node.inputs, node.outputs[0]
        if out is None:
            return
        s = [self.get_shape(v) for v in ins]
        a = node.attrs
        res = None
        if node.domain == "ai_engine":
            if op == "FusedAttention" and s[0] is not None and s[2] is not None:
                res = s[0][:-1] + (s[2][-1],)     # softmax(q k^T) v: q's rows, v's columns
            if op == "MatMulAdd" and s[0] is not None and s[1] is not None and len(s[1]) == 2:
                res = s[0][:-1] + (s[1][1],)
            if op == "ReshapeDims" and s[0] is not None:
                res = self._reshape_dims(s[0], self._decode(node), a.get("allowzero", 0))
        elif op in UNARY:
            res = s[0]
        elif op in BINARY:
            res = _broadcast([x for x, v in zip(s, ins) if v is not None])
        elif op == "MatMul" and s[0] and s[1] and len(s[0]) >= 2 and len(s[1]) >= 2:
            batch = _broadcast([s[0][:-2], s[1][:-2]])
            res = batch + (s[0][-2], s[1][-1]) if batch is not None else None
        elif op == "Gemm" and s[0] and s[1]:
            res = (s[0][1] if a.get("transA") else s[0][0],
                   s[1][0] if a.get("transB") else s[1][1])
        elif op == "Transpose" and s[0] is not None:
            perm = a.get("perm") or tuple(range(len(s[0])))[::-1]
            res = tuple(s[0][p] for p in perm)
        elif op == "Gather" and s[0] is not None and s[1] is not None:
            ax = a.get("axis", 0) % len(s[0])
            res = s[0][:ax] + s[1] + s[0][ax + 1:]
        elif op == "Shape" and s[0] is not None:
            n = len(self._shape_slice(node, s[0]))
            res = (_c(n),)
        elif op in ("Unsqueeze", "Squeeze") and s[0] is not None:
            res = self._squeeze(node, s[0])
        elif op == "Reshape" and s[0] is not None:
            d = self.get_data(ins[1])
            if d is not None:
                res = self._reshape_dims(s[0], d[2], a.get("allowzero", 0))
        if res is not None:
            self.shape[id(out)] = tuple(res)

    def _decode(self, node):
        dims, out, i = node.attrs["dims"], [], 0
        while i < len(dims):
            syms = [(self.input_index[id(node.inputs[1 + dims[i + 2 + 2 * k]])],
                     dims[i + 3 + 2 * k]) for k in range(dims[i + 1])]
            out.append((dims[i], tuple(sorted(syms))) if dims[i] else (0, ()))
            i += 2 + 2 * dims[i + 1]
        return out

    def _shape_slice(self, node, dims):
        start = node.attrs.get("start", 0)
        end = node.attrs.get("end", None)
        return list(dims)[start:end]

    def _axes(self, node):
        if node.opset >= 13 and len(node.inputs) > 1:
            v = node.inputs[1]
            if v is None:
                return None
            if v.const is None:
                raise ValueError("dynamic axes")
            return tuple(int(x) for x in v.const.reshape(-1))
        return node.attrs.get("axes")

    def _squeeze(self, node, dims):
        axes = self._axes(node)
        dims = list(dims)
        if node.op_type == "Unsqueeze":
            rank = len(dims) + len(axes)
            for ax in sorted(x % rank for x in axes):
                dims.insert(ax, ONE)
            return dims
        if axes is None:
            if any(d is None or d[1] for d in dims):
                raise ValueError("unknown squeeze")
            return [d for d in dims if d != ONE]
        drop = {x % len(dims) for x in axes}
        return [d for i, d in enumerate(dims) if i not in drop]

    @staticmethod
    def _reshape_dims(in_dims, target, allowzero):
        out = []
        for i, t in enumerate(target):
            if t == (0, ()) and not allowzero:
                t = in_dims[i] if i < len(in_dims) else None
            out.append(t)
        if (-1, ()) in out:
            k = out.index((-1, ()))
            others = _prod(out[:k] + out[k + 1:])
            out[k] = _div(_prod(in_dims), others)
        return out

    # -- small integer tensors -------------------------------------------------------------
    def node_data(self, node: Node):
        op, ins, out = node.op_type, node.inputs, node.outputs[0]
        if out is None or node.domain:
            return
        res = None
        if op == "Shape":
            s = self.get_shape(ins[0])
            if s is not None:
                vals = self._shape_slice(node, s)
                res = (np.dtype(np.int64), (len(vals),), vals)
        else:
            d = [self.get_data(v) for v in ins]
            if not d or d[0] is None:
                return
            dt, shp, vals = d[0]
            if op == "Gather" and d[1] is not None and len(shp) == 1:
                idx = [x[0] for x in d[1][2]]
                if any(x[1] for x in d[1][2]):
                    return
                res = (dt, d[1][1], [vals[i] for i in idx])
            elif op == "Unsqueeze" and len(shp) == 0 and self._axes(node) in ((0,), (-1,)):
                res = (dt, (1,), vals)
            elif op == "Squeeze" and shp == (1,):
                res = (dt, (), vals)
            elif op == "Concat" and all(x is not None and len(x[1]) == 1 for x in d):
                res = (dt, (sum(len(x[2]) for x in d),), [e for x in d for e in x[2]])
            elif op == "Slice" and len(shp) == 1 and all(x is not None for x in d[1:]):
                p = [[e[0] for e in x[2]] for x in d[1:]]
                p += [[0], [1]][len(p) - 2:]
                if any(e[1] for x in d[1:] for e in x[2]) or p[2] not in ([0], [-1]) \
                        or p[3] != [1] or len(p[0]) != 1:
                    return
                vals = vals[p[0][0]:p[1][0]]
                res = (dt, (len(vals),), vals)
            elif op == "Cast" and node.attrs.get("to") in INT_TYPES:
                res = (np.dtype(INT_TYPES[node.attrs["to"]]), shp, vals)
            elif op in ("Mul", "Div", "Add", "Sub") and len(d) == 2 and d[1] is not None:
                n = max(len(vals), len(d[1][2]))
                if len(shp) < len(d[1][1]):
                    shp = d[1][1]
                xs = vals * n if len(vals) == 1 else vals
                ys = d[1][2] * n if len(d[1][2]) == 1 else d[1][2]
                if len(xs) != n or len(ys) != n or d[1][0] != dt:
                    return
                if op == "Mul":
                    vals = [_mul(x, y) for x, y in zip(xs, ys)]
                elif op == "Div":
                    vals = [_div(x, y) for x, y in zip(xs, ys)]
                else:
                    vals = [_add(x, y, 1 if op == "Add" else -1) for x, y in zip(xs, ys)]
                res = (dt, shp, vals)
        if res is not None:
            self.data[id(out)] = res


def _encode(vals, refs: list) -> tuple | None:
    flat = []
    for coef, syms in vals:
        flat += [coef, len(syms)]
        for i, ax in syms:
            if i not in refs:
                refs.append(i)
            flat += [refs.index(i), ax]
    return tuple(flat)


def _rewrite(graph: Graph, info: _Infer) -> bool:
    changed = False
    outputs = {id(v) for v in graph.outputs}
    for node in list(graph.nodes):
        if node.domain or len(node.outputs) != 1 or node.outputs[0] is None:
            continue
        out = node.outputs[0]
        d = info.data.get(id(out))
        if d is not None and id(out) not in outputs and node.op_type != "Constant" \
                and all(x is not None and not x[1] for x in d[2]):
            graph.remove_node(node)
            out.const = np.array([x[0] for x in d[2]], dtype=d[0]).reshape(d[1])
            changed = True
            continue
        if node.op_type == "Reshape" and node.inputs[1].const is None:
            t = info.get_data(node.inputs[1])
            if t is None or any(x is None for x in t[2]) or len(t[1]) != 1:
                continue
            refs: list[int] = []
            dims = _encode(t[2], refs)
            graph.remove_node(node)
            new = Node("ReshapeDims", [node.inputs[0]] + [graph.inputs[i] for i in refs],
                       [out], {"dims": dims, "allowzero": node.attrs.get("allowzero", 0)},
                       domain="ai_engine", name=node.name, opset=1)
            graph.add_node(new)
            changed = True
    return changed


def fold_shapes(graph: Graph) -> bool:
    """One round of inference and rewriting; the pipeline's constant folding and dead-code
    passes then remove what it made dead, and the pipeline runs it again until nothing
    changes."""
    info = _Infer(graph)
    info.run()
    if not _rewrite(graph, info):
        return False
    graph.sort()
    return True
