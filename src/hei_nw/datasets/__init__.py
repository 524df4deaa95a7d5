"""Deterministic scenario generators A-E and a registry over them.

>>> from hei_nw.datasets import get_scenario
>>> records = get_scenario("A").generate(n=8, seed=7)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from hei_nw.datasets import scenario_a, scenario_b, scenario_c, scenario_d, scenario_e
from hei_nw.datasets.base import LAG_BINS, Generator, Pointer, Record
from hei_nw.datasets.facts import train_pairs_for

TrainPairs = Callable[[Mapping[str, str]], list[tuple[str, str]]]


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    title: str
    generate: Generator
    # (cue, answer) pairs built from a trace's entity slots with the *training* phrasings
    # only; consolidation trains on these, evaluation asks the held-out phrasings.
    train_pairs: TrainPairs


SCENARIOS: dict[str, ScenarioSpec] = {
    "A": ScenarioSpec(
        "A",
        "episodic one-shot, partial cues, hard negatives",
        scenario_a.generate,
        scenario_a.WORLD.train_pairs,
    ),
    "B": ScenarioSpec(
        "B",
        "factual hot-patch (contradicts prior beliefs)",
        scenario_b.generate,
        train_pairs_for(scenario_b.TEMPLATES),
    ),
    "C": ScenarioSpec(
        "C",
        "preference / configuration memory",
        scenario_c.generate,
        train_pairs_for(scenario_c.TEMPLATES),
    ),
    "D": ScenarioSpec(
        "D",
        "stress / interference, near-collisions",
        scenario_d.generate,
        scenario_d.world(1).train_pairs,
    ),
    "E": ScenarioSpec(
        "E", "long-context control", scenario_e.generate, train_pairs_for(scenario_e.TEMPLATES)
    ),
}


def get_scenario(name: str) -> ScenarioSpec:
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise KeyError(f"unknown scenario {name!r}; choose one of {known}") from None


@lru_cache(maxsize=8)
def _cached(scenario: str, n: int, seed: int) -> tuple[Record, ...]:
    return tuple(get_scenario(scenario).generate(n, seed))


def regenerate(pointer: Pointer) -> Record:
    """The record a pointer names, rebuilt from (scenario, n, seed, index)."""
    return _cached(pointer["scenario"], pointer["n"], pointer["seed"])[pointer["index"]]


def scenario_doc(pointer: Pointer) -> str:
    """Document id of a scenario record (``scenario=A;n=500;seed=7;index=12``)."""
    return (
        f"scenario={pointer['scenario']};n={pointer['n']};seed={pointer['seed']};"
        f"index={pointer['index']}"
    )


def parse_scenario_doc(doc: str) -> Pointer:
    """Inverse of :func:`scenario_doc`; raises ``ValueError`` on a foreign doc id."""
    try:
        fields = dict(part.split("=", 1) for part in doc.split(";"))
        return Pointer(
            scenario=fields["scenario"],
            n=int(fields["n"]),
            seed=int(fields["seed"]),
            index=int(fields["index"]),
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(f"not a scenario document id: {doc!r}") from exc


def record_of_trace(trace_id: str) -> int:
    """The record index a trace id (``doc#start:end`` of a scenario doc) points at.
    For scoring only: it maps what was recalled back to the stream's records."""
    return parse_scenario_doc(trace_id.rpartition("#")[0])["index"]


def query_items(records: Sequence[Record]) -> list[Record]:
    """The records the harness asks about: the targets, in stream order."""
    return [r for r in records if r["kind"] == "target"]


__all__ = [
    "LAG_BINS",
    "SCENARIOS",
    "Pointer",
    "Record",
    "ScenarioSpec",
    "get_scenario",
    "parse_scenario_doc",
    "query_items",
    "record_of_trace",
    "regenerate",
    "scenario_doc",
]
