"""Replay queue and CA2-style scheduler: which stored traces consolidation rehearses next.

The queue is fed by what the write gate stored (:attr:`TraceWriter.records`), never by
labels. Each item carries what the system has: its salience ``S``, its write time, a
diversity hash (SimHash of the slots the system extracted from the text), a key hint
(the active units of its stored DG key), and -- once consolidation has measured it --
its *need*: how far the student still is from the teacher on that trace's served
queries (the student's loss on the memory's own answers; no labels).

Policies (``POLICIES``) choose what to replay:

* ``ca2`` -- greedy selection with :class:`CA2Scheduler`: not-yet-learned (need),
  salient, recently written items first, a bonus for a diversity bucket not yet chosen,
  a penalty for key overlap with what is already chosen;
* ``shuffled`` -- uniformly at random (an experience-replay buffer);
* ``shuffled-pass`` -- random order without replacement within each pass over the queue;
* ``none`` -- only the newest wave (no rehearsal of older traces).

>>> q = ReplayQueue()
>>> q.push([{"trace_id": "doc#0:10", "score_S": 1.2, "created_at": 0.0,
...          "entity_slots": {"names": "Ana", "terms": "key"}, "key_units": [3, 17, 40]}])
>>> [i.trace_id for i in q.pop_batch(1, policy="ca2")]
['doc#0:10']
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hei_nw.memory.config import ConsolidationConfig
from hei_nw.memory.eviction import simhash64
from hei_nw.memory.keyer import DGKeyer
from hei_nw.utils.io import file_mode

logger = logging.getLogger(__name__)

DIVERSITY_BITS = 8  # diversity bucket = top bits of the slots' SimHash

_LEXICAL_KEYER = DGKeyer()  # no LM, no embedder: a cheap, deterministic key proxy


@dataclass
class QueueItem:
    """One replayable trace (every field is something the system itself has)."""

    trace_id: str
    score_S: float
    created_at: float
    diversity_hash: int
    group_id: int | None  # diversity bucket: traces the memory's slots cannot tell apart
    key_hint: list[int] | None  # active units of the stored DG key
    entity_slots: dict[str, str] = field(default_factory=dict)
    replays: int = 0
    need: float | None = None  # student loss on the teacher's answers; None = not measured
    wave: int = 0  # which arrival wave wrote it (continual consolidation)

    @property
    def bucket(self) -> int:
        return self.diversity_hash >> (64 - DIVERSITY_BITS)


def simhash_for_slots(entity_slots: Mapping[str, str]) -> int:
    """64-bit SimHash of ``slot=value`` tokens; near-identical slot sets share most bits."""
    tokens = [
        f"{k}={part}".lower()
        for k, v in sorted(entity_slots.items())
        for part in str(v).split("|")
        if part
    ]
    return simhash64(tokens) if tokens else 0


def slot_cue(entity_slots: Mapping[str, str]) -> str:
    """A cue built from the slot values alone, in a fixed slot order."""
    return " ".join(str(v).replace("|", " ") for _, v in sorted(entity_slots.items()) if v)


def key_hint_from_slots(entity_slots: Mapping[str, str], keyer: DGKeyer | None = None) -> list[int]:
    """Active units of the DG key of :func:`slot_cue` (lexical keyer unless one is given).
    Used when a payload carries no stored key units."""
    cue = slot_cue(entity_slots)
    if not cue:
        return []
    keys = (keyer or _LEXICAL_KEYER).keys([cue])
    return sorted(int(i) for i, v in zip(keys.indices[0], keys.values[0], strict=True) if v != 0)


def hint_cosine(a: Sequence[int] | None, b: Sequence[int] | None) -> float:
    """Cosine of two binary k-WTA masks: |a ∩ b| / sqrt(|a|·|b|)."""
    if not a or not b:
        return 0.0
    return len(set(a) & set(b)) / float(np.sqrt(len(a) * len(b)))


# The seed's weights on salience, recency, diversity and key overlap: what the waves
# experiment (hei_nw.eval.interference) calls ``ca2`` and ablates term by term.
SEED_SCORE_W: tuple[float, float, float, float] = (1.0, 1.0, 0.1, 0.5)


@dataclass(frozen=True)
class CA2Scheduler:
    """Priority = w_S·S_norm + w_r/recency + w_d·diversity_bonus − w_o·overlap + w_n·need_norm.

    ``recency`` counts write positions since the item was written (1 = newest);
    ``overlap`` is the largest key-hint cosine with the items already chosen;
    ``need_norm`` is the item's need over the largest need in the queue (an item never
    measured counts as 1: not yet held). ``score_w`` defaults to
    ``ConsolidationConfig().score_w`` (no overlap penalty, by measurement);
    :data:`SEED_SCORE_W` are the seed's four weights.
    """

    score_w: tuple[float, float, float, float] = field(
        default_factory=lambda: ConsolidationConfig().score_w
    )
    need_w: float = 1.0

    def priorities(
        self,
        candidates: Sequence[QueueItem],
        batch: Sequence[QueueItem],
        all_items: Sequence[QueueItem],
    ) -> np.ndarray:
        """Scores of ``candidates`` given the ``batch`` built so far (higher = sooner)."""
        stats = _QueueStats.of(all_items)
        overlap = np.array(
            [
                max((hint_cosine(c.key_hint, b.key_hint) for b in batch), default=0.0)
                for c in candidates
            ]
        )
        return self._score(candidates, {b.bucket for b in batch}, overlap, stats)

    def _score(
        self,
        candidates: Sequence[QueueItem],
        buckets: set[int],
        overlap: np.ndarray,
        stats: _QueueStats,
    ) -> np.ndarray:
        w_s, w_r, w_d, w_o = self.score_w
        out = np.empty(len(candidates))
        for i, c in enumerate(candidates):
            s_norm = (c.score_S - stats.s_min) / stats.s_span
            need = 1.0 if c.need is None else c.need / stats.need_max
            bonus = 0.0 if c.bucket in buckets else 1.0
            out[i] = (
                w_s * s_norm
                + w_r / stats.recency[c.trace_id]
                + w_d * bonus
                - w_o * overlap[i]
                + self.need_w * need
            )
        return out

    def build_batch(
        self, candidates: Sequence[QueueItem], k: int, all_items: Sequence[QueueItem]
    ) -> list[QueueItem]:
        """Greedy: add the best-scoring candidate given what is already chosen."""
        stats = _QueueStats.of(all_items)
        pool = list(candidates)
        overlap = np.zeros(len(pool))
        batch: list[QueueItem] = []
        buckets: set[int] = set()
        while pool and len(batch) < k:
            best = int(np.argmax(self._score(pool, buckets, overlap, stats)))
            chosen = pool.pop(best)
            overlap = np.delete(overlap, best)
            batch.append(chosen)
            buckets.add(chosen.bucket)
            # Overlap with the chosen set only grows: update it with the new member alone.
            fresh = np.array([hint_cosine(c.key_hint, chosen.key_hint) for c in pool])
            overlap = np.maximum(overlap, fresh) if len(pool) else overlap
        return batch


@dataclass(frozen=True)
class _QueueStats:
    """Queue-wide normalisers: the range of S, the largest need, recency ranks (newest = 1)."""

    s_min: float
    s_span: float
    need_max: float
    recency: dict[str, int]

    @classmethod
    def of(cls, items: Sequence[QueueItem]) -> _QueueStats:
        s = np.array([it.score_S for it in items]) if items else np.zeros(1)
        needs = [it.need for it in items if it.need is not None]
        aged = sorted(items, key=lambda it: (it.created_at, it.trace_id))
        recency = {it.trace_id: len(aged) - rank for rank, it in enumerate(aged)}
        need_max = max(needs) if needs and max(needs) > 0 else 1.0
        return cls(float(s.min()), float(np.ptp(s)) or 1.0, need_max, recency)


Policy = Callable[["ReplayQueue", int, random.Random], list[QueueItem]]


def _ca2(queue: ReplayQueue, k: int, rng: random.Random) -> list[QueueItem]:
    return queue.scheduler.build_batch(queue.pending(), k, queue.items)


def _shuffled(queue: ReplayQueue, k: int, rng: random.Random) -> list[QueueItem]:
    return rng.sample(queue.items, min(k, len(queue.items)))


def _shuffled_pass(queue: ReplayQueue, k: int, rng: random.Random) -> list[QueueItem]:
    pending = queue.pending()
    return rng.sample(pending, min(k, len(pending)))


def _newest_wave(queue: ReplayQueue, k: int, rng: random.Random) -> list[QueueItem]:
    newest = max(it.wave for it in queue.items)
    pool = [it for it in queue.items if it.wave == newest]
    return rng.sample(pool, min(k, len(pool)))


POLICIES: dict[str, Policy] = {
    "ca2": _ca2,
    "shuffled": _shuffled,
    "shuffled-pass": _shuffled_pass,
    "none": _newest_wave,
}


class ReplayQueue:
    """Traces waiting for consolidation, replayed in passes (see the module docstring)."""

    def __init__(self, scheduler: CA2Scheduler | None = None, seed: int = 0) -> None:
        self.scheduler = scheduler or CA2Scheduler()
        self.rng = random.Random(seed)
        self._items: dict[str, QueueItem] = {}
        self._done: set[str] = set()  # replayed in the current pass
        self.passes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[QueueItem]:
        return list(self._items.values())

    def pending(self) -> list[QueueItem]:
        """Items not yet replayed in the current pass (a new pass starts when none are)."""
        out = [it for tid, it in self._items.items() if tid not in self._done]
        if not out and self._items:
            self._done.clear()
            self.passes += 1
            out = self.items
        return out

    def push(self, items: Iterable[Mapping[str, Any]], wave: int = 0) -> None:
        """Add write-path payloads (``trace_id``, ``score_S``, ``created_at``,
        ``entity_slots``, ``key_units``); a known ``trace_id`` is updated in place."""
        for payload in items:
            item = _item_from_payload(payload, wave)
            old = self._items.get(item.trace_id)
            if old is not None:
                item.replays, item.need, item.wave = old.replays, old.need, old.wave
            self._items[item.trace_id] = item

    def remove(self, trace_id: str) -> None:
        """Forget a trace (e.g. after eviction from the store)."""
        self._items.pop(trace_id, None)
        self._done.discard(trace_id)

    def set_need(self, needs: Mapping[str, float]) -> None:
        """Record the student's current loss on each trace's served queries."""
        for tid, value in needs.items():
            if tid in self._items:
                self._items[tid].need = float(value)

    def pop_batch(self, k: int, policy: str = "ca2", **kwargs: Any) -> list[QueueItem]:
        """Up to ``k`` items to replay now, chosen by ``policy`` (see ``POLICIES``).
        Pass ``rng=random.Random(...)`` to override the queue's RNG."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        try:
            choose = POLICIES[policy]
        except KeyError:
            raise ValueError(
                f"unknown replay policy {policy!r}; choose one of {', '.join(POLICIES)}"
            ) from None
        if not self._items:
            return []
        batch = choose(self, k, kwargs.get("rng", self.rng))
        for it in batch:
            it.replays += 1
            self._done.add(it.trace_id)
        return batch

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the queue to an SQLite file (e.g. ``replay/priority.db``) atomically."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".priority-", suffix=".db", dir=target.parent)
        os.fchmod(fd, file_mode(target))
        os.close(fd)
        try:
            with sqlite3.connect(tmp) as db:
                db.execute("CREATE TABLE items (trace_id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
                db.executemany(
                    "INSERT INTO items VALUES (?, ?)",
                    [(it.trace_id, json.dumps(asdict(it))) for it in self._items.values()],
                )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], scheduler: CA2Scheduler | None = None
    ) -> ReplayQueue:
        """Read a queue written by :meth:`save`; a missing or foreign file raises ``ValueError``."""
        if not Path(path).is_file():
            raise ValueError(f"replay queue {path} does not exist; write one with ReplayQueue.save")
        queue = cls(scheduler)
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                rows = db.execute("SELECT payload FROM items").fetchall()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"replay queue {path} is not a queue database ({exc})") from None
        for (payload,) in rows:
            item = QueueItem(**json.loads(payload))
            queue._items[item.trace_id] = item
        return queue


def _item_from_payload(payload: Mapping[str, Any], wave: int) -> QueueItem:
    try:
        trace_id = str(payload["trace_id"])
    except KeyError:
        raise ValueError(
            "replay payload has no trace_id (expected TraceWriter.records rows)"
        ) from None
    slots = {str(k): str(v) for k, v in dict(payload.get("entity_slots") or {}).items()}
    units = payload.get("key_units")
    hint = sorted(int(u) for u in units) if units else key_hint_from_slots(slots)
    diversity = simhash_for_slots(slots)
    return QueueItem(
        trace_id=trace_id,
        score_S=float(payload.get("score_S", payload.get("S", 0.0))),
        created_at=float(payload.get("created_at", 0.0)),
        diversity_hash=diversity,
        group_id=diversity >> (64 - DIVERSITY_BITS),
        key_hint=hint,
        entity_slots=slots,
        wave=wave,
    )


__all__ = [
    "POLICIES",
    "SEED_SCORE_W",
    "CA2Scheduler",
    "QueueItem",
    "ReplayQueue",
    "hint_cosine",
    "key_hint_from_slots",
    "simhash_for_slots",
    "slot_cue",
]
