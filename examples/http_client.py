"""Talk to `ai-engine serve` (no arguments: the demo model "digits" on 127.0.0.1:8080).

    ai-engine serve &
    python examples/http_client.py

The same server answers Triton's own client (KServe V2, binary tensors) and plain JSON.
"""

import httpx
import numpy as np
import tritonclient.http as tc

from ai_engine.demo import samples

URL = "127.0.0.1:8080"

pixels, labels = samples()

# 1. tritonclient, unmodified: binary tensor data both ways.
client = tc.InferenceServerClient(URL)
x = tc.InferInput("pixels", [4, 64], "FP32")
x.set_data_from_numpy(pixels[:4].astype(np.float32))
result = client.infer("digits", [x], outputs=[tc.InferRequestedOutput("label")])
print("tritonclient labels:", result.as_numpy("label"), "true:", labels[:4])

# 2. The seed's /api/v1 with nested lists.
r = httpx.post(f"http://{URL}/api/v1/infer",
               json={"model": "digits", "inputs": {"pixels": pixels[:2].tolist()}})
print("/api/v1 labels:", r.json()["outputs"]["label"]["data"])
