"""Retrieval baselines run through the shared QA loop: retrieve, paste the top passages."""

from __future__ import annotations

from collections.abc import Sequence

from hei_nw.baselines import Retriever
from hei_nw.datasets import Record, query_items
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.schema import ItemRow
from hei_nw.metrics.text import recall_at_k
from hei_nw.models.base import GenerationPipeline


def run_retrieval_qa(
    pipe: GenerationPipeline,
    records: Sequence[Record],
    gen_cfg: GenConfig,
    retriever: Retriever,
    k: int = 5,
    passages: int = 1,
) -> list[ItemRow]:
    """Index every episode of the stream, retrieve ``k`` per query, paste the top ``passages``.

    ``recall_at_k`` per row is 1.0 when the query's own episode (or a verbatim repeat of it)
    is among the ``k`` hits.
    """
    stored = [r for r in records if r["episode_text"]]
    retriever.index_passages([r["id"] for r in stored], [r["episode_text"] for r in stored])
    text_of = {r["id"]: r["episode_text"] for r in stored}
    items = query_items(records)
    hits = retriever.search([r["query"] for r in items], k)
    notes: list[str | None] = ["\n".join(text_of[i] for i, _ in h[:passages]) for h in hits]
    rows = run_qa(pipe, items, notes, gen_cfg, desc=retriever.name)
    for row, item, h in zip(rows, items, hits, strict=True):
        ids = [i for i, _ in h]
        row["retrieved_ids"] = ids
        same = [item["id"] if text_of[i] == item["episode_text"] else i for i in ids]
        row["recall_at_k"] = recall_at_k(same, item["id"], k) if ids else 0.0
    return rows


__all__ = ["run_retrieval_qa"]
