"""A voice-activity detector in the style of silero-vad's OnnxWrapper: one thread each,
CPU provider, a recurrent state fed back every chunk, the sample rate as an int64 input."""

import os
import sys

import numpy as np
import onnxruntime


class OnnxWrapper:
    def __init__(self, path):
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"],
                                                    sess_options=opts)
        self.reset_states()

    def reset_states(self, batch_size=1):
        self._state = np.zeros((2, batch_size, 16)).astype("float32")

    def __call__(self, x, sr: int):
        ort_inputs = {"input": x, "state": self._state, "sr": np.array(sr, dtype="int64")}
        out, state = self.session.run(None, ort_inputs)
        self._state = state
        return out


def main(model_dir, out):
    model = OnnxWrapper(os.path.join(model_dir, "vad.onnx"))
    audio = np.random.default_rng(6).standard_normal((30, 1, 64)).astype(np.float32)
    probs = [model(chunk, 16000)[0, 0] for chunk in audio[:20]]
    model.reset_states()
    probs += [model(chunk, 8000)[0, 0] for chunk in audio[20:]]
    np.savez(out, probs=np.array(probs), state=model._state)


if __name__ == "__main__":
    main(*sys.argv[1:])
