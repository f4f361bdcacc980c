"""Layers and training helpers, named as in `torch.nn`.

* layers.py: `Linear`, `Embedding`, `LayerNorm`, `AttentionHead`, `MultiHeadAttention`,
  `FeedForward`, `TransformerBlock`, `TinyTransformer`, `Dropout` (each a `Module`, see
  module.py);
* utils.py: `nn.utils.clip_grad_norm_`, as a PyTorch user writes it.
"""

from . import utils
from .layers import (
    AttentionHead,
    Dropout,
    Embedding,
    FeedForward,
    LayerNorm,
    Linear,
    Module,
    MultiHeadAttention,
    TinyTransformer,
    TransformerBlock,
)

__all__ = [
    "Module",
    "Linear",
    "Embedding",
    "LayerNorm",
    "AttentionHead",
    "MultiHeadAttention",
    "FeedForward",
    "TransformerBlock",
    "TinyTransformer",
    "Dropout",
    "utils",
]
