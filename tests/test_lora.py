import json
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from hei_nw.models import lora_weights
from hei_nw.models.base import GenerationPipeline
from hei_nw.training.lora import ConsolidationWorker, LoRAConfig, collate
from hei_nw.training.rows import IGNORE_INDEX, TrainRow, cue_answer_row


def _worker(tiny_pipe: GenerationPipeline, out: Path, **cfg) -> ConsolidationWorker:
    config = LoRAConfig(r=4, alpha=8, lr=5e-2, steps=6, batch_size=4, **cfg)
    return ConsolidationWorker("tiny", out, "cpu", config, "float32", tiny_pipe)


def _rows() -> list[TrainRow]:
    return [
        cue_answer_row("Who left the kite at the pier?", "Ana"),
        TrainRow("semantic", "", "Rivers flow."),
    ]


def test_lora_config_validates():
    assert LoRAConfig().split(16) == (8, 5, 3)
    assert sum(LoRAConfig().split(10)) == 10
    with pytest.raises(ValueError, match="mix"):
        LoRAConfig(mix=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="top_layers"):
        LoRAConfig(top_layers=0)


def test_collate_pads_right_and_masks():
    batch = collate(
        [
            {"input_ids": [1, 2, 3], "labels": [-100, 2, 3], "kind": "x"},
            {"input_ids": [4], "labels": [4], "kind": "x"},
        ],
        pad_id=0,
    )
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE_INDEX, 2, 3], [4, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_attach_and_save_adapter_smoke(tiny_pipe: GenerationPipeline, tmp_path: Path):
    base_params = {n: p.detach().clone() for n, p in tiny_pipe.model.named_parameters()}
    worker = _worker(tiny_pipe, tmp_path / "lora")
    worker.attach_lora()
    stats = worker.train_on(iter([_rows()] * 10), steps=6)
    assert stats.steps == 6 and stats.tokens > 0 and stats.tokens_per_s > 0
    assert stats.losses[-1] < stats.losses[0]  # it learns the two rows
    # The base weights are frozen: only LoRA parameters changed.
    for name, p in worker.unwrapped().named_parameters():
        if "lora_" not in name:
            key = name.replace("base_model.model.", "").replace(".base_layer", "")
            torch.testing.assert_close(p, base_params[key])
    adapter = worker.save_adapter({"note": "test"})
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    args = json.loads((tmp_path / "lora" / "training_args.json").read_text())
    assert args["lora"]["r"] == 4 and args["note"] == "test" and len(args["cycles"]) == 1
    reloaded = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(_model_dir(tiny_pipe)), str(adapter)
    )
    assert any("lora_" in n for n, _ in reloaded.named_parameters())


def test_merge_matches_attached_adapter(
    tiny_pipe: GenerationPipeline, tiny_model_dir: Path, tmp_path: Path
):
    worker = ConsolidationWorker(
        str(tiny_model_dir),
        tmp_path / "lora",
        "cpu",
        LoRAConfig(r=4, alpha=8, lr=5e-2),
        "float32",
        tiny_pipe,
    )
    worker.attach_lora()
    worker.train_on(iter([_rows()] * 4), steps=4)
    worker.save_adapter()
    merged_dir = worker.merge_and_save_base()
    assert (merged_dir / "config.json").is_file()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    attached = lora_weights.attach(_fresh(tiny_model_dir), tmp_path / "lora")
    merged = lora_weights.merged(_fresh(tiny_model_dir), tmp_path / "lora", "float32", "cpu")
    with torch.no_grad():
        a = attached.model(input_ids=ids).logits
        m = merged.model(input_ids=ids).logits
        b = _fresh(tiny_model_dir).model(input_ids=ids).logits
    torch.testing.assert_close(a, m, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(a, b, atol=1e-4)  # the adapter changed the model
    # Without merged/, B3 merges in memory to the same weights.
    lora_weights.adapter_dirs(tmp_path / "lora")
    in_memory = lora_weights.merged(_fresh(tiny_model_dir), tmp_path / "lora" / "adapter")
    with torch.no_grad():
        torch.testing.assert_close(in_memory.model(input_ids=ids).logits, m, atol=1e-4, rtol=1e-4)


def test_merge_noop_on_dummy_model(
    tiny_pipe: GenerationPipeline, tiny_model_dir: Path, tmp_path: Path
):
    # A freshly attached adapter has B = 0, so merging it changes nothing.
    worker = ConsolidationWorker(
        str(tiny_model_dir),
        tmp_path / "lora",
        "cpu",
        LoRAConfig(r=4, alpha=8),
        "float32",
        tiny_pipe,
    )
    worker.attach_lora()
    worker.save_adapter()
    merged = lora_weights.merged(_fresh(tiny_model_dir), tmp_path / "lora" / "adapter")
    ids = torch.tensor([[5, 6, 7]])
    with torch.no_grad():
        torch.testing.assert_close(
            merged.model(input_ids=ids).logits, _fresh(tiny_model_dir).model(input_ids=ids).logits
        )


def test_top_layers_limits_lora(tiny_pipe: GenerationPipeline, tmp_path: Path):
    worker = _worker(tiny_pipe, tmp_path, top_layers=0.5)
    model = worker.attach_lora()
    layers = {
        n.split(".layers.")[1].split(".")[0] for n, _ in model.named_parameters() if "lora_" in n
    }
    assert layers == {"1"}  # two layers: only the top one


def test_adapter_dirs_errors(tmp_path: Path):
    from hei_nw.models.sources import ModelLoadError

    with pytest.raises(ModelLoadError, match="no LoRA adapter"):
        lora_weights.adapter_dirs(tmp_path)


def _fresh(folder: Path) -> GenerationPipeline:
    from transformers import AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    return GenerationPipeline(AutoTokenizer.from_pretrained(folder), model, "tiny")


def _model_dir(pipe: GenerationPipeline) -> str:
    return str(pipe.model.config._name_or_path)


def test_semantic_rows_are_distilled_to_the_base(tiny_pipe: GenerationPipeline, tmp_path: Path):
    # A fresh adapter equals the base, so the KL term on semantic rows is zero; an
    # episodic row keeps its next-token loss.
    worker = _worker(tiny_pipe, tmp_path)
    worker.attach_lora()
    enc = worker.encode([TrainRow("semantic", "", "Rivers flow to the sea."), _rows()[0]])
    batch = collate(enc, pad_id=0)
    semantic_only = torch.tensor([True, False])
    with torch.no_grad():
        only_sem = worker._loss({k: v[:1] for k, v in batch.items()}, semantic_only[:1])
        mixed = worker._loss(batch, semantic_only)
        plain = worker.model(**{k: v[1:] for k, v in batch.items()}).loss
    torch.testing.assert_close(only_sem, torch.tensor(0.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(mixed, plain, atol=1e-4, rtol=1e-4)
