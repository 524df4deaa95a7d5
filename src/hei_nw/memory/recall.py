"""Recall service: cue -> DG key -> ANN -> Hopfield -> traces -> packed memory text."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hei_nw.memory.config import RecallConfig
from hei_nw.memory.keyer import DGKeyer
from hei_nw.memory.pack import Packer
from hei_nw.memory.slots import name_anchors
from hei_nw.memory.store import AssociativeStore, Hit, LookupResult
from hei_nw.utils.text import in_scope

__all__ = ["Recall", "RecallService", "in_scope"]

SCOPE_SLOT = "scope"  # the trace slot holding a user-given scope (e.g. an edit's subject)
NAMES = "names"  # scope read off the texts: the names the cue and the trace share


@dataclass
class Recall:
    memory_text: str
    hits: list[Hit]
    candidate_ids: list[str]
    ann_ids: list[str]
    timings: dict[str, float] = field(default_factory=dict)


class RecallService:
    """Recall for a batch of cues (keys computed in one keyer call).

    * relevance floor (``config.min_score``): below it on the best hit's key cosine nothing
      is recalled, so an unrelated cue leaves the prompt untouched; ``None`` always recalls;
    * scope guard (``config.scope``): a trace is recalled only by a cue that names its
      scope slot, given by the user when it was written; the cue's labels are never read;
    * name anchors (``config.scope = "names"``): no user input; a cue that names something
      (:func:`~hei_nw.memory.slots.name_anchors`) recalls only traces whose text names the
      same thing, and then needs no floor; a cue that names nothing falls back to the floor;
    * name bonus (``config.name_bonus``): the shortlist is re-ranked by its score plus
      ``name_bonus`` x the number of names the cue and the candidate's text share.
    """

    def __init__(
        self,
        keyer: DGKeyer,
        store: AssociativeStore,
        packer: Packer,
        config: RecallConfig | None = None,
        use_hopfield: bool = True,
    ) -> None:
        self.keyer = keyer
        self.store = store
        self.packer = packer
        self.config = config or RecallConfig()
        self.use_hopfield = use_hopfield
        self.min_score = self.config.min_score
        self.scope_slot = self.config.scope

    @property
    def top_m(self) -> int:
        return self.config.top_m

    def fires(self, hits: Sequence[Hit], anchored: bool = False) -> bool:
        """Whether the best hit is recalled: always when a name anchor already matched,
        else when it clears the relevance floor (``None``: no floor)."""
        floor = None if anchored else self.min_score
        return bool(hits) and (floor is None or hits[0].ann_score >= floor)

    def scoped(self, cue: str, hits: Sequence[Hit]) -> list[Hit]:
        """The hits whose scope slot the cue names (all hits when the guard is off)."""
        if self.scope_slot is None:
            return list(hits)
        if self.scope_slot == NAMES:
            cue_names = name_anchors(cue)
            if not cue_names:
                return list(hits)
            return [h for h in hits if cue_names & name_anchors(self.packer.text(h.trace))]
        slot = SCOPE_SLOT if self.scope_slot in (SCOPE_SLOT, "subject") else self.scope_slot
        return [h for h in hits if in_scope(cue, h.trace["entity_slots"].get(slot))]

    def name_rerank(self, cue: str, res: LookupResult, bonus: float) -> LookupResult:
        """``res`` with its hits re-ordered by score + ``bonus`` x shared names (stable);
        the candidate list follows, the candidates past the shortlist keep their order."""
        names = name_anchors(cue)
        if not names:
            return res
        shared = [len(names & name_anchors(self.packer.text(h.trace))) for h in res.hits]
        order = sorted(range(len(res.hits)), key=lambda i: -(res.hits[i].score + bonus * shared[i]))
        hits = [res.hits[i] for i in order]
        head = [h.trace["trace_id"] for h in hits]
        seen = set(head)
        rest = [c for c in res.candidate_ids if c not in seen]
        return LookupResult(hits, head + rest, res.ann_ids, res.timings)

    def recall(self, cues: Sequence[str], top_m: int | None = None) -> list[Recall]:
        top_m = top_m or self.top_m
        t0 = time.perf_counter()
        keys = self.keyer.keys(cues)
        t_key = (time.perf_counter() - t0) / max(1, len(cues))
        # The guard filters a wider shortlist so an in-scope trace ranked below an
        # out-of-scope one is still found; at most ``top_m`` are packed either way.
        bonus = self.config.name_bonus
        narrow = self.scope_slot is None and not bonus
        shortlist = top_m if narrow else max(top_m, self.config.shortlist)
        results = self.store.lookup(keys, top_m=shortlist, use_hopfield=self.use_hopfield)
        out = []
        for cue, res in zip(cues, results, strict=True):
            t1 = time.perf_counter()
            if bonus:
                res = self.name_rerank(cue, res, bonus)
            hits = self.scoped(cue, res.hits)[:top_m]
            anchored = self.scope_slot == NAMES and bool(name_anchors(cue))  # cached
            hits = hits if self.fires(hits, anchored) else []
            text = self.packer.pack([h.trace for h in hits])
            t_pack = time.perf_counter() - t1
            self.store.touch([h.trace["trace_id"] for h in hits])
            timings = {"key_s": t_key, **res.timings, "pack_s": t_pack}
            out.append(Recall(text, hits, res.candidate_ids, res.ann_ids, timings))
        return out
