"""Pointer-only trace values and the document sources that resolve their pointers.

A trace never holds the episode's raw text: ``tokens_span_ref`` points into a document
(``doc`` id, character ``start``/``end``). For the synthetic scenarios the document is
regenerated deterministically from ``scenario=A;n=500;seed=7`` and a record index.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, TypedDict

from hei_nw.datasets import Pointer, regenerate


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
    group_id: int | None
    tokens_span_ref: SpanRef
    entity_slots: dict[str, str]
    lm_state_sketch: list[float] | None
    action_trace: list[str] | None
    salience_tags: Salience
    provenance: Provenance
    created_at: float
    last_access: float
    access_count: int


class DocumentSource(Protocol):
    """Resolves a pointer to text (the store itself never keeps the text)."""

    def text(self, doc: str, start: int, end: int) -> str: ...


def scenario_doc(pointer: Pointer) -> str:
    return f"scenario={pointer['scenario']};n={pointer['n']};seed={pointer['seed']};index={pointer['index']}"


def parse_scenario_doc(doc: str) -> Pointer:
    """Inverse of :func:`scenario_doc`; raises ``ValueError`` on a foreign doc id."""
    try:
        fields = dict(part.split("=", 1) for part in doc.split(";"))
        return Pointer(
            scenario=fields["scenario"],
            n=int(fields["n"]),
            seed=int(fields["seed"]),
            index=int(fields["index"]),
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(f"not a scenario document id: {doc!r}") from exc


class ScenarioDocuments:
    """Regenerates episode text from scenario pointers (deterministic generators)."""

    def text(self, doc: str, start: int, end: int) -> str:
        return regenerate(parse_scenario_doc(doc))["episode_text"][start:end]


class InMemoryDocuments:
    """A document source for library users who keep their own texts (id -> text)."""

    def __init__(self, docs: dict[str, str] | None = None) -> None:
        self.docs = dict(docs or {})

    def add(self, doc: str, text: str) -> None:
        self.docs[doc] = text

    def text(self, doc: str, start: int, end: int) -> str:
        try:
            return self.docs[doc][start:end]
        except KeyError:
            raise KeyError(f"document {doc!r} is not in this source") from None


def new_trace(
    trace_id: str,
    span: SpanRef,
    salience: Salience,
    group_id: int | None = None,
    entity_slots: dict[str, str] | None = None,
    source: str = "stream",
    sketch: list[float] | None = None,
    **extra: Any,
) -> Trace:
    now = time.time()
    return Trace(
        trace_id=trace_id,
        group_id=group_id,
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
