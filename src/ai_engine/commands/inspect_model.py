"""``ai-engine inspect MODEL``: opsets, inputs/outputs, op histogram, parameters, support."""

from __future__ import annotations

from collections import Counter


def add_inspect(sub) -> None:
    p = sub.add_parser("inspect", help="describe a model: I/O, ops, parameters, support")
    p.add_argument("model", help="path of an .onnx model")
    p.set_defaults(handler=inspect_command)


def _dims(shape) -> str:
    if shape is None:
        return "[unknown rank]"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _type(v) -> str:
    from ai_engine.core import dtypes

    if v.kind != "tensor":
        return v.kind
    return dtypes.onnx_name(v.elem_type).lower() if v.elem_type else "unknown"


def inspect_command(args) -> int:
    from ai_engine.engine.binding import iter_nodes, unsupported_ops
    from ai_engine.formats.onnx.loader import load_model

    model = load_model(args.model)
    g = model.graph
    print(f"model       {args.model}")
    print(f"ir_version  {model.ir_version}   producer {model.producer or '-'}")
    print("opsets      " + ", ".join(f"{d or 'ai.onnx'}:{v}" for d, v in model.opsets.items()))
    print("inputs")
    for v in g.inputs:
        print(f"  {v.name:<24} {_type(v):<10} {_dims(v.shape)}")
    print("outputs")
    for v in g.outputs:
        print(f"  {v.name:<24} {_type(v):<10} {_dims(v.shape)}")
    consts = g.constants()
    params = sum(int(a.size) for a in consts.values())
    nbytes = sum(int(a.nbytes) for a in consts.values())
    nodes = list(iter_nodes(g))
    print(f"parameters  {params:,} in {len(consts)} initializers, {nbytes / 2**20:.2f} MiB")
    print(f"nodes       {len(nodes)}")
    for op, count in Counter(n.op_type for n in nodes).most_common():
        print(f"  {op:<28} {count}")
    missing = unsupported_ops(g)
    if missing:
        print("unsupported operators")
        for domain, op, opset, names in missing:
            print(f"  {domain or 'ai.onnx'}::{op} (opset {opset}) in {len(names)} node(s): "
                  f"{', '.join(names[:5])}")
    else:
        print("unsupported operators: none")
    return 0
