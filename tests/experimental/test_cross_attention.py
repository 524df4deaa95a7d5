from pathlib import Path

import torch
from transformers import LlamaForCausalLM

from hei_nw.experimental.cross_attention import EpisodicAdapter, adapter_layer_index, attach_adapter


def test_zero_gate_and_no_memory_keep_logits(tiny_model_dir: Path) -> None:
    model = LlamaForCausalLM.from_pretrained(tiny_model_dir).eval()
    ids = torch.tensor([[1, 50, 60, 70, 80]])
    with torch.no_grad():
        base = model(ids).logits
    adapter = EpisodicAdapter(model.config.hidden_size, n_heads=4)
    handle = attach_adapter(model, adapter)
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, base, atol=1e-5, rtol=0)  # no memory
        adapter.set_memory(torch.randn(1, 6, model.config.hidden_size))
        torch.testing.assert_close(model(ids).logits, base, atol=1e-5, rtol=0)  # zero gate
        adapter.gate.fill_(1.0)
        assert (model(ids).logits - base).abs().max() > 1e-4  # a live gate reaches the logits
    handle.remove()
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, base, atol=1e-6, rtol=0)


def test_adapter_depth() -> None:
    assert adapter_layer_index(30) == 18
    assert adapter_layer_index(2) == 1
