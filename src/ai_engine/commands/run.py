"""``ai-engine run [MODEL] [--input NAME=FILE.npy ...] [--output OUT.npz]``.

With no model, runs the built-in digit classifier on bundled samples and prints its
predictions next to the true labels.
"""

from __future__ import annotations

import sys

import numpy as np


def add_run(sub) -> None:
    p = sub.add_parser("run", help="run a model (the built-in demo when none is given)")
    p.add_argument("model", nargs="?", help="path of an .onnx model")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=FILE.npy",
                   help="an input array; repeat per input (random data when none given)")
    p.add_argument("--output", "-o", metavar="OUT.npz", help="save the outputs to this file")
    p.add_argument("--provider", default="cpu", help="cpu (default) or cuda")
    p.set_defaults(handler=run_command)


def run_command(args) -> int:
    if args.model is None:
        return run_demo()
    from ai_engine import InferenceSession
    from ai_engine.commands.feeds import parse_input_args, random_feeds

    session = InferenceSession(args.model, providers=[args.provider])
    feeds = parse_input_args(args.input)
    if not feeds:
        feeds = random_feeds(session.graph.inputs)
        shapes = ", ".join(f"{k}{list(v.shape)} {v.dtype}" for k, v in feeds.items())
        print(f"no --input given: running on random inputs {shapes}", file=sys.stderr)
    outputs = session.run(None, feeds)
    names = [o.name for o in session.get_outputs()]
    for name, value in zip(names, outputs):
        print(f"{name}: {_describe(value)}")
    if args.output:
        np.savez(args.output, **{n: v for n, v in zip(names, outputs)
                                 if isinstance(v, np.ndarray)})
        print(f"saved {len(names)} output(s) to {args.output}")
    return 0


def _describe(value) -> str:
    if isinstance(value, list):
        return f"sequence of {len(value)} tensors"
    if value is None:
        return "empty optional"
    arr = np.asarray(value)
    preview = np.array2string(arr.reshape(-1)[:8], precision=4, separator=", ")
    more = " ..." if arr.size > 8 else ""
    return f"{arr.dtype}{list(arr.shape)} {preview}{more}"


def run_demo() -> int:
    from ai_engine import InferenceSession
    from ai_engine import demo

    session = InferenceSession(demo.MODEL_PATH)
    pixels, labels = demo.samples()
    probabilities, predicted = session.run(None, {"pixels": pixels})
    print("ai-engine demo: handwritten digit classifier (8x8 images, scikit-learn digits set)")
    print(f"model: {demo.MODEL_PATH}")
    print()
    for line in demo.ascii_digit(pixels[0]):
        print("    " + line)
    print()
    print(" sample  predicted  confidence  true label")
    for i, (p, label) in enumerate(zip(predicted, labels)):
        mark = "" if p == label else "   <- wrong"
        print(f"  {i:>5}  {int(p):>9}  {probabilities[i, p]:>10.3f}  {int(label):>10}{mark}")
    correct = int((predicted == labels).sum())
    print(f"\n{correct}/{len(labels)} correct")
    return 0
