"""scripts/relevance_dev.py: firing rates of the three relevance tests on the dev split."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from hei_nw.datasets.edits import TEST_POOL

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "relevance_dev", ROOT / "scripts/relevance_dev.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _name(i: int) -> str:
    letters = "".join("bcdfghjklm"[int(d)] for d in f"{i:04d}")
    return f"Zor{letters} Kettunen"


def test_relevance_dev_reads_only_the_dev_records(tiny_model_dir, tmp_path):
    records = [
        {
            "case_id": i,
            "prompt": f"{_name(i)} plays the",
            "target_new": "tuba",
            "subject": _name(i),
            "ground_truth": "violin",
            "rephrase_prompt": f"The instrument {_name(i)} is known for is the",
            # names someone who was never edited, with the same relation
            "locality_prompt": f"{_name(i + 5000)} plays the",
            "locality_ground_truth": "piano",
        }
        for i in range(TEST_POOL + 3)
    ]
    data = tmp_path / "cf.json"
    data.write_text(json.dumps(records))
    out = tmp_path / "rel.json"
    argv = ["--data", str(data), "--edits", "3", "--model", str(tiny_model_dir), "--out", str(out)]
    assert _script().main(argv) == 0
    report = json.loads(out.read_text())
    assert report["n"] == 3 and report["split"].startswith(f"dev: records {TEST_POOL}..")
    names = report["relevance"]["names"]
    assert names["rephrase"] == {"fired": 1.0, "own_first": 1.0}
    assert names["locality"]["fired"] == 0.0  # another name: never recalled
    assert report["relevance"]["subject"]["locality"]["fired"] == 0.0
    assert report["relevance"]["subject"]["relevance_floor"] is None


def test_relevance_dev_names_a_short_file(tmp_path, capsys):
    data = tmp_path / "cf.json"
    data.write_text("[]")
    with pytest.raises(SystemExit) as exc:
        _script().main(["--data", str(data), "--edits", "3", "--out", str(tmp_path / "r.json")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--data" in err[0]
    assert not (tmp_path / "r.json").exists()
