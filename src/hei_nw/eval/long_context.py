"""Long-context baseline: paste the whole episode history into every prompt.

The history is every record of the stream (targets, hard negatives, filler) in order.
When it does not fit the model's context window, the oldest lines are dropped and the
item is flagged ``truncated``: that is what a long-context system would have to do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hei_nw.datasets import Record, query_items
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.schema import ItemRow
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import build_prompt

logger = logging.getLogger(__name__)


def build_context(record: Mapping[str, Any]) -> str:
    """The text a record contributes to the history (its full context, e.g. a session)."""
    return str(record.get("context") or record.get("episode_text") or "")


def build_history(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per record, in stream order, distractors and filler included."""
    return [line for line in (build_context(r) for r in records) if line]


def fit_history(
    pipe: GenerationPipeline, lines: list[str], question: str, gen: GenConfig
) -> tuple[str, bool]:
    """Drop the oldest lines until the prompt fits the context window."""
    budget = pipe.max_context - gen.max_new_tokens
    kept = list(lines)
    # Token counts shrink roughly with line count; bisect on the number of kept lines.
    lo, hi = 0, len(kept)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        notes = "\n".join(kept[len(kept) - mid :])
        if pipe.count_tokens(build_prompt(question, notes, gen.prompt_format)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return "\n".join(kept[len(kept) - lo :]), lo < len(kept)


def run_long_context(
    pipe: GenerationPipeline, records: Sequence[Record], gen_cfg: GenConfig
) -> list[ItemRow]:
    """Answer every target with the whole history in the prompt; rows carry compute stats."""
    history = build_history(records)
    items = query_items(records)
    notes: list[str | None] = []
    truncated: list[bool] = []
    for item in items:
        text, cut = fit_history(pipe, history, item["query"], gen_cfg)
        notes.append(text)
        truncated.append(cut)
    if any(truncated):
        logger.warning(
            "long-context: history truncated for %d/%d queries (context %d tokens)",
            sum(truncated),
            len(items),
            pipe.max_context,
        )
    return run_qa(pipe, items, notes, gen_cfg, desc="long-context", truncated=truncated)
