import json
from pathlib import Path

import pytest

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
