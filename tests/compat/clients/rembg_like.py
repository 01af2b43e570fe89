"""A background remover in the style of rembg's sessions: provider choice from
get_available_providers()/get_device(), threads from OMP_NUM_THREADS, run(None, feeds)."""

import os
import sys

import numpy as np
import onnxruntime as ort


class BaseSession:
    def __init__(self, model_path):
        sess_opts = ort.SessionOptions()
        if "OMP_NUM_THREADS" in os.environ:
            sess_opts.inter_op_num_threads = int(os.environ["OMP_NUM_THREADS"])
            sess_opts.intra_op_num_threads = int(os.environ["OMP_NUM_THREADS"])
        providers = ort.get_available_providers()
        if ort.get_device() == "GPU" and "CUDAExecutionProvider" in providers:
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        self.inner_session = ort.InferenceSession(model_path, providers=providers,
                                                  sess_options=sess_opts)

    def normalize(self, img, mean, std, size):
        im = img.astype(np.float32) / max(float(np.max(img)), 1e-6)
        out = np.zeros_like(im)
        for c in range(3):
            out[:, :, c] = (im[:, :, c] - mean[c]) / std[c]
        tensor = out.transpose((2, 0, 1))[None].astype(np.float32)
        return {self.inner_session.get_inputs()[0].name: tensor}

    def predict(self, img):
        ort_outs = self.inner_session.run(
            None, self.normalize(img, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (32, 32)))
        pred = ort_outs[0][:, 0, :, :]
        ma, mi = np.max(pred), np.min(pred)
        pred = (pred - mi) / (ma - mi)
        return pred, (np.squeeze(pred) * 255).astype(np.uint8)


def main(model_dir, out):
    session = BaseSession(os.path.join(model_dir, "segmenter.onnx"))
    img = np.random.default_rng(3).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    pred, mask = session.predict(img)
    np.savez(out, pred=pred, mask=mask)


if __name__ == "__main__":
    main(*sys.argv[1:])
