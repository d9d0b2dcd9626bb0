"""Load the exported model: config.json (the graph and its plan) + model.safetensors (the weights)."""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

try:
    from .model import StateLabForCausalLM
except ImportError:  # run as a script from inside this folder
    from model import StateLabForCausalLM

HERE = Path(__file__).resolve().parent


def load_config(path=HERE):
    return json.loads((Path(path) / "config.json").read_text())


def load_model(path=HERE, device="cpu", weights="model.safetensors"):
    """Builds the model from config.json and loads every parameter (strict: names and shapes must match)."""
    model = StateLabForCausalLM(load_config(path))
    model.load_state_dict(load_file(str(Path(path) / weights)), strict=True)
    return model.to(device)


def save_model(model, path, config=None):
    """Writes model.safetensors (F32, StateLab's names) and config.json: a folder StateLab can import."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().to("cpu", torch.float32).contiguous() for name, t in model.state_dict().items()}
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps(config or model.config, indent=2) + "\n")
