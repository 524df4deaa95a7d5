"""Saved adapters: their weight updates, and a random control of the same size."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaForCausalLM

from hei_nw.models.lora_weights import adapter_deltas, add_random_like
from hei_nw.models.sources import ModelLoadError


@pytest.fixture()
def saved_adapter(tiny_model_dir: Path, tmp_path: Path) -> tuple[Path, Any, Any]:
    """(adapter folder, base model, merged model) of a tiny model with a non-zero LoRA."""
    base = LlamaForCausalLM.from_pretrained(tiny_model_dir).eval()
    cfg = LoraConfig(
        r=4, lora_alpha=8, target_modules=["up_proj", "down_proj"], init_lora_weights=False
    )
    torch.manual_seed(3)
    peft_model = get_peft_model(copy.deepcopy(base), cfg)
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    return tmp_path / "adapter", base, peft_model.merge_and_unload()


def test_adapter_deltas_are_what_merging_adds(saved_adapter: tuple[Path, Any, Any]) -> None:
    folder, base, merged = saved_adapter
    deltas = adapter_deltas(folder)
    assert len(deltas) == 4  # up_proj and down_proj of both layers
    before, after = dict(base.named_parameters()), dict(merged.named_parameters())
    for name, delta in deltas.items():
        torch.testing.assert_close(delta, after[name] - before[name], atol=1e-5, rtol=1e-4)


def test_random_update_has_the_adapters_norm_and_rank_but_not_its_direction(
    saved_adapter: tuple[Path, Any, Any],
) -> None:
    folder, base, _ = saved_adapter
    deltas = adapter_deltas(folder)
    model = copy.deepcopy(base)
    rel = add_random_like(model, deltas, rank=4, seed=1)
    before, after = dict(base.named_parameters()), dict(model.named_parameters())
    for name, param in after.items():
        change = (param - before[name]).detach()
        if name not in deltas:
            assert torch.equal(change, torch.zeros_like(change)), name
            continue
        torch.testing.assert_close(change.norm(), deltas[name].norm(), rtol=1e-4, atol=1e-6)
        assert torch.linalg.matrix_rank(change).item() <= 4
        cosine = (change * deltas[name]).sum() / (change.norm() * deltas[name].norm())
        assert abs(cosine.item()) < 0.5
        assert rel[name] == pytest.approx((deltas[name].norm() / before[name].norm()).item())
    again = copy.deepcopy(base)
    add_random_like(again, deltas, rank=4, seed=1)
    for (_, p), (_, q) in zip(model.named_parameters(), again.named_parameters(), strict=True):
        assert torch.equal(p, q)


def test_random_update_refuses_an_adapter_for_another_model(
    saved_adapter: tuple[Path, Any, Any], tmp_path: Path
) -> None:
    _, base, _ = saved_adapter
    deltas = {"model.layers.9.mlp.up_proj.weight": torch.zeros(64, 32)}
    with pytest.raises(ValueError, match=r"layers\.9"):
        add_random_like(copy.deepcopy(base), deltas, rank=4)
    with pytest.raises(ModelLoadError, match="no LoRA adapter"):
        adapter_deltas(tmp_path / "nowhere")
