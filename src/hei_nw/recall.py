"""Recall service: cue -> DG key -> ANN -> Hopfield -> traces -> packed memory text."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hei_nw.keyer import DGKeyer
from hei_nw.pack import Packer
from hei_nw.store import AssociativeStore, Hit
from hei_nw.writer import EpisodeInput, TraceWriter

__all__ = ["EpisodeInput", "Recall", "RecallService", "TraceWriter", "in_scope"]

SCOPE_SHORTLIST = 16  # candidates the scope guard may choose from (of the ANN's Kc = 64)
_WORD = re.compile(r"[0-9a-z]+")


def _words(text: str) -> list[str]:
    # "Darrieux's" -> ["darrieux"]: a possessive must not break the phrase match.
    return _WORD.findall(re.sub(r"['\u2019]s\b", "", text.lower()))


def in_scope(cue: str, anchor: str | None) -> bool:
    """Whether ``anchor`` (a trace's scope slot, e.g. an edit's subject) occurs in ``cue``
    as a contiguous word sequence, ignoring case, punctuation and possessives.

    >>> in_scope("Danielle Darrieux's mother tongue is", "Danielle Darrieux")
    True
    >>> in_scope("BBC One, by", "BBC Radio")
    False
    """
    want = _words(anchor or "")
    if not want:
        return False
    have = _words(cue)
    n = len(want)
    return any(have[i : i + n] == want for i in range(len(have) - n + 1))


@dataclass
class Recall:
    memory_text: str
    hits: list[Hit]
    candidate_ids: list[str]
    ann_ids: list[str]
    timings: dict[str, float] = field(default_factory=dict)


class RecallService:
    def __init__(
        self,
        keyer: DGKeyer,
        store: AssociativeStore,
        packer: Packer,
        top_m: int = 4,
        use_hopfield: bool = True,
        min_score: float | None = None,
        scope_slot: str | None = None,
    ) -> None:
        self.keyer = keyer
        self.store = store
        self.packer = packer
        self.top_m = top_m
        self.use_hopfield = use_hopfield
        # Relevance floor on the best hit's key cosine: below it nothing is recalled, so an
        # unrelated cue leaves the prompt untouched. ``None`` always recalls (B1 on A-E).
        self.min_score = min_score
        # Scope guard: with a slot name (e.g. "subject"), a trace is only recalled by a cue
        # that names what the trace is about -- its ``entity_slots[scope_slot]``, given when
        # it was written. The cue's own labels are never read. ``None`` turns it off.
        self.scope_slot = scope_slot

    def fires(self, hits: Sequence[Hit]) -> bool:
        return bool(hits) and (self.min_score is None or hits[0].ann_score >= self.min_score)

    def scoped(self, cue: str, hits: Sequence[Hit]) -> list[Hit]:
        """The hits whose scope slot the cue names (all hits when the guard is off)."""
        if self.scope_slot is None:
            return list(hits)
        slot = self.scope_slot
        return [h for h in hits if in_scope(cue, h.trace["entity_slots"].get(slot))]

    def recall(self, cues: Sequence[str]) -> list[Recall]:
        t0 = time.perf_counter()
        keys = self.keyer.keys(cues)
        t_key = (time.perf_counter() - t0) / max(1, len(cues))
        # The guard filters a wider shortlist so an in-scope trace ranked below an
        # out-of-scope one is still found; at most ``top_m`` are packed either way.
        shortlist = self.top_m if self.scope_slot is None else max(self.top_m, SCOPE_SHORTLIST)
        results = self.store.lookup(keys, top_m=shortlist, use_hopfield=self.use_hopfield)
        out = []
        for cue, res in zip(cues, results, strict=True):
            t1 = time.perf_counter()
            hits = self.scoped(cue, res.hits)[: self.top_m]
            hits = hits if self.fires(hits) else []
            text = self.packer.pack([h.trace for h in hits])
            t_pack = time.perf_counter() - t1
            self.store.touch([h.trace["trace_id"] for h in hits])
            timings = {"key_s": t_key, **res.timings, "pack_s": t_pack}
            out.append(Recall(text, hits, res.candidate_ids, res.ann_ids, timings))
        return out
