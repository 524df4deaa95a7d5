import numpy as np
import pytest
from pydantic import ValidationError

from hei_nw.datasets.scenario_a import generate
from hei_nw.memory import MemoryConfig
from hei_nw.memory.config import GateConfig
from hei_nw.memory.gate import WriteGate, detect_pin, gate_telemetry, pr_auc
from hei_nw.models.base import GenerationPipeline
from tests.conftest import tiny_memory


def test_score_formula_and_decision() -> None:
    gate = WriteGate(GateConfig(alpha=1.0, beta=1.0, gamma=0.5, delta=0.8, tau=1.0))
    assert gate.score(0.4, 0.5, reward=1.0, pin=True) == pytest.approx(0.4 + 0.5 + 0.5 + 0.8)
    assert gate.decide(0.4, 0.5).write is False
    assert gate.decide(0.4, 0.5, pin=True).write is True


def test_pr_auc_known_cases() -> None:
    assert pr_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert pr_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == pytest.approx(
        (1 / 3 + 2 / 4) / 2
    )
    assert pr_auc([0.5, 0.5], [True, True]) is None
    tele = gate_telemetry([1.0, 0.2, 0.9], [True, False, True], [True, False, False], tokens=500)
    assert (
        tele["writes_per_1k_tokens"] == 4.0 and tele["precision"] == 0.5 and tele["recall"] == 1.0
    )


def _texts(records):
    return [r["episode_text"] for r in records]


def test_tau_sweep_moves_write_rate_monotonically(tiny_pipe: GenerationPipeline) -> None:
    records = generate(n=12, seed=2)
    rates = []
    for tau in (0.0, 0.6, 0.8, 1.0, 1.2, 5.0):
        mem = tiny_memory(tiny_pipe, {"gate.tau": tau})
        decisions = mem.observe_many(_texts(records))
        rates.append(np.mean([d.written for d in decisions]))
        assert len(mem.writer.records) == len(mem) == sum(d.written for d in decisions)
    assert rates == sorted(rates, reverse=True)
    assert rates[0] == 1.0 and rates[-1] == 0.0
    assert len(set(rates)) >= 3  # the threshold actually moves writes


def test_gate_never_reads_labels(tiny_pipe: GenerationPipeline) -> None:
    records = generate(n=8, seed=5)
    flipped = [{**r, "should_remember": not r["should_remember"], "slots": {}} for r in records]
    runs = []
    for recs in (records, flipped):
        mem = tiny_memory(tiny_pipe, {"gate.tau": 0.9})
        runs.append([(round(d.S, 6), d.written) for d in mem.observe_many(_texts(recs))])
    assert runs[0] == runs[1]


def test_repeat_has_zero_novelty_even_inside_one_batch(tiny_pipe: GenerationPipeline) -> None:
    records = [r for r in generate(n=10, seed=1) if r["kind"] == "target"][:3]
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    first = mem.observe_many(_texts(records) + _texts(records[:1]))  # the repeat in the same batch
    again = mem.observe_many(_texts(records[:1]))  # and in a later one
    assert first[0].novelty == pytest.approx(1.0, abs=1e-6)
    assert first[-1].novelty == pytest.approx(0.0, abs=1e-4)
    assert again[0].novelty == pytest.approx(0.0, abs=1e-4)


def test_pin_marker_in_the_text_pins_the_episode(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.tau": 100.0})
    plain, marked = mem.observe_many(
        ["The boiler code is 4417.", "Remember this: the boiler code is 4418."]
    )
    assert not plain.pin and marked.pin
    assert pytest.approx(plain.S + 0.8, abs=0.3) == marked.S  # delta = 0.8 added by the pin
    assert detect_pin("please DO NOT FORGET the key", ["do not forget"])
    assert not detect_pin("forget it", ["do not forget"])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_tau_is_refused(bad: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        MemoryConfig().with_overrides({"gate.tau": bad})
