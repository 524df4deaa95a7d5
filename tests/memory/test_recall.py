"""RecallService relevance and re-ranking: name anchors read off the texts."""

from __future__ import annotations

from hei_nw.memory.store import Hit, LookupResult
from hei_nw.models.base import GenerationPipeline
from tests.conftest import tiny_memory

FACTS = [
    "Fiat 128, created by Renault.",
    "Fiat 70 is produced by Tata.",
    "Nissan Civilian is developed by Toyota.",
]


def _result(mem, order: list[int]) -> LookupResult:
    traces = mem.traces()
    hits = [Hit(traces[i], 0.5, 0.5) for i in order]
    ids = [t["trace_id"] for t in traces]
    return LookupResult(hits, [ids[i] for i in order], ids, {})


def test_name_bonus_moves_the_candidate_that_names_the_cues_entity_first(
    tiny_pipe: GenerationPipeline,
) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    mem.observe_many(FACTS)
    ids = [t["trace_id"] for t in mem.traces()]
    res = mem.recaller.name_rerank("Who makes the Fiat 70?", _result(mem, [0, 2, 1]), 0.05)
    # "Fiat 70" is named by the third candidate only; "Fiat 128" is another name.
    assert res.candidate_ids == [ids[1], ids[0], ids[2]]
    assert [h.trace["trace_id"] for h in res.hits] == res.candidate_ids
    # A cue that names nothing keeps the order it came with.
    same = mem.recaller.name_rerank("who makes that car?", _result(mem, [0, 2, 1]), 0.05)
    assert same.candidate_ids == [ids[0], ids[2], ids[1]]


def test_name_bonus_is_weighed_against_the_score(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    mem.observe_many(FACTS)
    traces = mem.traces()
    # The named candidate trails by 0.1: a bonus of 0.05 per name does not lift it,
    # a bonus of 0.2 does.
    hits = [Hit(traces[0], 0.6, 0.6), Hit(traces[1], 0.5, 0.5)]
    res = LookupResult(hits, [t["trace_id"] for t in traces[:2]], [], {})
    cue = "Who makes the Fiat 70?"
    assert mem.recaller.name_rerank(cue, res, 0.05).hits[0].trace is traces[0]
    assert mem.recaller.name_rerank(cue, res, 0.2).hits[0].trace is traces[1]


def test_recall_applies_the_configured_name_bonus(tiny_pipe: GenerationPipeline) -> None:
    on = tiny_memory(tiny_pipe, {"gate.use_for_writes": False, "recall.name_bonus": 10.0})
    on.observe_many(FACTS)
    (hit,) = on.recall("Fiat 70 is produced by", k=1)
    assert hit.text == FACTS[1]
    (hit,) = on.recall("Nissan Civilian is developed by", k=1)
    assert hit.text == FACTS[2]
