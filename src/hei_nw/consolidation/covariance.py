"""General-text statistics for the ``memit`` method: the second moment ``C = E[k k^T]``
of ``down_proj`` inputs, cached per model weights, and text the model writes itself."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch

from hei_nw.models.base import GenerationPipeline
from hei_nw.models.sources import cache_root
from hei_nw.utils.io import read_json, write_json

SAMPLE_STARTS = (
    "The", "In", "A", "It", "This", "When", "He", "She", "They", "We", "One", "After",
    "There", "Many", "Most", "For", "On", "I", "Our", "His",
)  # fmt: skip


def decoder_layers(model: Any) -> list[Any]:
    """The decoder layers (each with ``.mlp.down_proj``) of a Llama-style model, peft or not."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return list(base.model.layers)


def weights_fingerprint(pipe: GenerationPipeline, last_layer: int) -> str:
    """Model id plus a hash of every weight a ``down_proj`` input of layers up to
    ``last_layer`` depends on (embeddings and those layers): a cache key that another
    model with the same name, or an already edited one, does not hit."""
    digest = hashlib.sha256(pipe.model_id.encode())
    model: Any = pipe.model
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    tensors = [base.get_input_embeddings().weight]
    for layer in decoder_layers(model)[: last_layer + 1]:
        tensors += list(layer.parameters())
    for t in tensors:
        digest.update(t.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def layer_covariance(
    pipe: GenerationPipeline, layers: Sequence[int], texts: Sequence[str], batch_size: int = 16
) -> tuple[dict[int, torch.Tensor], int]:
    """(``{layer: C [d_in, d_in]}``, tokens seen): ``C = E[k k^T]`` of ``down_proj``
    inputs over the (unpadded) tokens of ``texts``, cached on disk per (weights, dtype,
    layers, texts)."""
    layers = list(layers)
    key = [weights_fingerprint(pipe, max(layers)), str(pipe.model.dtype), layers, list(texts)]
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    path = cache_root() / "memit-cov" / f"{digest}.pt"
    if path.is_file():
        data = torch.load(path)
        return {int(k): v for k, v in data["cov"].items()}, int(data["tokens"])
    sums = {layer: torch.zeros(0) for layer in layers}
    count = {"n": 0}
    mask_now: dict[str, torch.Tensor] = {}

    def hook(layer: int) -> Any:
        def fn(_m: Any, inputs: tuple[torch.Tensor, ...]) -> None:
            m = mask_now["m"].reshape(-1).bool().to(inputs[0].device)
            x = inputs[0].reshape(-1, inputs[0].shape[-1])[m].float()  # [tokens, d_in]
            acc = x.T @ x
            sums[layer] = acc if sums[layer].numel() == 0 else sums[layer] + acc
            if layer == layers[0]:
                count["n"] += x.shape[0]

        return fn

    blocks = decoder_layers(pipe.model)
    handles = [blocks[i].mlp.down_proj.register_forward_pre_hook(hook(i)) for i in layers]
    try:
        for s in range(0, len(texts), batch_size):
            enc = pipe.tokenizer(
                list(texts[s : s + batch_size]),
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=256,
            )
            mask_now["m"] = enc["attention_mask"]
            pipe.model(
                input_ids=enc["input_ids"].to(pipe.device),
                attention_mask=enc["attention_mask"].to(pipe.device),
                logits_to_keep=1,
            )
    finally:
        for h in handles:
            h.remove()
    n = max(1, count["n"])
    cov = {layer: (sums[layer] / n).cpu() for layer in layers}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"tokens": n, "cov": cov}, path)
    return cov, n


def sampled_text(
    pipe: GenerationPipeline, n: int, max_new_tokens: int = 64, seed: int = 0
) -> list[str]:
    """``n`` texts the model writes itself from short neutral starts (temperature 1,
    top-p 0.95): general text for the covariance, read from nothing but the model.
    Cached on disk per (weights, dtype, n, length, seed)."""
    last = len(decoder_layers(pipe.model)) - 1
    key = [
        weights_fingerprint(pipe, last),
        str(pipe.model.dtype),
        n,
        max_new_tokens,
        seed,
        SAMPLE_STARTS,
    ]
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    path = cache_root() / "memit-text" / f"{digest}.json"
    if path.is_file():
        cached: list[str] = read_json(path)
        return cached
    starts = [SAMPLE_STARTS[i % len(SAMPLE_STARTS)] for i in range(n)]
    torch.manual_seed(seed)
    decoded = pipe.run(
        starts,
        max_new_tokens=max_new_tokens,
        batch_size=64,
        do_sample=True,
        temperature=1.0,
        top_p=0.95,
        prefix=False,  # one-word starts: batch them together, no prefix groups
        progress=True,
    )
    texts = [
        f"{s} {pipe.output(d, None)['text'].strip()}" for s, d in zip(starts, decoded, strict=True)
    ]
    write_json(path, texts)
    return texts


__all__ = [
    "SAMPLE_STARTS",
    "decoder_layers",
    "layer_covariance",
    "sampled_text",
    "weights_fingerprint",
]
