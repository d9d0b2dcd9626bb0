"""A StateLab model exported to PyTorch: `from <this folder> import load_model`."""

from .load import load_config, load_model, save_model
from .model import StateLabForCausalLM

__all__ = ["StateLabForCausalLM", "load_config", "load_model", "save_model"]
