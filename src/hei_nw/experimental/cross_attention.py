"""Episodic adapter: one cross-attention block over memory-token embeddings.

Hooked after decoder block ``floor(0.6 * L)``: hidden states ``h`` ``[b, t, H]`` attend
to memory embeddings ``m`` ``[b, s, H]`` and the block adds ``tanh(gate) * attn(h, m)``.
``gate`` starts at zero, so an attached but untrained adapter (or one with no memory)
leaves the model's logits exactly as they were.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class EpisodicAdapter(nn.Module):
    def __init__(self, hidden_size: int, n_heads: int = 4) -> None:
        super().__init__()
        if hidden_size % n_heads:
            raise ValueError(f"hidden_size {hidden_size} not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.norm = nn.LayerNorm(hidden_size)
        self.q = nn.Linear(hidden_size, hidden_size, bias=False)
        self.kv = nn.Linear(hidden_size, 2 * hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, hidden_size, bias=False)
        self.gate = nn.Parameter(torch.zeros(1))
        self.memory: torch.Tensor | None = None

    def set_memory(self, memory: torch.Tensor | None) -> None:
        """Memory-token embeddings ``[b, s, H]`` for the next forward passes (None clears)."""
        self.memory = memory

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.memory is None or self.memory.shape[1] == 0:
            return hidden
        b, t, h = hidden.shape
        hd = h // self.n_heads
        q = self.q(self.norm(hidden)).view(b, t, self.n_heads, hd).transpose(1, 2)  # [b, nh, t, hd]
        k, v = self.kv(self.memory.to(hidden.dtype)).chunk(2, dim=-1)
        k = k.view(b, -1, self.n_heads, hd).transpose(1, 2)  # [b, nh, s, hd]
        v = v.view(b, -1, self.n_heads, hd).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1) @ v  # [b, nh, t, hd]
        mixed = self.out(attn.transpose(1, 2).reshape(b, t, h))
        return hidden + torch.tanh(self.gate) * mixed


def adapter_layer_index(n_layers: int) -> int:
    return math.floor(0.6 * n_layers)


def attach_adapter(model: Any, adapter: EpisodicAdapter, layer: int | None = None) -> Any:
    """Register ``adapter`` after decoder block ``layer`` (default 60% depth); returns the hook handle."""
    layers = model.model.layers
    index = adapter_layer_index(len(layers)) if layer is None else layer

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        if isinstance(output, tuple):
            return (adapter(output[0]), *output[1:])
        return adapter(output)

    return layers[index].register_forward_hook(hook)
