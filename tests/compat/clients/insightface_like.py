"""A face-embedding model wrapper in the style of insightface's model_zoo: logger severity,
CUDA-then-CPU providers, input size from get_inputs()[0].shape, run with output names."""

import os
import sys

import numpy as np
import onnxruntime

onnxruntime.set_default_logger_severity(3)


class ArcFaceONNX:
    def __init__(self, model_file):
        self.session = onnxruntime.InferenceSession(
            model_file, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        input_cfg = self.session.get_inputs()[0]
        self.input_shape = input_cfg.shape
        self.input_size = tuple(self.input_shape[2:4][::-1])
        self.input_name = input_cfg.name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.input_mean, self.input_std = 127.5, 127.5

    def get_feat(self, imgs):
        blob = (imgs.astype(np.float32) - self.input_mean) / self.input_std
        blob = blob.transpose(0, 3, 1, 2)[:, ::-1].copy()  # BGR -> RGB, NCHW
        return self.session.run(self.output_names, {self.input_name: blob})[0]


def main(model_dir, out):
    model = ArcFaceONNX(os.path.join(model_dir, "tiny_resnet.onnx"))
    faces = np.random.default_rng(4).integers(0, 256, (2, 64, 64, 3)).astype(np.uint8)
    feat = model.get_feat(faces)
    normed = feat / np.linalg.norm(feat, axis=1, keepdims=True)
    np.savez(out, feat=feat, normed=normed, sim=normed @ normed.T,
             input_shape=np.array([str(d) for d in model.input_shape]),
             outputs=np.array(model.output_names),
             providers=np.array(model.session.get_providers()))


if __name__ == "__main__":
    main(*sys.argv[1:])
