"""An OCR pipeline in the style of RapidOCR's OrtInferSession: names imported from the
package, SessionOptions tuned (severity 4, no CPU arena, ORT_ENABLE_ALL, threads), CPU
provider options, the character list read from the model's metadata, a direction
classifier and a CTC text recognizer."""

import os
import sys

import numpy as np
from onnxruntime import (GraphOptimizationLevel, InferenceSession, SessionOptions,
                         get_available_providers, get_device)


class OrtInferSession:
    def __init__(self, model_path, num_threads=-1):
        sess_opt = SessionOptions()
        sess_opt.log_severity_level = 4
        sess_opt.enable_cpu_mem_arena = False
        sess_opt.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads != -1:
            sess_opt.intra_op_num_threads = num_threads
        sess_opt.inter_op_num_threads = 1
        ep_list = []
        if get_device() == "GPU" and "CUDAExecutionProvider" in get_available_providers():
            ep_list.append(("CUDAExecutionProvider", {"device_id": 0}))
        ep_list.append(("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"}))
        self.session = InferenceSession(model_path, sess_options=sess_opt, providers=ep_list)

    def __call__(self, input_content):
        input_dict = dict(zip(self.get_input_names(), [input_content]))
        return self.session.run(self.get_output_names(), input_dict)

    def get_input_names(self):
        return [v.name for v in self.session.get_inputs()]

    def get_output_names(self, output_idx=None):
        names = [v.name for v in self.session.get_outputs()]
        return [names[output_idx]] if output_idx is not None else names

    def have_key(self, key="character"):
        return key in self.session.get_modelmeta().custom_metadata_map

    def get_character_list(self, key="character"):
        return self.session.get_modelmeta().custom_metadata_map[key].splitlines()


def ctc_decode(preds, characters):
    idx = preds.argmax(axis=2)[0]
    text, last = [], 0
    for i in idx:
        if i != 0 and i != last:
            text.append(characters[i - 1])
        last = i
    return "".join(text)


def main(model_dir, out):
    cls = OrtInferSession(os.path.join(model_dir, "tiny_mobilenet.onnx"), num_threads=2)
    rec = OrtInferSession(os.path.join(model_dir, "recognizer.onnx"))
    rng = np.random.default_rng(5)
    crops = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    (cls_out,) = cls(crops)
    characters = rec.get_character_list() if rec.have_key() else []
    texts, probs = [], []
    for width in (32, 48):
        (pred,) = rec(rng.standard_normal((1, 3, 8, width)).astype(np.float32))
        texts.append(ctc_decode(pred, characters))
        probs.append(pred)
    np.savez(out, cls=cls_out, cls_label=cls_out.argmax(axis=1), texts=np.array(texts),
             prob32=probs[0], prob48=probs[1], characters=np.array(characters))


if __name__ == "__main__":
    main(*sys.argv[1:])
