"""Mode B1 (and B2): stream the episodes through the memory, then answer with recall.

Write phase: every record of the scenario stream (targets, hard negatives, filler,
repeats) is offered to :class:`~hei_nw.memory.EpisodicMemory`; the gate alone decides.
Query phase: each held-out cue goes through recall and the packed memory text fills the
prompt's ``Notes:`` slot. Labels are read only afterwards, to score retrieval (P@1, MRR,
...) and the gate (PR-AUC, ...). The retrieval baselines (MiniLM, BM25, hybrid) are
scored on the same cues over the same stored items with the same P@1 rule.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hei_nw.baselines import RETRIEVERS, make_retriever
from hei_nw.datasets import Record, record_of_trace, scenario_doc
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.schema import ItemRow
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.memory.embedders import shared_embedder
from hei_nw.memory.gate import gate_telemetry
from hei_nw.memory.recall import Recall
from hei_nw.memory.slots import name_anchors
from hei_nw.models.base import GenerationPipeline

logger = logging.getLogger(__name__)


def build_memory(
    pipe: GenerationPipeline, config: MemoryConfig, store_path: str | None = None
) -> EpisodicMemory:
    """The memory every mode uses (reopened from ``store_path`` when one is saved there)."""
    mem = EpisodicMemory(pipe, store_path, config)
    if store_path and len(mem):
        logger.info("reusing %d stored traces from %s", len(mem), store_path)
    return mem


def write_phase(
    mem: EpisodicMemory, records: Sequence[Record], save: bool = False
) -> dict[str, Any]:
    """Offer every record in stream order; returns gate telemetry (labels only score)."""
    decisions = mem.observe_many(
        [r["episode_text"] for r in records],
        docs=[scenario_doc(r["pointer"]) for r in records],
        progress=True,
    )
    if save:
        mem.save()
    use_gate = mem.config.gate.use_for_writes
    tele = gate_telemetry(
        [d.S for d in decisions],
        [d.written for d in decisions],
        [r["should_remember"] for r in records],
        mem.writer.tokens_seen,
    )
    tele.update(tau=mem.config.gate.tau, use_gate=use_gate, stored=len(mem))
    return tele


def retrieval_health(
    items: Sequence[Record], recalls: Sequence[Recall], records: Sequence[Record], k: int = 5
) -> dict[str, Any]:
    """P@1, P@k, MRR, collision and near-miss rates, scored against record identities."""
    ranks = [
        _rank(item, rec.candidate_ids, records) for item, rec in zip(items, recalls, strict=True)
    ]
    collisions = 0
    for item, rec, rank in zip(items, recalls, ranks, strict=True):
        idx = [record_of_trace(t) for t in rec.candidate_ids]
        if idx and rank != 0 and records[idx[0]]["group_id"] == item["group_id"]:
            collisions += 1  # top hit is this target's own hard negative
    n = max(1, len(items))
    hit = [r is not None for r in ranks]
    return {
        "n": len(items),
        "p_at_1": sum(r == 0 for r in ranks) / n,
        f"p_at_{k}": sum(r is not None and r < k for r in ranks) / n,
        "mrr": sum(1.0 / (r + 1) for r in ranks if r is not None) / n,
        "collision_rate": collisions / n,
        "near_miss_rate": sum(r is not None and 0 < r < k for r in ranks) / n,
        "not_in_candidates": 1 - sum(hit) / n,
    }


def _rank(item: Record, candidate_ids: Sequence[str], records: Sequence[Record]) -> int | None:
    """Rank of the gold episode among the candidates; a verbatim repeat of it is a hit."""
    same = [
        records[record_of_trace(t)]["episode_text"] == item["episode_text"] for t in candidate_ids
    ]
    return same.index(True) if True in same else None


def run_memory(
    pipe: GenerationPipeline,
    records: Sequence[Record],
    items: Sequence[Record],
    gen: GenConfig,
    config: MemoryConfig,
    store_path: str | None = None,
    mem: EpisodicMemory | None = None,
) -> tuple[list[ItemRow], dict[str, Any], EpisodicMemory]:
    """Write phase then query phase; also returns the memory (its writes feed replay)."""
    if mem is None:
        mem = build_memory(pipe, config, store_path)
        gate = write_phase(mem, records, save=bool(store_path))
    else:
        gate = {"stored": len(mem), "reused": True}
    recalls = mem.recall_many([r["query"] for r in items])
    rows = run_qa(pipe, items, [r.memory_text or None for r in recalls], gen, desc="memory")
    by_id = {r["id"]: r["episode_text"] for r in items}
    for row, rec in zip(rows, recalls, strict=True):
        ids = [record_of_trace(t) for t in rec.candidate_ids[:5]]
        row["retrieved_ids"] = [records[i]["id"] for i in ids]
        row["recall_at_k"] = float(any(records[i]["episode_text"] == by_id[row["id"]] for i in ids))
    health = retrieval_health(items, recalls, records)
    health["completion_lift"] = completion_lift(mem, items, records)
    health["p_at_1_by_system"] = p_at_1_by_system(mem, items, records, health["p_at_1"])
    health["latency"] = _stage_latency(recalls)
    extra = {
        "gate": gate,
        "retrieval": health,
        "memory": {"texts_sample": [r.memory_text for r in recalls[:3]]},
    }
    return rows, extra, mem


def p_at_1_by_system(
    mem: EpisodicMemory, items: Sequence[Record], records: Sequence[Record], hei_nw: float
) -> dict[str, float]:
    """P@1 of each retrieval baseline over the episodes the memory stored, on the same
    cues, with the same rule (a verbatim repeat of the gold episode is a hit)."""
    hits = baseline_hits(mem, items, records, [r["query"] for r in items])
    n = max(1, len(items))
    return {"hei_nw": hei_nw, **{name: sum(h) / n for name, h in hits.items()}}


def name_rerank(
    cue: str, hits: Sequence[tuple[str, float]], text_of: dict[str, str], per_name: float
) -> list[tuple[str, float]]:
    """A retriever's ranked ``hits`` re-ordered by rank - ``per_name`` x the names the cue
    and the hit's text share (:func:`~hei_nw.memory.slots.name_anchors`); in rank units,
    so it needs no knowledge of the retriever's score scale. ``inf``: names first."""
    names = name_anchors(cue)
    if not names:
        return list(hits)
    shared = [len(names & name_anchors(text_of[h[0]])) for h in hits]
    if math.isinf(per_name):
        order = sorted(range(len(hits)), key=lambda i: (-shared[i], i))
    else:
        order = sorted(range(len(hits)), key=lambda i: i - per_name * shared[i])
    return [hits[i] for i in order]


def baseline_hits(
    mem: EpisodicMemory,
    items: Sequence[Record],
    records: Sequence[Record],
    cues: Sequence[str],
    name_ranks: Sequence[float] = (),
) -> dict[str, list[bool]]:
    """Per item, whether each baseline's top hit for ``cues[i]`` is ``items[i]``'s episode.

    The baselines index exactly the episodes the memory stored (the gate's choice), so a
    system is never scored on an item the other could not hold. For each value in
    ``name_ranks`` every retriever also answers with its shortlist (as wide as the
    memory's) re-ranked by shared names (:func:`name_rerank`), as ``"{name}+names@{b}"``:
    the signal HEI-NW's ``recall.name_bonus`` adds, given to the baselines too."""
    stored = sorted({record_of_trace(t["trace_id"]) for t in mem.traces()})
    ids = [records[i]["id"] for i in stored]
    texts = [records[i]["episode_text"] for i in stored]
    text_of = dict(zip(ids, texts, strict=True))
    out: dict[str, list[bool]] = {}
    vectors = shared_embedder().embed_passages(texts)  # [stored, 384], shared by minilm, hybrid
    depth = mem.config.recall.shortlist if name_ranks else 1
    for name in RETRIEVERS:
        retriever = make_retriever(name)
        retriever.index_passages(ids, texts, vectors)
        found = retriever.search(list(cues), depth) if texts else [[] for _ in cues]

        def top_is_gold(ranked: Sequence[list[tuple[str, float]]]) -> list[bool]:
            return [
                bool(h) and text_of[h[0][0]] == r["episode_text"]
                for h, r in zip(ranked, items, strict=True)
            ]

        out[name] = top_is_gold(found)
        for b in name_ranks:
            reranked = [name_rerank(c, h, text_of, b) for c, h in zip(cues, found, strict=True)]
            out[f"{name}+names@{b:g}"] = top_is_gold(reranked)
    return out


def hei_nw_hits(
    mem: EpisodicMemory,
    items: Sequence[Record],
    records: Sequence[Record],
    cues: Sequence[str],
    hopfield: bool,
) -> list[bool]:
    """Per item, whether the memory's top candidate for ``cues[i]`` is the gold episode,
    with Hopfield completion on or off (the memory's own setting is restored)."""
    svc = mem.recaller
    saved = svc.use_hopfield
    try:
        svc.use_hopfield = hopfield
        recalls = svc.recall(list(cues))
    finally:
        svc.use_hopfield = saved
    return [
        _rank(item, rec.candidate_ids, records) == 0
        for item, rec in zip(items, recalls, strict=True)
    ]


def completion_lift(
    mem: EpisodicMemory, items: Sequence[Record], records: Sequence[Record]
) -> dict[str, float]:
    """P@1 with Hopfield completion minus P@1 with the raw ANN order, same cues."""
    cues = [r["query"] for r in items]
    n = max(1, len(items))
    on = sum(hei_nw_hits(mem, items, records, cues, hopfield=True)) / n
    off = sum(hei_nw_hits(mem, items, records, cues, hopfield=False)) / n
    return {"p_at_1_hopfield": on, "p_at_1_ann_only": off, "lift": on - off}


def _stage_latency(recalls: Sequence[Recall]) -> dict[str, float]:
    out: dict[str, float] = {}
    for stage in ("key_s", "ann_s", "hopfield_s", "pack_s"):
        vals = np.array([r.timings.get(stage, 0.0) for r in recalls])
        if len(vals):
            out[f"{stage[:-2]}_p50_ms"] = float(np.percentile(vals, 50) * 1e3)
            out[f"{stage[:-2]}_p95_ms"] = float(np.percentile(vals, 95) * 1e3)
    return out


__all__ = [
    "baseline_hits",
    "build_memory",
    "completion_lift",
    "hei_nw_hits",
    "name_rerank",
    "p_at_1_by_system",
    "retrieval_health",
    "run_memory",
    "write_phase",
]
