import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from hei_nw.cli.harness import main
from hei_nw.consolidation.rows import TrainRow
from hei_nw.consolidation.trainer import DistillTrainer
from hei_nw.eval.modes import MODES
from hei_nw.memory.config import ConsolidationConfig
from hei_nw.memory.recall import RecallService
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import build_prompt


def test_modes_registered():
    assert list(MODES) == ["B0", "B1", "B2", "B3"]
    assert MODES["B2"].needs_adapter and MODES["B3"].needs_adapter
    assert not MODES["B0"].needs_adapter and MODES["B0"].weights is None
    assert MODES["B1"].memory and MODES["B2"].memory and not MODES["B3"].memory


def _pipe(folder: Path) -> GenerationPipeline:
    tok = AutoTokenizer.from_pretrained(folder)
    return GenerationPipeline(tok, AutoModelForCausalLM.from_pretrained(folder).eval(), "tiny")


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lora")
    pipe = _pipe(tiny_model_dir)
    trainer = DistillTrainer(
        pipe, ConsolidationConfig(r=4, alpha=8, lr=5e-2, layers=(0, 2), anchor_ratio=0)
    )
    ids = tuple(pipe.tokenizer(" Ana\n", add_special_tokens=False)["input_ids"])
    row = TrainRow("distill", str(build_prompt("Who?", None)), ids)
    trainer.fit(iter(lambda: [row], None), steps=5)
    trainer.save_adapter(out / "adapter")
    return out


def _args(mode: str, model: Path, adapter: Path, out: Path) -> list[str]:
    return [
        "--mode", mode, "--scenario", "A", "--n", "3", "--seed", "5", "--model", str(model),
        "--outdir", str(out), "--max-new-tokens", "3", "--adapter.path", str(adapter),
    ]  # fmt: skip


def test_b3_disables_memory_path(tiny_model_dir, adapter_dir, tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("B3 must not call the recall path")

    monkeypatch.setattr(RecallService, "recall", forbidden)
    monkeypatch.setattr(RecallService, "__init__", forbidden)
    assert main(_args("B3", tiny_model_dir, adapter_dir, tmp_path)) == 0
    data = json.loads((tmp_path / "A_B3_metrics.json").read_text())
    assert data["main"]["name"] == "B3" and len(data["main"]["rows"]) == 3
    assert "merged" in data["run"]["model_id"]
    assert data["run"]["config"]["adapter_path"] == str(adapter_dir)


def test_b2_attaches_adapter_and_uses_memory(tiny_model_dir, adapter_dir, tmp_path):
    assert main(_args("B2", tiny_model_dir, adapter_dir, tmp_path)) == 0
    data = json.loads((tmp_path / "A_B2_metrics.json").read_text())
    assert "lora" in data["run"]["model_id"]
    assert "retrieval" in data["main"]["extra"] and "gate" in data["main"]["extra"]


def test_memory_features_ignore_the_adapter(tiny_model_dir, adapter_dir):
    # B2's gate and keys must match B1's: features are read with the adapter switched off.
    from hei_nw.memory.features import LMFeatures
    from hei_nw.models import lora_weights

    base = _pipe(tiny_model_dir)
    adapted = lora_weights.attach(_pipe(tiny_model_dir), adapter_dir)
    texts = ["Ana left a kite at the pier.", "Server moon runs redis on port 7000."]
    a, b = LMFeatures(base)(texts), LMFeatures(adapted)(texts)
    np.testing.assert_allclose(a.surprise, b.surprise, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.hidden, b.hidden, rtol=1e-4, atol=1e-5)
    # ...while the adapted model itself does differ from the base.
    ids = base.tokenizer(texts[0], return_tensors="pt")["input_ids"]
    assert not torch.allclose(base.model(ids).logits, adapted.model(ids).logits, atol=1e-4)
