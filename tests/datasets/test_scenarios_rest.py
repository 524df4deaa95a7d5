import time

import pytest

from hei_nw.datasets import SCENARIOS, get_scenario, scenario_b, scenario_c, scenario_d, scenario_e


def test_each_generator_min_sizes() -> None:
    for module in (scenario_b, scenario_c, scenario_d, scenario_e):
        ds = module.generate(10, 0)
        assert sum(r["kind"] == "target" for r in ds) == 10
        assert len(ds) >= 10
    for name, spec in SCENARIOS.items():
        big = spec.generate(500, 1)
        assert sum(r["kind"] == "target" for r in big) == 500, name


def test_should_remember_present() -> None:
    for name, spec in SCENARIOS.items():
        ds = spec.generate(40, 2)
        assert all(isinstance(r["should_remember"], bool) for r in ds)
        kinds = {r["kind"]: r["should_remember"] for r in ds}
        assert kinds["target"] is True
        assert kinds["filler"] is False, f"{name} has no filler to reject"
        assert all(not r["should_remember"] for r in ds if r["kind"] in ("filler", "repeat"))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_train_and_eval_cues_are_disjoint(name: str) -> None:
    for r in get_scenario(name).generate(60, 4):
        if r["kind"] != "target":
            continue
        assert len(r["train_cues"]) >= 2 and len(r["eval_cues"]) >= 2
        assert not set(r["train_cues"]) & set(r["eval_cues"])
        assert r["query"] in r["eval_cues"]
        assert r["answers"][0].lower() in r["context"].lower()


def test_scenario_b_contradicts_real_facts() -> None:
    ds = scenario_b.generate(30, 0)
    real = [r for r in ds if r["kind"] == "target" and "prior" in r["slots"]]
    assert len(real) == 30  # real countries come first
    assert all(r["slots"]["prior"] != r["expected"] for r in real)


def test_scenario_c_account_ids_score_their_digits_too() -> None:
    from hei_nw.metrics.text import exact_match

    ds = scenario_c.generate(200, 0)
    accounts = [r for r in ds if r["kind"] == "target" and r["expected"].startswith("ID-")]
    assert accounts, "scenario C drew no account facts"
    for r in accounts:
        digits = r["expected"].removeprefix("ID-")
        assert r["answers"] == [r["expected"], digits]
        assert exact_match(digits, r["answers"]) == 1.0
        assert exact_match(str(int(digits) + 1), r["answers"]) == 0.0
        # The alias only scores: the episode the memory stores keeps the full ID.
        assert r["expected"] in r["episode_text"]
    others = [r for r in ds if r["kind"] == "target" and not r["expected"].startswith("ID-")]
    assert others and all(r["answers"] == [r["expected"]] for r in others)


def test_scenario_e_buries_fact_in_session() -> None:
    for r in scenario_e.generate(20, 0):
        if r["kind"] == "target":
            assert r["episode_text"] in r["context"] and len(r["context"]) > 3 * len(
                r["episode_text"]
            )


def test_ten_thousand_items_in_seconds() -> None:
    start = time.perf_counter()
    ds = SCENARIOS["A"].generate(4300, 0)
    assert len(ds) >= 10_000
    assert time.perf_counter() - start < 30


def test_bad_n_is_refused() -> None:
    for spec in SCENARIOS.values():
        with pytest.raises(ValueError, match="n must be positive"):
            spec.generate(0, 0)
    with pytest.raises(KeyError, match="unknown scenario"):
        get_scenario("Z")
