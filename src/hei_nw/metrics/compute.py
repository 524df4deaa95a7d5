"""Compute footprint of a query: attention FLOPs and KV-cache bytes.

Constants are written out so the numbers can be checked by hand:

* Attention FLOPs count the two sequence-mixing matmuls per layer (``QK^T`` and
  ``softmax(.)V``), 2 FLOPs per multiply-add, full (non-causal) prefill:
  prefill ``4 * P^2 * d``; decoding token ``t`` (0-based) attends to ``P + t + 1``
  positions: ``4 * (P + t + 1) * d``. Projections and MLPs are excluded: they scale
  linearly with tokens and are the same for every method at equal token counts.
* KV-cache bytes: ``2 (K and V) * layers * tokens * kv_heads * head_dim * bytes``;
  grouped-query attention shrinks this through ``kv_heads``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

BYTES_PER_DTYPE: dict[str, int] = {
    "fp32": 4,
    "float32": 4,
    "fp16": 2,
    "float16": 2,
    "bf16": 2,
    "bfloat16": 2,
    "int8": 1,
    "nf4": 1,
}


def estimate_attention_flops(
    prompt_toks: int, gen_toks: int, n_layers: int, d_model: int, heads: int | None = None
) -> int:
    """Attention-mixing FLOPs for a prefill of ``prompt_toks`` then ``gen_toks`` decode steps.

    ``heads`` does not change the total (``d_model = heads * head_dim``); it is checked
    for consistency when given.
    """
    if min(prompt_toks, gen_toks, n_layers, d_model) < 0:
        raise ValueError("token counts and sizes must be non-negative")
    if heads is not None and heads > 0 and d_model % heads != 0:
        raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
    prefill = 4 * prompt_toks * prompt_toks * d_model
    # sum_{t=0}^{gen-1} (P + t + 1) = gen*P + gen*(gen+1)/2
    decode = 4 * d_model * (gen_toks * prompt_toks + gen_toks * (gen_toks + 1) // 2)
    return n_layers * (prefill + decode)


def estimate_kv_bytes(
    tokens: int,
    d_model: int,
    dtype: str = "fp16",
    n_layers: int = 1,
    n_heads: int | None = None,
    n_kv_heads: int | None = None,
) -> int:
    """KV-cache bytes for ``tokens`` cached positions.

    Without head counts this is the per-layer multi-head figure ``2 * tokens * d_model``.
    """
    if tokens < 0:
        raise ValueError("tokens must be non-negative")
    try:
        width = BYTES_PER_DTYPE[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {sorted(BYTES_PER_DTYPE)}") from None
    kv_width = d_model
    if n_heads and n_kv_heads:
        kv_width = n_kv_heads * (d_model // n_heads)
    return 2 * n_layers * tokens * kv_width * width


class ComputeRecord(BaseModel):
    """Compute footprint of one query (or a sum over queries). Every key is always present."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int | None = None
    generated_tokens: int | None = None
    attention_flops: int | None = None
    kv_cache_bytes: int | None = None
    n_layers: int | None = None
    d_model: int | None = None
    n_heads: int | None = None
    n_kv_heads: int | None = None
    dtype: str | None = None

    @classmethod
    def from_model_config(
        cls, config: Any, prompt_tokens: int, generated_tokens: int, dtype: str = "fp16"
    ) -> ComputeRecord:
        """Estimate from an HF config (layers, hidden size, heads, KV heads)."""
        layers = int(config.num_hidden_layers)
        d_model = int(config.hidden_size)
        heads = int(config.num_attention_heads)
        kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
        return cls(
            prompt_tokens=prompt_tokens,
            generated_tokens=generated_tokens,
            attention_flops=estimate_attention_flops(
                prompt_tokens, generated_tokens, layers, d_model, heads
            ),
            kv_cache_bytes=estimate_kv_bytes(
                prompt_tokens + generated_tokens, d_model, dtype, layers, heads, kv_heads
            ),
            n_layers=layers,
            d_model=d_model,
            n_heads=heads,
            n_kv_heads=kv_heads,
            dtype=dtype,
        )


def dtype_label(torch_dtype: object) -> str:
    """``torch.float32`` -> ``fp32`` etc., for :class:`ComputeRecord`."""
    name = str(torch_dtype).replace("torch.", "")
    return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(name, name)


def sum_records(records: list[ComputeRecord]) -> dict[str, float | None]:
    """Means of the additive fields over ``records`` (None when there are none)."""
    keys = ("prompt_tokens", "generated_tokens", "attention_flops", "kv_cache_bytes")
    out: dict[str, float | None] = {}
    for key in keys:
        vals = [getattr(r, key) for r in records if getattr(r, key) is not None]
        out[f"mean_{key}"] = sum(vals) / len(vals) if vals else None
    return out
