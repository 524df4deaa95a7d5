import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hei_nw.eval.harness import main
from hei_nw.eval.modes import MODES
from hei_nw.recall import RecallService
from hei_nw.training.lora import ConsolidationWorker, LoRAConfig
from hei_nw.training.rows import cue_answer_row


def test_modes_registered():
    assert list(MODES) == ["B0", "B1", "B2", "B3"]
    assert all(m.run is not None for m in MODES.values())
    assert MODES["B2"].needs_adapter and MODES["B3"].needs_adapter
    assert not MODES["B0"].needs_adapter and MODES["B0"].weights is None


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lora")
    worker = ConsolidationWorker(str(tiny_model_dir), out, "cpu", LoRAConfig(r=4, alpha=8, lr=1e-2))
    worker.attach_lora()
    worker.train_on(iter([[cue_answer_row("Who?", "Ana")]] * 3), steps=3)
    worker.save_adapter()
    worker.merge_and_save_base()
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
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hei_nw.features import LMFeatures
    from hei_nw.models import lora_weights
    from hei_nw.models.base import GenerationPipeline

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    base = GenerationPipeline(tok, AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), "t")
    other = GenerationPipeline(
        tok, AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), "t"
    )
    adapted = lora_weights.attach(other, adapter_dir)
    texts = ["Ana left a kite at the pier.", "Server moon runs redis on port 7000."]
    a, b = LMFeatures(base)(texts), LMFeatures(adapted)(texts)
    np.testing.assert_allclose(a.surprise, b.surprise, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.hidden, b.hidden, rtol=1e-4, atol=1e-5)
    # ...while the adapted model itself does differ from the base.
    ids = tok(texts[0], return_tensors="pt")["input_ids"]
    assert not torch.allclose(base.model(ids).logits, adapted.model(ids).logits, atol=1e-4)


def test_parity_guard_cli(tiny_model_dir, adapter_dir, tmp_path):
    from hei_nw.eval import parity

    out = tmp_path / "parity.json"
    argv = ["--adapter.path", str(adapter_dir), "--model", str(tiny_model_dir), "--out", str(out)]
    code = parity.main([*argv, "--tolerance", "100"])
    data = json.loads(out.read_text())
    assert code == 0 and data["passed"] is True
    assert {"em_before", "em_after", "delta_em_points", "perplexity_ratio", "n_core"} <= set(data)
    assert data["n_packaged"] == 100 and "--adapter.path" in data["command"]
    # With zero tolerance the verdict follows the measured change, and the exit code with it.
    code = parity.main([*argv, "--tolerance", "0"])
    assert code == (0 if json.loads(out.read_text())["delta_em_points"] == 0 else parity.EXIT_DRIFT)
