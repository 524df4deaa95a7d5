"""Shared fixtures: the bundled tokenizer and a tiny Llama built from a config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from hei_nw.models.base import GenerationPipeline
from hei_nw.models.sources import MODEL_ALIASES, BundledModel, cached_bundled


@pytest.fixture(scope="session")
def bundled_dir() -> Path:
    """Safetensors copy of the bundled SmolLM2 (converted once per machine)."""
    spec = MODEL_ALIASES["smollm2-135m"]
    assert isinstance(spec, BundledModel)
    return cached_bundled("smollm2-135m", spec)


@pytest.fixture(scope="session")
def tokenizer(bundled_dir: Path) -> Any:
    return AutoTokenizer.from_pretrained(bundled_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any) -> Path:
    """A 2-layer random Llama with the real tokenizer, saved as a local model folder."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=384,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture()
def tiny_pipe(tiny_model_dir: Path, tokenizer: Any) -> GenerationPipeline:
    model = LlamaForCausalLM.from_pretrained(tiny_model_dir).eval()
    return GenerationPipeline(AutoTokenizer.from_pretrained(tiny_model_dir), model, "tiny")


def tiny_memory(
    pipe: GenerationPipeline,
    overrides: dict[str, Any] | None = None,
    path: Path | None = None,
    **kwargs: Any,
) -> Any:
    """An ``EpisodicMemory`` over ``pipe`` (the semantic block off unless asked, to keep
    unit tests fast)."""
    from hei_nw.memory import EpisodicMemory, MemoryConfig

    settings = {"keyer.semantic": False, **(overrides or {})}
    return EpisodicMemory(pipe, path, MemoryConfig().with_overrides(settings), **kwargs)
