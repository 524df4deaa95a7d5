"""TraceWriter: the write path (features -> gate -> DG key -> store) over an episode stream.

Each written trace is pointer-only. ``records`` lists what was written in the form the
replay queue consumes: ``trace_id`` (pointer doc + record index), ``group_id``,
``entity_slots``, salience ``S`` and the write time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hei_nw.features import LMFeatures
from hei_nw.gate import GateDecision, WriteGate
from hei_nw.keyer import DGKeyer
from hei_nw.store import AssociativeStore
from hei_nw.traces import Salience, SpanRef, new_trace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpisodeInput:
    """An episode offered to memory: its text (used transiently) and where it lives."""

    text: str
    doc: str
    start: int
    end: int
    group_id: int | None = None
    entity_slots: dict[str, str] = field(default_factory=dict)
    reward: float = 0.0
    pin: bool = False
    source: str = "stream"


class TraceWriter:
    def __init__(
        self,
        features: LMFeatures,
        keyer: DGKeyer,
        store: AssociativeStore,
        gate: WriteGate,
        use_gate: bool = True,
    ) -> None:
        self.features = features
        self.keyer = keyer
        self.store = store
        self.gate = gate
        self.use_gate = use_gate
        self.records: list[dict[str, Any]] = []
        self.decisions: list[GateDecision] = []
        self.tokens_seen = 0.0

    def write_stream(
        self, episodes: Sequence[EpisodeInput], batch_size: int = 32
    ) -> list[GateDecision]:
        """Offer every episode in order; earlier writes count for later novelty."""
        out: list[GateDecision] = []
        for start in tqdm(range(0, len(episodes), batch_size), desc="write", leave=False):
            out.extend(self._batch(episodes[start : start + batch_size]))
        self.decisions.extend(out)
        return out

    def _batch(self, batch: Sequence[EpisodeInput]) -> list[GateDecision]:
        texts = [e.text for e in batch]
        feats = self.features(texts)
        self.tokens_seen += float(feats.tokens.sum())
        keys = self.keyer.keys(texts)
        decisions = []
        for i, episode in enumerate(batch):
            key = keys[[i]]
            novelty = 1.0 - float(self.store.max_similarity(key)[0])
            decision = self.gate.decide(
                float(feats.surprise[i]), novelty, episode.reward, episode.pin
            )
            if decision.write or not self.use_gate:
                self._write(episode, key, decision)
            decisions.append(decision)
        return decisions

    def _write(self, episode: EpisodeInput, key: Any, decision: GateDecision) -> None:
        trace_id = f"{episode.doc}#{episode.start}:{episode.end}"
        salience = Salience(
            surprise=decision.surprise,
            novelty=decision.novelty,
            reward=decision.reward,
            pin=decision.pin,
            S=decision.S,
        )
        trace = new_trace(
            trace_id,
            SpanRef(doc=episode.doc, start=episode.start, end=episode.end),
            salience,
            group_id=episode.group_id,
            entity_slots=episode.entity_slots,
            source=episode.source,
        )
        self.store.write(key, [trace])
        self.records.append(
            {
                "trace_id": trace_id,
                "group_id": episode.group_id,
                "entity_slots": dict(episode.entity_slots),
                "score_S": decision.S,
                "created_at": trace["created_at"],
            }
        )

    def write_rate(self) -> float:
        return float(np.mean([d.write for d in self.decisions])) if self.decisions else 0.0
