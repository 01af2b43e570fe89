"""A captcha reader in the style of ddddocr: logger severity 3, the model given as bytes by
onnxruntime's keyword ``path_or_bytes``, the charset applied to the argmax of the output."""

import os
import sys

import numpy as np
import onnxruntime

onnxruntime.set_default_logger_severity(3)

CHARSET = [""] + list("0123456789abcdefghij")


class Reader:
    def __init__(self, model_path):
        with open(model_path, "rb") as f:
            model_bytes = f.read()
        self.session = onnxruntime.InferenceSession(path_or_bytes=model_bytes,
                                                    providers=["CPUExecutionProvider"])

    def classification(self, image):
        ort_inputs = {self.session.get_inputs()[0].name: image}
        ort_outs = self.session.run(None, ort_inputs)
        result, last = [], 0
        for item in ort_outs[0][0].argmax(axis=-1):
            if item != last and item != 0:
                result.append(CHARSET[item])
            last = item
        return "".join(result), ort_outs[0]


def main(model_dir, out):
    reader = Reader(os.path.join(model_dir, "recognizer.onnx"))
    images = np.random.default_rng(9).standard_normal((3, 1, 3, 8, 40)).astype(np.float32)
    texts, outs = zip(*(reader.classification(img) for img in images))
    np.savez(out, texts=np.array(texts), outs=np.stack(outs))


if __name__ == "__main__":
    main(*sys.argv[1:])
