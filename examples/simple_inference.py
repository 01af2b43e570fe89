#!/usr/bin/env python3
"""The seed's simple_inference example, in Python: load the built-in demo model, run it on
bundled samples, print predictions next to the true labels.

    python examples/simple_inference.py
"""

import numpy as np

import ai_engine
from ai_engine import demo


def main() -> None:
    session = ai_engine.InferenceSession(demo.MODEL_PATH)
    for arg in session.get_inputs():
        print(f"input  {arg.name}: {arg.type} {arg.shape}")
    for arg in session.get_outputs():
        print(f"output {arg.name}: {arg.type} {arg.shape}")

    pixels, labels = demo.samples()
    probabilities, predicted = session.run(None, {"pixels": pixels})
    for p, label, probs in zip(predicted, labels, probabilities):
        print(f"predicted {p} (p={probs[p]:.3f})  true {label}")
    print(f"accuracy on {len(labels)} samples: {np.mean(predicted == labels):.0%}")


if __name__ == "__main__":
    main()
