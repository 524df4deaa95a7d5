"""TraceWriter: the write path (LM features -> gate -> DG key -> store) over an episode stream.

Batched: one LM forward pass reads surprise for a batch of episodes, one keyer call keys
them (word weights for the whole batch in one call), and the traces the gate accepts
go into the store with one index call. Novelty stays sequential in meaning: an episode's
novelty is measured against the store *and* the episodes accepted before it in the same
batch, so a repeat inside one batch is as stale as a repeat across batches.

Each written trace is pointer-only; its ``entity_slots`` are extracted from the text
(:func:`hei_nw.memory.slots.extract_slots`) plus the user's optional ``scope``.
``records`` lists what was written, in the form the replay queue consumes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hei_nw.memory.features import LMFeatures
from hei_nw.memory.gate import GateDecision, WriteGate, detect_pin, gate_surprise
from hei_nw.memory.keyer import DGKeyer, SparseKeys
from hei_nw.memory.slots import extract_slots
from hei_nw.memory.store import AssociativeStore
from hei_nw.memory.traces import Salience, SpanRef, Trace, new_trace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpisodeInput:
    """An episode offered to memory: its text (used transiently) and where it lives.

    ``scope`` is structure the *user* gives with the text (an edit request's subject), kept
    as the trace's ``entity_slots["scope"]`` for the recall scope guard; never a label."""

    text: str
    doc: str
    start: int
    end: int
    reward: float = 0.0
    pin: bool = False
    scope: str | None = None
    source: str = "stream"

    @property
    def trace_id(self) -> str:
        return f"{self.doc}#{self.start}:{self.end}"


class TraceWriter:
    def __init__(
        self,
        features: LMFeatures,
        keyer: DGKeyer,
        store: AssociativeStore,
        gate: WriteGate,
        use_gate: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock  # write timestamps (injectable so runs can be compared byte for byte)
        self.features = features
        self.keyer = keyer
        self.store = store
        self.gate = gate
        self.use_gate = use_gate
        self.records: list[dict[str, Any]] = []
        self.decisions: list[GateDecision] = []
        self.tokens_seen = 0.0
        # Keys of the last ``seen_window`` texts observed (written or not), for the gate's
        # familiarity novelty (``GateConfig.novelty == "seen"``).
        self.seen = np.zeros((0, keyer.config.d), dtype=np.float32)

    def write_stream(
        self, episodes: Sequence[EpisodeInput], batch_size: int = 32, progress: bool = True
    ) -> list[GateDecision]:
        """Offer every episode in order; earlier writes count for later novelty."""
        out: list[GateDecision] = []
        starts = range(0, len(episodes), batch_size)
        for start in tqdm(starts, desc="write", leave=False, disable=not progress):
            out.extend(self._batch(episodes[start : start + batch_size]))
        self.decisions.extend(out)
        return out

    def _batch(self, batch: Sequence[EpisodeInput]) -> list[GateDecision]:
        texts = [e.text for e in batch]
        feats = self.features(texts)
        self.tokens_seen += float(feats.tokens.sum())
        keys = self.keyer.keys(texts)
        dense = keys.dense()  # [b, d], rows unit norm
        stored_sim = self.store.max_similarity(keys)  # [b] vs what was stored before
        cfg = self.gate.config
        familiar = cfg.novelty == "seen"
        # [b, w] vs the texts observed in earlier batches (familiarity novelty only)
        seen_sims = dense @ self.seen.T if familiar else np.zeros((len(batch), 0))
        surprise = gate_surprise(cfg, feats.surprise, feats.total)  # [b]
        accepted: list[int] = []
        decisions = []
        for i, episode in enumerate(batch):
            # Earlier texts of this batch count as stored ones do (accepted) or, for
            # familiarity, all of them.
            prior = list(range(i)) if familiar else accepted
            within = float((dense[prior] @ dense[i]).max()) if prior else 0.0
            # the window holds the last ``seen_window`` texts before this one
            earlier = seen_sims[i, max(0, seen_sims.shape[1] - (cfg.seen_window - i)) :]
            seen = float(earlier.max()) if familiar and earlier.size else 0.0
            novelty = 1.0 - max(float(stored_sim[i]), seen, within, 0.0)
            pin = episode.pin or detect_pin(episode.text, cfg.pin_markers)
            decision = self.gate.decide(float(surprise[i]), novelty, episode.reward, pin)
            if decision.write or not self.use_gate:
                accepted.append(i)
            decisions.append(decision)
        if familiar:
            self.seen = np.vstack([self.seen, dense.astype(np.float32)])[-cfg.seen_window :]
        if accepted:
            self._write(
                [batch[i] for i in accepted], keys[accepted], [decisions[i] for i in accepted]
            )
        return decisions

    def _write(
        self, episodes: Sequence[EpisodeInput], keys: SparseKeys, decisions: Sequence[GateDecision]
    ) -> None:
        traces: list[Trace] = []
        for episode, decision in zip(episodes, decisions, strict=True):
            slots = extract_slots(episode.text)
            if episode.scope:
                slots["scope"] = episode.scope
            salience = Salience(
                surprise=decision.surprise,
                novelty=decision.novelty,
                reward=decision.reward,
                pin=decision.pin,
                S=decision.S,
            )
            traces.append(
                new_trace(
                    episode.trace_id,
                    SpanRef(doc=episode.doc, start=episode.start, end=episode.end),
                    salience,
                    entity_slots=slots,
                    source=episode.source,
                    now=self.clock(),
                )
            )
        self.store.write(keys, traces)
        for trace in traces:
            self.records.append(queue_payload(trace, self.store))

    def write_rate(self) -> float:
        return float(np.mean([d.write for d in self.decisions])) if self.decisions else 0.0


def queue_payload(trace: Trace, store: AssociativeStore) -> dict[str, Any]:
    """What the replay queue needs of a stored trace: its id, salience, write time,
    system-extracted slots and the active units of its stored key."""
    key = store.key_of(trace["trace_id"])
    return {
        "trace_id": trace["trace_id"],
        "score_S": trace["salience_tags"]["S"],
        "created_at": trace["created_at"],
        "entity_slots": dict(trace["entity_slots"]),
        "key_units": sorted(int(u) for u in key.indices[0]),
    }


__all__ = ["EpisodeInput", "TraceWriter", "queue_payload"]
