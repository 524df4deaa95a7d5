import pytest
from transformers import LlamaConfig

from hei_nw.metrics.compute import ComputeRecord, estimate_attention_flops, estimate_kv_bytes

KEYS = {
    "prompt_tokens",
    "generated_tokens",
    "attention_flops",
    "kv_cache_bytes",
    "n_layers",
    "d_model",
    "n_heads",
    "n_kv_heads",
    "dtype",
}


def test_schema_keys_present() -> None:
    assert set(ComputeRecord().model_dump()) == KEYS
    assert all(v is None for v in ComputeRecord().model_dump().values())
    cfg = LlamaConfig(
        num_hidden_layers=30, hidden_size=576, num_attention_heads=9, num_key_value_heads=3
    )
    rec = ComputeRecord.from_model_config(cfg, prompt_tokens=100, generated_tokens=10, dtype="fp32")
    assert set(rec.model_dump()) == KEYS
    # 2 (K,V) * 30 layers * 110 tokens * (3 kv heads * 64 head dim) * 4 bytes
    assert rec.kv_cache_bytes == 2 * 30 * 110 * 192 * 4


def test_monotonicity_tokens() -> None:
    flops = [estimate_attention_flops(p, 16, 24, 1024, 16) for p in (10, 100, 1000)]
    assert flops[0] < flops[1] < flops[2]
    assert estimate_attention_flops(100, 10, 24, 1024, 16) < estimate_attention_flops(
        100, 50, 24, 1024, 16
    )
    kv = [estimate_kv_bytes(t, 1024) for t in (1, 10, 100)]
    assert kv[0] < kv[1] < kv[2]
    assert estimate_kv_bytes(150, 1024) == 2 * 150 * 1024 * 2


def test_flops_formula_by_hand() -> None:
    # one layer, d=2, prompt 3, gen 2: prefill 4*9*2=72; decode 4*2*(2*3 + 3)=72
    assert estimate_attention_flops(3, 2, 1, 2) == 144


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        estimate_attention_flops(10, 1, 2, 10, heads=3)
    with pytest.raises(ValueError):
        estimate_kv_bytes(10, 16, dtype="fp7")
