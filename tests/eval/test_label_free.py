"""Labels score; they never feed. Scrambling every gold field of the generator records
must leave traces, queue items and training rows byte-identical."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import asdict
from typing import Any

import pytest

from hei_nw.consolidation.cycles import replay_inputs
from hei_nw.consolidation.direct import memit_requests
from hei_nw.consolidation.rows import CueAnswerRowBuilder
from hei_nw.datasets import SCENARIOS, get_scenario, query_items
from hei_nw.eval.memory_mode import write_phase
from hei_nw.eval.replay import served_cues
from hei_nw.models.base import GenerationPipeline
from tests.conftest import tiny_memory


def scramble(records: list[Any], seed: int = 0) -> list[Any]:
    """Every gold field replaced: slots shuffled across records or emptied, answers and
    expected values replaced, asked slot, group and should-remember label changed."""
    rng = random.Random(seed)
    pool = [dict(r["slots"]) for r in records]
    rng.shuffle(pool)
    out = []
    for r, slots in zip(records, pool, strict=True):
        out.append(
            {
                **r,
                "slots": {k: f"{v}-x" for k, v in slots.items()} if rng.random() < 0.5 else {},
                "answers": ["Nobody"],
                "expected": "Nobody",
                "asked_slot": "when",
                "group_id": rng.randrange(10_000),
                "should_remember": not r["should_remember"],
            }
        )
    return out


def artefacts(pipe: GenerationPipeline, records: list[Any]) -> dict[str, str]:
    clock = itertools.count(1000).__next__
    mem = tiny_memory(pipe, {"gate.tau": 0.8}, clock=lambda: float(clock()))
    write_phase(mem, records)
    mem.answer(served_cues(query_items(records)), log=True, topk=4)
    queue, rows, lm = replay_inputs(mem)
    return {
        "traces": json.dumps(mem.traces(), sort_keys=True),
        "queue": json.dumps([asdict(it) for it in queue.items], sort_keys=True),
        "rows": repr(sorted(rows.items())),
        "lm_rows": repr(lm),
        # the memory-on twins (consolidation.memory_ratio > 0)
        "recall_rows": repr(CueAnswerRowBuilder(mem.queries, "kl", memory=True).rows(queue.items)),
        "memit_requests": repr(memit_requests(mem)),  # the memit method's inputs
        "served": json.dumps([asdict(q) for q in mem.queries], sort_keys=True),
    }


@pytest.mark.parametrize("scenario", ["A", "C"])
def test_scrambled_gold_fields_change_nothing_that_feeds(
    tiny_pipe: GenerationPipeline, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = get_scenario(scenario).generate(6, 3)
    honest = artefacts(tiny_pipe, records)
    assert json.loads(honest["queue"]) and "distill" in honest["rows"]  # something was built
    assert "kind='recall'" in honest["recall_rows"]
    assert "target_ids=(" in honest["memit_requests"]
    # Scramble the records, and make the generator's cue->answer pairs nonsense too.
    spec = SCENARIOS[scenario]
    monkeypatch.setitem(
        SCENARIOS,
        scenario,
        spec.__class__(spec.name, spec.title, spec.generate, lambda _s: [("q?", "a")]),
    )
    assert artefacts(tiny_pipe, scramble(records)) == honest


def test_scramble_really_changes_the_gold_fields() -> None:
    records = get_scenario("A").generate(6, 3)
    mixed = scramble(records)
    assert all(
        m["answers"] != r["answers"] for m, r in zip(mixed, records, strict=True) if r["answers"]
    )
    assert any(m["slots"] != r["slots"] for m, r in zip(mixed, records, strict=True))
