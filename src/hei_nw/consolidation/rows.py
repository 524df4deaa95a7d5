"""Training rows for consolidation, built only from what the system has.

* :class:`CueAnswerRowBuilder` -- ``distill`` rows: each query the memory served (the
  served-query log), asked *without* memory in the evaluation's own prompt layout, with
  the memory's own answer (the B1 teacher) as the target: its token ids and, per answer
  position, the teacher's top-k log-probabilities.
  With ``memory=True`` it builds the ``recall`` twins instead: the same query and target
  with the recalled notes it was served with in the prompt, so the student answers with
  memory as the teacher did (holds B2 at B1).
* :class:`LMReplayRowBuilder` -- ``lm`` rows: a stored episode's text, read through the
  trace's pointer from the memory's document store.
* :func:`teacher_rows` -- ``anchor`` rows (unrelated prompts, the frozen base model as
  the teacher: holds everything else) and ``unlearn`` rows (the queries a forgotten
  trace served, pulled back to the base model's own answer without memory).

No gold slot, answer or generator template reaches a row: the scramble test in
``tests/consolidation/test_label_free.py`` proves it byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hei_nw.consolidation.queue import QueueItem
from hei_nw.memory.documents import DocumentSource
from hei_nw.memory.features import base_weights
from hei_nw.memory.queries import QueryLog, ServedQuery
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import STOP, build_prompt

ROW_KINDS = ("distill", "recall", "anchor", "unlearn", "lm")


@dataclass(frozen=True)
class TrainRow:
    """One training row: ``prompt`` is context (never scored), ``target_ids`` are scored.

    With ``topk_ids``/``topk_logprobs`` the loss matches the teacher's distribution at
    each target position (KL); without them it is cross-entropy on ``target_ids``.
    """

    kind: str
    prompt: str
    target_ids: tuple[int, ...]
    topk_ids: tuple[tuple[int, ...], ...] | None = None
    topk_logprobs: tuple[tuple[float, ...], ...] | None = None
    trace_id: str | None = None


def parse_trace_id(trace_id: str) -> tuple[str, int, int]:
    """``doc#start:end`` -> (pointer doc, start, end)."""
    doc, sep, span = trace_id.rpartition("#")
    start, colon, end = span.partition(":")
    if not sep or not colon or not start.isdigit() or not end.isdigit():
        raise ValueError(f"not a trace id of the form doc#start:end: {trace_id!r}")
    return doc, int(start), int(end)


def served_row(
    q: ServedQuery, trace_id: str | None, kind: str = "distill", memory: bool = False
) -> TrainRow:
    """A served query asked without memory (``memory=True``: with the notes it was served
    with), the teacher's answer as the target."""
    notes = (q.memory_text or None) if memory else None
    return TrainRow(
        kind=kind,
        prompt=str(build_prompt(q.query, notes, q.prompt_format)),
        target_ids=tuple(q.answer_ids),
        topk_ids=tuple(tuple(r) for r in q.topk_ids) if q.topk_ids else None,
        topk_logprobs=tuple(tuple(r) for r in q.topk_logprobs) if q.topk_logprobs else None,
        trace_id=trace_id,
    )


class CueAnswerRowBuilder:
    """``(cue, answer)`` rows: the cues are the queries the memory served, the answers its
    own (teacher) answers; a query belongs to the trace recall put first in its prompt.

    ``target="greedy"`` drops the teacher's distribution: cross-entropy on its answer.
    ``memory=True`` builds ``recall`` rows: the notes each query was served with stay in
    its prompt (queries logged without notes give none).
    """

    def __init__(self, queries: QueryLog, target: str = "kl", memory: bool = False) -> None:
        self.target = target
        self.memory = memory
        self.by_trace: dict[str, list[ServedQuery]] = {}
        for q in queries:
            if q.trace_ids and not q.forgotten and q.answer_ids:
                self.by_trace.setdefault(q.trace_ids[0], []).append(q)

    def queries_for(self, trace_id: str) -> list[ServedQuery]:
        return self.by_trace.get(trace_id, [])

    def rows(self, items: Iterable[QueueItem]) -> list[TrainRow]:
        out = []
        for it in items:
            for q in self.queries_for(it.trace_id):
                if self.memory and not q.memory_text:
                    continue
                kind = "recall" if self.memory else "distill"
                row = served_row(q, it.trace_id, kind, memory=self.memory)
                if self.target == "greedy":
                    row = TrainRow(row.kind, row.prompt, row.target_ids, None, None, row.trace_id)
                out.append(row)
        return out


class LMReplayRowBuilder:
    """The stored episode's text, regenerated from its pointer (next-token loss on all of it)."""

    def __init__(self, documents: DocumentSource, tokenizer: Any) -> None:
        self.documents = documents
        self.tokenizer = tokenizer

    def text(self, trace_id: str) -> str:
        doc, start, end = parse_trace_id(trace_id)
        return self.documents.text(doc, start, end)

    def rows(self, items: Iterable[QueueItem]) -> list[TrainRow]:
        out = []
        for it in items:
            ids = self.tokenizer(self.text(it.trace_id), add_special_tokens=False)["input_ids"]
            out.append(TrainRow("lm", "", tuple(ids), trace_id=it.trace_id))
        return out


def teacher_rows(
    pipe: GenerationPipeline,
    questions: Sequence[str],
    prompt_format: str,
    kind: str,
    topk: int,
    batch_size: int = 32,
    max_new_tokens: int = 12,
) -> list[TrainRow]:
    """Rows whose teacher is the frozen base model without memory: its greedy answer path
    and top-k log-probabilities (computed once, before training)."""
    prompts = [str(build_prompt(q, None, prompt_format)) for q in questions]
    with base_weights(pipe.model):
        decoded = pipe.run(
            prompts, max_new_tokens=max_new_tokens, stop=STOP, batch_size=batch_size, topk=topk
        )
    out = []
    for prompt, d in zip(prompts, decoded, strict=True):
        n = pipe.stop_length(d.generated, STOP)
        if n == 0:
            continue
        out.append(
            TrainRow(
                kind,
                prompt,
                tuple(d.generated[:n]),
                tuple(tuple(r) for r in d.topk_ids[:n]),
                tuple(tuple(r) for r in d.topk_logprobs[:n]),
            )
        )
    return out


__all__ = [
    "ROW_KINDS",
    "CueAnswerRowBuilder",
    "LMReplayRowBuilder",
    "TrainRow",
    "parse_trace_id",
    "served_row",
    "teacher_rows",
]
