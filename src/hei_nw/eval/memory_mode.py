"""Mode B1: stream the episodes through the write gate, then answer with recalled memory.

Write phase: every record of the scenario stream (targets, hard negatives, filler,
repeats) is offered to :class:`~hei_nw.writer.TraceWriter`; the gate alone decides.
Query phase: each held-out cue goes through :class:`~hei_nw.recall.RecallService`
and the packed memory text fills the prompt's ``Notes:`` slot. Labels are read only
afterwards, to score retrieval (P@1, MRR, ...) and the gate (PR-AUC, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hei_nw.baselines.rag import BUNDLED_MINILM, FaissIndex, HFEmbedder
from hei_nw.datasets import Record
from hei_nw.eval.qa import run_qa
from hei_nw.eval.schema import ItemRow
from hei_nw.features import LMFeatures
from hei_nw.gate import GateConfig, WriteGate, gate_telemetry
from hei_nw.hopfield import HopfieldCompletion
from hei_nw.keyer import DGKeyer, KeyerConfig
from hei_nw.pack import Packer, PackerConfig
from hei_nw.recall import Recall, RecallService
from hei_nw.store import AssociativeStore, StoreConfig, StoreError
from hei_nw.traces import DocumentSource, ScenarioDocuments, scenario_doc
from hei_nw.writer import EpisodeInput, TraceWriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemorySettings:
    """B1 settings, filled from the harness flags."""

    use_gate: bool = True
    tau: float = 0.7
    max_mem_tokens: int = 128
    traces: int = 1
    hopfield_steps: int = 1
    hopfield_beta: float = 32.0
    use_hopfield: bool = True
    use_dg: bool = True
    semantic: bool = True
    store_path: str | None = None
    scope_slot: str | None = None  # recall only traces whose slot the cue names (RecallService)


@dataclass
class MemoryStack:
    features: LMFeatures
    keyer: DGKeyer
    store: AssociativeStore
    writer: TraceWriter
    recall: RecallService


def build_stack(
    pipe: Any, settings: MemorySettings, documents: DocumentSource | None = None
) -> MemoryStack:
    features = LMFeatures(pipe)
    kcfg = KeyerConfig() if settings.use_dg else KeyerConfig(k=2047, k_sem=511)
    vectorizer = HFEmbedder(BUNDLED_MINILM).embed_passages if settings.semantic else None
    keyer = DGKeyer(kcfg, vectorizer=vectorizer, word_weights=features.word_surprisal)
    store = _open_store(settings, StoreConfig(d=kcfg.d, k=kcfg.k, keyer=keyer.fingerprint()))
    writer = TraceWriter(
        features,
        keyer,
        store,
        WriteGate(GateConfig(tau=settings.tau)),
        settings.use_gate,
    )

    def counter(text: str) -> int:
        return len(pipe.tokenizer(text, add_special_tokens=False)["input_ids"])

    packer = Packer(
        documents or ScenarioDocuments(),
        counter,
        PackerConfig(settings.max_mem_tokens, settings.traces),
    )
    recall = RecallService(
        keyer,
        store,
        packer,
        settings.traces,
        settings.use_hopfield,
        scope_slot=settings.scope_slot,
    )
    return MemoryStack(features, keyer, store, writer, recall)


def _open_store(settings: MemorySettings, config: StoreConfig) -> AssociativeStore:
    hop = HopfieldCompletion(beta=settings.hopfield_beta, steps=settings.hopfield_steps)
    path = settings.store_path
    if path and (Path(path) / "CURRENT").exists():
        store = AssociativeStore.open(path)
        if (store.config.d, store.config.k) != (config.d, config.k):
            raise StoreError(
                f"--store.path {path} holds keys with d={store.config.d}, k={store.config.k}, but this "
                f"run keys with d={config.d}, k={config.k}; use a new --store.path"
            )
        if store.config.keyer != config.keyer:
            raise StoreError(
                f"--store.path {path} was keyed by a different keyer "
                f"({store.config.keyer or 'not recorded'}); this run keys with "
                f"{config.keyer}; use a new --store.path"
            )
        store.hopfield = hop
        return store
    return AssociativeStore(config, hop, path)


def episode_inputs(records: Sequence[Record]) -> list[EpisodeInput]:
    return [
        EpisodeInput(
            text=r["episode_text"],
            doc=scenario_doc(r["pointer"]),
            start=0,
            end=len(r["episode_text"]),
            group_id=r["group_id"],
            entity_slots=dict(r["slots"]),
            source=f"scenario-{r['scenario']}",
        )
        for r in records
    ]


def write_phase(
    stack: MemoryStack, records: Sequence[Record], settings: MemorySettings
) -> dict[str, Any]:
    """Offer every record; returns gate telemetry (labels used only to score)."""
    if settings.store_path and len(stack.store) > 0:
        logger.info("reusing %d stored traces from %s", len(stack.store), settings.store_path)
    decisions = stack.writer.write_stream(episode_inputs(records))
    if settings.store_path:
        stack.store.save(settings.store_path)
    tele = gate_telemetry(
        [d.S for d in decisions],
        [d.write or not settings.use_gate for d in decisions],
        [r["should_remember"] for r in records],
        stack.writer.tokens_seen,
    )
    tele.update(tau=settings.tau, use_gate=settings.use_gate, stored=len(stack.store))
    return tele


def trace_record_index(trace_id: str) -> int:
    doc = trace_id.split("#", 1)[0]
    return int(doc.rsplit("index=", 1)[1])


def retrieval_health(
    items: Sequence[Record], recalls: Sequence[Recall], records: Sequence[Record], k: int = 5
) -> dict[str, Any]:
    """P@1, P@k, MRR, collision and near-miss rates, scored against record identities."""
    ranks: list[int | None] = []
    collisions = 0
    for item, rec in zip(items, recalls, strict=True):
        idx = [trace_record_index(t) for t in rec.candidate_ids]
        # A verbatim repeat of the gold episode is the same memory: it counts as a hit.
        same = [records[i]["episode_text"] == item["episode_text"] for i in idx]
        rank = same.index(True) if True in same else None
        ranks.append(rank)
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


def run_b1(
    pipe: Any,
    records: Sequence[Record],
    items: Sequence[Record],
    gen: Any,
    settings: MemorySettings,
) -> tuple[list[ItemRow], dict[str, Any]]:
    rows, extra, _ = run_memory(pipe, records, items, gen, settings)
    return rows, extra


def run_memory(
    pipe: Any,
    records: Sequence[Record],
    items: Sequence[Record],
    gen: Any,
    settings: MemorySettings,
) -> tuple[list[ItemRow], dict[str, Any], MemoryStack]:
    """Write phase then query phase; also returns the stack (its writer feeds replay)."""
    stack = build_stack(pipe, settings)
    gate = write_phase(stack, records, settings)
    recalls = stack.recall.recall([r["query"] for r in items])
    rows = run_qa(pipe, items, [r.memory_text or None for r in recalls], gen, desc="B1")
    by_id = {r["id"]: r["episode_text"] for r in items}
    for row, rec in zip(rows, recalls, strict=True):
        ids = [trace_record_index(t) for t in rec.candidate_ids[:5]]
        retrieved = [records[i]["id"] for i in ids]
        row["retrieved_ids"] = retrieved
        row["recall_at_k"] = float(any(records[i]["episode_text"] == by_id[row["id"]] for i in ids))
    health = retrieval_health(items, recalls, records)
    health["completion_lift"] = completion_lift(stack, items, records)
    health["rag_p_at_1"] = rag_p_at_1(records, items)
    health["latency"] = _stage_latency(recalls)
    extra = {
        "gate": gate,
        "retrieval": health,
        "memory": {"texts_sample": [r.memory_text for r in recalls[:3]]},
    }
    return rows, extra, stack


def rag_p_at_1(records: Sequence[Record], items: Sequence[Record]) -> float:
    """P@1 of the RAG baseline (bundled MiniLM + exact faiss) over every episode, same cues."""
    emb = HFEmbedder(BUNDLED_MINILM)
    stored = [r for r in records if r["episode_text"]]
    index = FaissIndex(emb.dim)
    index.add([r["id"] for r in stored], emb.embed_passages([r["episode_text"] for r in stored]))
    hits = index.search(emb.embed_queries([r["query"] for r in items]), 1)
    text = {r["id"]: r["episode_text"] for r in stored}
    # Scored as retrieval_health scores HEI-NW: a verbatim repeat of the gold is a hit.
    return sum(
        bool(h) and text[h[0][0]] == r["episode_text"] for h, r in zip(hits, items, strict=True)
    ) / max(1, len(items))


def completion_lift(
    stack: MemoryStack, items: Sequence[Record], records: Sequence[Record]
) -> dict[str, float]:
    """P@1 with Hopfield completion minus P@1 with the raw ANN order, same cues."""
    svc = stack.recall
    saved = svc.use_hopfield
    try:
        svc.use_hopfield = True
        on = retrieval_health(items, svc.recall([r["query"] for r in items]), records)["p_at_1"]
        svc.use_hopfield = False
        off = retrieval_health(items, svc.recall([r["query"] for r in items]), records)["p_at_1"]
    finally:
        svc.use_hopfield = saved
    return {"p_at_1_hopfield": on, "p_at_1_ann_only": off, "lift": on - off}


def _stage_latency(recalls: Sequence[Recall]) -> dict[str, float]:
    out: dict[str, float] = {}
    for stage in ("key_s", "ann_s", "hopfield_s", "pack_s"):
        vals = np.array([r.timings.get(stage, 0.0) for r in recalls])
        if len(vals):
            out[f"{stage[:-2]}_p50_ms"] = float(np.percentile(vals, 50) * 1e3)
            out[f"{stage[:-2]}_p95_ms"] = float(np.percentile(vals, 95) * 1e3)
    return out
