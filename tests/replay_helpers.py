"""A replay queue filled from a scenario stream's episodes (targets and hard negatives)."""

from __future__ import annotations

from hei_nw.datasets import Record, get_scenario
from hei_nw.replay import ReplayQueue
from hei_nw.traces import scenario_doc

WRITTEN = ("target", "hard_negative")


def queue_for(
    scenario: str, n: int = 24, seed: int = 7, q_seed: int = 0
) -> tuple[ReplayQueue, list[Record]]:
    records = get_scenario(scenario).generate(n, seed)
    q = ReplayQueue(seed=q_seed)
    q.push(
        {
            "trace_id": f"{scenario_doc(r['pointer'])}#0:{len(r['episode_text'])}",
            "score_S": 1.0,
            "created_at": float(r["index"]),
            "group_id": r["group_id"],
            "entity_slots": r["slots"],
        }
        for r in records
        if r["kind"] in WRITTEN
    )
    return q, records
