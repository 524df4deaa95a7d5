"""scripts/drift_noise_floor.py: the guard's measure under updates that teach nothing."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "drift_noise_floor", ROOT / "scripts/drift_noise_floor.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _adapter(model_dir: Path, out: Path, zero: bool) -> Path:
    base = LlamaForCausalLM.from_pretrained(model_dir).eval()
    cfg = LoraConfig(
        r=4, lora_alpha=64, target_modules=["up_proj", "down_proj"], init_lora_weights=zero
    )
    torch.manual_seed(5)
    get_peft_model(copy.deepcopy(base), cfg).save_pretrained(str(out))
    return out


@pytest.mark.slow  # four passes over a 1000-prompt suite, even on the tiny model
@pytest.mark.parametrize("zero", [True, False])
def test_noise_floor_scores_every_condition_against_the_base(
    tiny_model_dir: Path, tmp_path: Path, zero: bool
) -> None:
    adapter = _adapter(tiny_model_dir, tmp_path / "adapter", zero)
    out = tmp_path / "floor.json"
    argv = ["--adapter.path", str(adapter), "--model", str(tiny_model_dir)]
    assert _script().main([*argv, "--random-seeds", "0", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    conditions = report["conditions"]
    assert set(conditions) == {"adapter", "random_like_adapter:0", "bfloat16"}
    assert report["suite_size"] >= 1000 and report["adapter"]["modules"] == 4
    changed = {k: v["drift_changed"] for k, v in conditions.items()}
    if zero:  # B = 0: neither the adapter nor a random update of its norm changes a weight
        assert changed["adapter"] == 0 and changed["random_like_adapter:0"] == 0
        assert report["adapter"]["relative_norm_max"] == 0.0
    else:
        assert changed["adapter"] > 0 and changed["random_like_adapter:0"] > 0
        assert report["adapter"]["relative_norm_mean"] > 0


def test_noise_floor_refuses_a_missing_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "floor.json"
    with pytest.raises(SystemExit) as exc:
        _script().main(["--adapter.path", str(tmp_path / "none"), "--out", str(out)])
    assert exc.value.code != 0 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--adapter.path" in err[0] and "no LoRA adapter" in err[0]
