"""Writes tests/fixtures/formats/python-written.safetensors with the reference Python `safetensors` library
(run once on a machine that has it, e.g. the GPU machine: python3 scripts/python/make_safetensors_fixture.py OUT).
The test tests/formats/safetensors-python.test.ts reads it and checks the values below."""
import sys
import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1] if len(sys.argv) > 1 else "python-written.safetensors"
tensors = {
    "layers.0.attn.q_proj.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5,
    "embeddings.weight": np.array([[1.5, -2.25], [3.0e-8, 65504.0]], dtype=np.float32),
    "ids": np.array([7, -1, 2147483647], dtype=np.int32),
    "half": np.array([0.5, -1.0, 2.0], dtype=np.float16),
    "steps": np.array([1, 2], dtype=np.int64),
}
save_file(tensors, out, metadata={"format": "pt", "writer": "python safetensors"})
import safetensors
print(f"wrote {out} with safetensors {safetensors.__version__}")
