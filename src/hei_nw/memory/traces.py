"""Pointer-only trace values.

A trace never holds the episode's raw text: ``tokens_span_ref`` points into a document
(``doc`` id, character ``start``/``end``) kept by a document source
(:mod:`hei_nw.memory.documents`). Its ``entity_slots`` are what the system extracted
from the text when it wrote the trace (:mod:`hei_nw.memory.slots`) plus, optionally,
a scope the user gave with the text (an edit request's subject) -- never labels.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict


class SpanRef(TypedDict):
    doc: str
    start: int
    end: int


class Salience(TypedDict):
    surprise: float
    novelty: float
    reward: float
    pin: bool
    S: float


class Provenance(TypedDict):
    source: str
    timestamp: float
    confidence: float


class Trace(TypedDict):
    trace_id: str
    tokens_span_ref: SpanRef
    entity_slots: dict[str, str]
    lm_state_sketch: list[float] | None
    action_trace: list[str] | None
    salience_tags: Salience
    provenance: Provenance
    created_at: float
    last_access: float
    access_count: int


def new_trace(
    trace_id: str,
    span: SpanRef,
    salience: Salience,
    entity_slots: dict[str, str] | None = None,
    source: str = "stream",
    sketch: list[float] | None = None,
    now: float | None = None,
    **extra: Any,
) -> Trace:
    now = time.time() if now is None else now
    return Trace(
        trace_id=trace_id,
        tokens_span_ref=span,
        entity_slots=dict(entity_slots or {}),
        lm_state_sketch=sketch,
        action_trace=extra.get("action_trace"),
        salience_tags=salience,
        provenance=Provenance(
            source=source, timestamp=now, confidence=float(extra.get("confidence", 1.0))
        ),
        created_at=now,
        last_access=now,
        access_count=0,
    )
