"""scripts/plot_replay_retention.py: which variants the retention figure draws."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    path = ROOT / "scripts/plot_replay_retention.py"
    spec = importlib.util.spec_from_file_location("plot_replay_retention", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _variant(final: float) -> dict[str, object]:
    return {"mean": [[final, None], [final, final]], "sd": [[0.0, None], [0.0, 0.0]], "seeds": 1}


def test_figure_draws_policies_then_ablations_but_not_ca2_all_twice(tmp_path: Path) -> None:
    names = ["ca2:minus_need", "shuffled", "ca2", "ca2:all", "ca2:minus_recency"]
    summary = {
        "config": {"scenario": "D"},
        "variants": {n: _variant(0.1 * (i + 1)) for i, n in enumerate(names)},
        "ca2_minus_shuffled": None,
    }
    script = _script()
    assert script.drawn(summary) == ["ca2", "shuffled", "ca2:minus_need", "ca2:minus_recency"]
    (tmp_path / "r.json").write_text(json.dumps(summary))
    out = tmp_path / "r.png"
    assert script.main(["--summary", str(tmp_path / "r.json"), "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_a_file_that_is_not_a_summary_ends_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(SystemExit) as e:
        _script().main(["--summary", str(tmp_path / "bad.json"), "--out", str(tmp_path / "x.png")])
    assert e.value.code != 0
    assert not (tmp_path / "x.png").exists()


def test_title_reads_a_zero_bound_as_zero_and_names_a_single_seed() -> None:
    script = _script()
    # D's stored CA2 - shuffled: the upper bound is 0 but for float rounding.
    d = {"n": 5, "diff": -0.042, "ci_low": -0.078, "ci_high": -5.551115123125783e-18}
    assert script.describe({**d, "enough_seeds": True}) == "-0.042 [-0.078, +0.000] over 5 seeds"
    assert script.describe({**d, "n": 3, "enough_seeds": False}).endswith(
        "(too few seeds for a claim: smoke)"
    )
    assert script.describe({"n": 1, "diff": 0.05}) == "+0.050 (1 seed: smoke, no CI)"
    assert [script.seeds_label(n) for n in (1, 2, 5)] == ["1 seed", "2 seeds", "5 seeds"]


def test_the_default_variant_gets_its_spread_and_its_test_line_in_the_title(
    tmp_path: Path,
) -> None:
    names = ["shuffled", "ca2:minus_overlap", "ca2:minus_need"]
    diff = {"n": 5, "diff": 0.076, "ci_low": 0.032, "ci_high": 0.112, "enough_seeds": True}
    summary = {
        "config": {"scenario": "A"},
        "variants": {n: _variant(0.5) for n in names},
        "ca2_minus_shuffled": None,
        "default_minus_shuffled": {"variant": "ca2:minus_overlap", "dev": None, "test": diff},
    }
    script = _script()
    assert script.banded(summary) == {"shuffled", "ca2:minus_overlap"}
    assert script.title(summary).splitlines() == [
        "scenario A",
        "default (ca2:minus_overlap) - shuffled, test seeds: +0.076 [+0.032, +0.112] over 5 seeds",
    ]
    # a summary from before the default was recorded: only the policies get a band
    del summary["default_minus_shuffled"]
    assert script.banded(summary) == {"shuffled"}
    assert script.title(summary) == "scenario A"
    (tmp_path / "r.json").write_text(json.dumps(summary))
    assert (
        script.main(["--summary", str(tmp_path / "r.json"), "--out", str(tmp_path / "r.png")]) == 0
    )
