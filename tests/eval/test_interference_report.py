"""Statistics of the waves experiment: paired differences and the seed minimum."""

from __future__ import annotations

import pytest

from hei_nw.eval.interference_report import MIN_SEEDS, paired, summarise


def _run(variant: str, seed: int, final: float, oldest: float = 0.0) -> dict:
    matrix = [[final, None], [oldest, final]]
    return {
        "variant": variant,
        "seed": seed,
        "final_mean": final,
        "oldest_final": oldest,
        "matrix": matrix,
    }


def test_paired_difference_is_per_seed_and_ignores_unpaired_seeds() -> None:
    runs = [_run("ca2", 1, 0.6), _run("shuffled", 1, 0.5), _run("ca2", 2, 0.4)]
    diff = paired(runs, "shuffled", "ca2", "final_mean")
    assert diff is not None
    assert diff["seeds"] == [1] and diff["per_seed"] == pytest.approx([0.1])
    assert diff["n"] == 1 and not diff["significant"]
    assert paired(runs, "none", "ca2", "final_mean") is None


def test_a_consistent_gain_is_significant_only_with_enough_seeds() -> None:
    gains = [0.10, 0.12, 0.08, 0.11, 0.09]
    runs = [_run("shuffled", s, 0.5) for s in range(1, 6)]
    runs += [_run("ca2", s, 0.5 + g) for s, g in zip(range(1, 6), gains, strict=True)]
    five = paired(runs, "shuffled", "ca2", "final_mean")
    assert five is not None and five["enough_seeds"] and five["excludes_zero"]
    assert five["significant"] and five["ci_low"] > 0
    two = paired([r for r in runs if r["seed"] <= 2], "shuffled", "ca2", "final_mean")
    # Two seeds that both favour CA2 give a CI above zero, but too few seeds to claim.
    assert two is not None and two["excludes_zero"] and not two["significant"]
    assert two["min_seeds"] == MIN_SEEDS and not two["enough_seeds"]


def test_a_mixed_gain_over_five_seeds_is_not_significant() -> None:
    gains = [0.10, -0.10, 0.05, -0.05, 0.0]
    runs = [_run("shuffled", s, 0.5) for s in range(1, 6)]
    runs += [_run("ca2", s, 0.5 + g) for s, g in zip(range(1, 6), gains, strict=True)]
    diff = paired(runs, "shuffled", "ca2", "final_mean")
    assert diff is not None and diff["enough_seeds"]
    assert diff["ci_low"] < 0 < diff["ci_high"] and not diff["significant"]


def test_summarise_pairs_policies_oldest_waves_and_ablations() -> None:
    runs = [
        _run("ca2", 1, 0.6, oldest=0.5),
        _run("shuffled", 1, 0.55, oldest=0.4),
        _run("none", 1, 0.2, oldest=0.0),
        _run("ca2:minus_need", 1, 0.4, oldest=0.3),
    ]
    summary = summarise(runs, {"scenario": "A"})
    assert summary["ca2_minus_shuffled"]["per_seed"] == pytest.approx([0.05])
    assert summary["ca2_minus_none_oldest"]["per_seed"] == pytest.approx([0.5])
    # An ablation row is CA2 (all terms) minus CA2 without that term.
    assert summary["ablation"]["minus_need"]["per_seed"] == pytest.approx([0.2])
    ca2 = summary["variants"]["ca2"]
    assert ca2["mean"][1] == pytest.approx([0.5, 0.6]) and ca2["seeds"] == 1
    assert summary["drift"]["runs"] == 0 and summary["drift"]["passed_all"] is None


def test_memory_by_wave_averages_seeds_once_each_and_skips_old_runs() -> None:
    def stats(written: int, em: float) -> dict:
        return {"traces_written": written, "teacher_em": em}

    runs = [
        {**_run("ca2", 1, 0.6), "memory": [stats(4, 0.1), stats(2, 0.0)]},
        {**_run("shuffled", 1, 0.5), "memory": [stats(4, 0.1), stats(2, 0.0)]},
        {**_run("ca2", 2, 0.6), "memory": [stats(40, 0.5), stats(38, 0.7)]},
        _run("ca2", 3, 0.6),  # made before the statistics existed
    ]
    summary = summarise(runs, {"scenario": "D"})["memory"]
    assert summary["seeds"] == [1, 2]
    assert summary["by_wave"] == [
        {"traces_written": 22.0, "teacher_em": pytest.approx(0.3)},
        {"traces_written": 20.0, "teacher_em": pytest.approx(0.35)},
    ]
    assert summarise([_run("ca2", 1, 0.6)], {})["memory"] is None


def test_the_default_against_shuffled_is_split_into_dev_and_test_seeds() -> None:
    runs = [_run("shuffled", s, 0.5) for s in (1, 2, 6, 7)]
    runs += [_run("ca2:minus_overlap", 1, 0.7), _run("ca2:minus_overlap", 2, 0.6)]
    runs += [_run("ca2:minus_overlap", 6, 0.45), _run("ca2:minus_overlap", 7, 0.55)]
    runs += [_run("ca2", s, 0.9) for s in (1, 2, 6, 7)]  # not the default: ignored
    out = summarise(runs, {"scenario": "A"}, "ca2:minus_overlap", (1, 2))["default_minus_shuffled"]
    assert out["variant"] == "ca2:minus_overlap" and out["dev_seeds"] == [1, 2]
    assert out["dev"]["seeds"] == [1, 2] and out["dev"]["per_seed"] == pytest.approx([0.2, 0.1])
    assert out["test"]["seeds"] == [6, 7]
    assert out["test"]["per_seed"] == pytest.approx([-0.05, 0.05])
    only_dev = summarise(runs[:2] + runs[4:6], {}, "ca2:minus_overlap", (1, 2, 6, 7))
    assert only_dev["default_minus_shuffled"]["test"] is None
    assert summarise(runs, {})["default_minus_shuffled"] is None
