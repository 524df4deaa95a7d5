"""scripts/keyer_sweep.py: retrieval-only P@1 per key geometry."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from hei_nw.memory.config import KeyerConfig

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("keyer_sweep", ROOT / "scripts/keyer_sweep.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keyer_sweep_scores_each_geometry(tiny_model_dir, tmp_path):
    out = tmp_path / "sweep.json"
    k_default = KeyerConfig().k_sem
    argv = ["--scenarios", "A", "--n", "6", "--seed", "3", "--k-sem", "8", str(k_default)]
    assert _script().main([*argv, "--model", str(tiny_model_dir), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["command"].startswith("python scripts/keyer_sweep.py --scenarios A")
    same_as_default = f"k_sem={k_default},d_sem=512,sem_weight=0.4"
    assert set(report["geometries"]) == {
        "default",
        "k_sem=8,d_sem=512,sem_weight=0.4",
        same_as_default,
    }
    result = report["results"]["A"]
    assert result["cues"] > 0 and result["stored"] >= result["cues"]
    scores = result["p_at_1"]
    assert all(0.0 <= v <= 1.0 for v in scores.values()) and "minilm" in scores
    # The default geometry is one of the swept ones: same keys, same score.
    assert scores["default"] == scores[same_as_default]


def test_keyer_sweep_rejects_impossible_geometry(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _script().main(["--k-sem", "64", "--out", str(tmp_path / "x.json")])
    assert "--k-sem" in str(exc.value.code) and "below" in str(exc.value.code)
    assert not (tmp_path / "x.json").exists()


def test_keyer_sweep_refuses_unwritable_out_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        _script().main(["--out", str(blocker / "sweep.json")])
    assert "--out" in str(exc.value.code)
