"""Registries of evaluation modes, baselines and probes.

A mode answers the targets its own way (B0: the base model alone). Baselines and probes
are extra conditions run on the same items in the same process, so their numbers are
paired with the mode's. A mode whose runner is ``None`` is not built in this release;
the harness then exits with code 64 and its help text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hei_nw.baselines.long_context import run_long_context
from hei_nw.baselines.rag import load_embedder, run_rag
from hei_nw.datasets import Record, query_items
from hei_nw.eval.config import HarnessConfig
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.schema import ItemRow
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


Runner = Callable[[RunContext], list[ItemRow]]


@dataclass(frozen=True)
class Condition:
    name: str
    description: str
    run: Runner | None


def run_b0(ctx: RunContext) -> list[ItemRow]:
    """Base model alone: the question with no notes."""
    return run_qa(ctx.pipe, ctx.items, [None] * len(ctx.items), ctx.gen, desc="B0")


def run_oracle(ctx: RunContext) -> list[ItemRow]:
    """The gold episode is placed in the prompt: an upper bound for any memory."""
    return run_qa(ctx.pipe, ctx.items, [r["context"] for r in ctx.items], ctx.gen, desc="oracle")


def run_long_context_baseline(ctx: RunContext) -> list[ItemRow]:
    return run_long_context(ctx.pipe, ctx.records, ctx.gen)


def run_rag_baseline(ctx: RunContext) -> list[ItemRow]:
    embedder = load_embedder(ctx.config.rag_embedder)
    return run_rag(
        ctx.pipe, ctx.records, ctx.gen, embedder, k=ctx.config.rag_k, passages=ctx.config.rag_passages
    )


MODES: dict[str, Condition] = {
    "B0": Condition("B0", "base model, memory off", run_b0),
    "B1": Condition("B1", "base model + episodic memory (one-shot writes, no replay)", None),
    "B2": Condition("B2", "base + LoRA after replay, memory on", None),
    "B3": Condition("B3", "base with merged LoRA after replay, memory off", None),
}

BASELINES: dict[str, Condition] = {
    "long-context": Condition(
        "long-context",
        "whole episode history (distractors and filler included) pasted into the prompt",
        run_long_context_baseline,
    ),
    "rag": Condition(
        "rag", "dense retrieval (faiss, cosine) over all episodes; top passages pasted", run_rag_baseline
    ),
}

PROBES: dict[str, Condition] = {
    "oracle": Condition("oracle", "gold episode placed in the prompt (upper bound)", run_oracle),
}
