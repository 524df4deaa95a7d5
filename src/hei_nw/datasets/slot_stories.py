"""Slot-filled mini-stories (who/what/where/when) with hard negatives.

Scenario A (varied vocabulary) and scenario D (tiny vocabulary, many near-collisions)
share this engine. Uniqueness rule: no two episodes in a stream agree on three of
the four slots, so every partial cue (three slots given, one asked) has exactly one
answer, yet a hard negative can share two of who/what/where with its target.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hei_nw.datasets.base import Episode, assign_lag, capitalize_first, render_cues

SLOTS: tuple[str, ...] = ("who", "what", "where", "when")
CORE: tuple[str, ...] = ("who", "what", "where")


@dataclass(frozen=True)
class SlotWorld:
    """Vocabulary and phrasing of one slot-story scenario."""

    vocab: Mapping[str, Sequence[str]]
    episode_templates: Sequence[str]
    train_templates: Mapping[str, Sequence[str]]
    eval_templates: Mapping[str, Sequence[str]]
    asked: Sequence[str] = CORE
    render: Mapping[str, str] = field(default_factory=dict)

    def slot_text(self, slots: Mapping[str, str]) -> dict[str, str]:
        """Slots plus derived renderings (e.g. ``a_what`` = "a backpack")."""
        out = dict(slots)
        for name, fmt in self.render.items():
            out[name] = fmt.format(**slots)
        return out

    def train_pairs(self, slots: Mapping[str, str]) -> list[tuple[str, str]]:
        """(cue, answer) pairs for every askable slot, from the training phrasings only."""
        if any(s not in slots for s in SLOTS):
            return []
        text = self.slot_text(slots)
        return [
            (cue, slots[asked])
            for asked in self.asked
            for cue in render_cues(self.train_templates[asked], text)
        ]


def _projections(slots: Mapping[str, str]) -> list[tuple[str, ...]]:
    """The four 'drop one slot' views; two episodes sharing one would make a cue ambiguous."""
    return [tuple(f"{s}={slots[s]}" for s in SLOTS if s != drop) for drop in SLOTS]


class StoryBuilder:
    """Draws unique slot tuples and turns them into episodes with cues."""

    def __init__(self, world: SlotWorld, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self._seen: set[tuple[str, ...]] = set()

    def _free(self, slots: Mapping[str, str]) -> bool:
        return not any(p in self._seen for p in _projections(slots))

    def _claim(self, slots: Mapping[str, str]) -> None:
        self._seen.update(_projections(slots))

    def draw(self, tries: int = 200) -> dict[str, str]:
        for _ in range(tries):
            slots = {s: self.rng.choice(list(self.world.vocab[s])) for s in SLOTS}
            if self._free(slots):
                self._claim(slots)
                return slots
        raise ValueError("slot vocabulary exhausted: ask for fewer items or widen the vocabulary")

    def hard_negative(
        self, target: Mapping[str, str], asked: str, tries: int = 200
    ) -> dict[str, str]:
        """Share two of who/what/where with ``target``; always differ in ``when``."""
        for _ in range(tries):
            changed = (
                asked
                if self.rng.random() < 0.5
                else self.rng.choice([s for s in CORE if s != asked])
            )
            slots = dict(target)
            slots[changed] = self._other(changed, target[changed])
            slots["when"] = self._other("when", target["when"])
            if self._free(slots):
                self._claim(slots)
                return slots
        raise ValueError("cannot place a hard negative: widen the slot vocabulary")

    def _other(self, slot: str, value: str) -> str:
        choices = [v for v in self.world.vocab[slot] if v != value]
        return self.rng.choice(choices)

    def episode(self, slots: dict[str, str], asked: str, group_id: int, kind: str) -> Episode:
        text_slots = self.world.slot_text(slots)
        text = capitalize_first(
            self.rng.choice(list(self.world.episode_templates)).format(**text_slots)
        )
        return Episode(
            group_id=group_id,
            kind=kind,
            episode_text=text,
            context=text,
            slots=dict(slots),
            asked_slot=asked,
            train_cues=render_cues(self.world.train_templates[asked], text_slots),
            eval_cues=render_cues(self.world.eval_templates[asked], text_slots),
            answers=[slots[asked]],
            should_remember=True,
            lag=assign_lag(self.rng),
        )


def build_stories(
    world: SlotWorld,
    rng: random.Random,
    n: int,
    confounders_ratio: float,
    hard_negative: bool,
) -> list[Episode]:
    """``n`` targets, each optionally followed (in group order) by hard negatives."""
    builder = StoryBuilder(world, rng)
    episodes: list[Episode] = []
    for group_id in range(n):
        asked = rng.choice(list(world.asked))
        slots = builder.draw()
        episodes.append(builder.episode(slots, asked, group_id, "target"))
        if not hard_negative:
            continue
        n_neg = int(confounders_ratio) + (1 if rng.random() < confounders_ratio % 1 else 0)
        for _ in range(n_neg):
            neg = builder.hard_negative(slots, asked)
            episodes.append(builder.episode(neg, asked, group_id, "hard_negative"))
    rng.shuffle(episodes)
    return episodes
