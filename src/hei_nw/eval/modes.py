"""Registries of evaluation modes, baselines and probes.

A mode answers the targets its own way (B0: the base model alone). Baselines and probes
are extra conditions run on the same items in the same process, so their numbers are
paired with the mode's. A mode may also name a ``weights`` hook that turns the loaded
base model into the model it evaluates (B2: LoRA attached; B3: LoRA merged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hei_nw.baselines import make_retriever
from hei_nw.datasets import Record, query_items
from hei_nw.eval import memory_mode
from hei_nw.eval.config import HarnessConfig
from hei_nw.eval.long_context import run_long_context
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.rag import run_retrieval_qa
from hei_nw.eval.schema import ItemRow
from hei_nw.memory.embedders import load_embedder
from hei_nw.models import lora_weights
from hei_nw.models.base import GenerationPipeline


@dataclass(frozen=True)
class RunContext:
    """Everything a condition needs: the loaded model, the stream, and settings."""

    pipe: GenerationPipeline
    records: Sequence[Record]
    gen: GenConfig
    config: HarnessConfig

    @property
    def items(self) -> list[Record]:
        return query_items(self.records)


@dataclass
class Outcome:
    """Rows of one condition plus its extra telemetry (retrieval health, gate, ...)."""

    rows: list[ItemRow]
    extra: dict[str, Any] = field(default_factory=dict)


Runner = Callable[[RunContext], Outcome]
Weights = Callable[[GenerationPipeline, HarnessConfig], GenerationPipeline]


@dataclass(frozen=True)
class Condition:
    name: str
    description: str
    run: Runner
    weights: Weights | None = None
    needs_adapter: bool = False
    memory: bool = False  # recalls from the episodic store (B1, B2)


def run_b0(ctx: RunContext) -> Outcome:
    """Base model alone: the question with no notes."""
    return Outcome(run_qa(ctx.pipe, ctx.items, [None] * len(ctx.items), ctx.gen, desc="B0"))


def run_b1(ctx: RunContext) -> Outcome:
    """Gate-driven one-shot writes, then recall into the prompt (see ``memory_mode``)."""
    rows, extra, _ = memory_mode.run_memory(
        ctx.pipe, ctx.records, ctx.items, ctx.gen, ctx.config.memory, ctx.config.store_path
    )
    return Outcome(rows, extra)


def run_b3(ctx: RunContext) -> Outcome:
    """Consolidated weights, memory off: no store is built and recall is never called."""
    return Outcome(run_qa(ctx.pipe, ctx.items, [None] * len(ctx.items), ctx.gen, desc="B3"))


def attach_adapter(pipe: GenerationPipeline, config: HarnessConfig) -> GenerationPipeline:
    assert config.adapter_path is not None
    return lora_weights.attach(pipe, config.adapter_path)


def merge_adapter(pipe: GenerationPipeline, config: HarnessConfig) -> GenerationPipeline:
    assert config.adapter_path is not None
    if not config.adapter_merge_for_b3:
        return lora_weights.attach(pipe, config.adapter_path)
    return lora_weights.merged(pipe, config.adapter_path, config.dtype, config.device)


def run_oracle(ctx: RunContext) -> Outcome:
    """The gold episode is placed in the prompt: an upper bound for any memory."""
    notes: list[str | None] = [r["context"] for r in ctx.items]
    return Outcome(run_qa(ctx.pipe, ctx.items, notes, ctx.gen, desc="oracle"))


def run_long_context_baseline(ctx: RunContext) -> Outcome:
    return Outcome(run_long_context(ctx.pipe, ctx.records, ctx.gen))


def _retrieval_baseline(name: str) -> Runner:
    def run(ctx: RunContext) -> Outcome:
        embedder = load_embedder(ctx.config.rag_embedder)
        retriever = make_retriever(name, embedder)
        rows = run_retrieval_qa(
            ctx.pipe, ctx.records, ctx.gen, retriever, ctx.config.rag_k, ctx.config.rag_passages
        )
        hits = [r["retrieved_ids"] or [] for r in rows]
        p1 = sum(bool(h) and h[0] == r["id"] for h, r in zip(hits, rows, strict=True)) / max(
            1, len(rows)
        )
        return Outcome(
            rows, {"retrieval": {"p_at_1": p1, "retriever": name, "embedder": embedder.name}}
        )

    return run


MODES: dict[str, Condition] = {
    "B0": Condition("B0", "base model, memory off", run_b0),
    "B1": Condition(
        "B1",
        "base model + episodic memory (one-shot gated writes, no replay)",
        run_b1,
        memory=True,
    ),
    "B2": Condition(
        "B2",
        "base + LoRA after replay, memory on",
        run_b1,
        attach_adapter,
        needs_adapter=True,
        memory=True,
    ),
    "B3": Condition(
        "B3", "base with merged LoRA after replay, memory off", run_b3, merge_adapter, True
    ),
}

BASELINES: dict[str, Condition] = {
    "long-context": Condition(
        "long-context",
        "whole episode history (distractors and filler included) pasted into the prompt",
        run_long_context_baseline,
    ),
    "rag": Condition(
        "rag",
        "dense retrieval (MiniLM, faiss, cosine) over all episodes; top passages pasted",
        _retrieval_baseline("minilm"),
    ),
    "bm25": Condition(
        "bm25",
        "lexical BM25 (bm25s) over all episodes; top passages pasted",
        _retrieval_baseline("bm25"),
    ),
    "hybrid": Condition(
        "hybrid",
        "reciprocal-rank fusion of BM25 and MiniLM over all episodes; top passages pasted",
        _retrieval_baseline("hybrid"),
    ),
}

PROBES: dict[str, Condition] = {
    "oracle": Condition("oracle", "gold episode placed in the prompt (upper bound)", run_oracle),
}
