"""Record schema and shared machinery of the scenario generators.

Every generator returns a list of :class:`Record` dicts. ``n`` counts the *target*
episodes (the ones the harness queries); a stream also holds hard negatives,
chit-chat filler and repeats, so ``len(records) >= n``. A record's ``pointer``
regenerates it exactly: ``regenerate(record["pointer"]) == record``.

Cue phrasings are split by template: ``train_cues`` come from one set of templates,
``eval_cues`` from a disjoint set, so consolidation can train on the first and be
scored on the second without leakage.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import TypedDict

LAG_BINS: tuple[int, ...] = (0, 1, 3, 7, 30)

KINDS = ("target", "hard_negative", "filler", "repeat")


class Pointer(TypedDict):
    """Where a record comes from: regenerate ``generate(n, seed)[index]`` of ``scenario``."""

    scenario: str
    n: int
    seed: int
    index: int


class Record(TypedDict):
    """One item of a scenario stream (an episode, a hard negative or filler)."""

    id: str
    scenario: str
    index: int
    group_id: int
    kind: str
    episode_text: str
    context: str
    slots: dict[str, str]
    asked_slot: str
    train_cues: list[str]
    eval_cues: list[str]
    cues: list[str]
    query: str
    answers: list[str]
    expected: str
    should_remember: bool
    lag: int
    pointer: Pointer


class Episode(TypedDict):
    """A generator's intermediate form before indices and pointers are assigned."""

    group_id: int
    kind: str
    episode_text: str
    context: str
    slots: dict[str, str]
    asked_slot: str
    train_cues: list[str]
    eval_cues: list[str]
    answers: list[str]
    should_remember: bool
    lag: int


def stable_rng(scenario: str, n: int, seed: int, salt: str = "") -> random.Random:
    """An RNG whose stream depends only on (scenario, n, seed, salt), not on PYTHONHASHSEED."""
    digest = hashlib.sha256(f"{scenario}|{n}|{seed}|{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def with_article(noun: str) -> str:
    """``"a backpack"`` / ``"an umbrella"``."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def render_cues(templates: Sequence[str], slots: Mapping[str, str]) -> list[str]:
    return [capitalize_first(t.format(**slots)) for t in templates]


def capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def assign_lag(rng: random.Random, bins: Sequence[int] = LAG_BINS) -> int:
    return int(rng.choice(list(bins)))


CHIT_CHAT: tuple[str, ...] = (
    "Thanks, that's all for now.",
    "The weather looks nice today, doesn't it?",
    "Hmm, let me think about that for a second.",
    "Okay, sounds good to me.",
    "Sorry, I got distracted for a moment.",
    "Could you say that again more slowly?",
    "Haha, that's funny.",
    "Good morning! How are you doing?",
    "I need more coffee before this meeting.",
    "Never mind, it's not important.",
    "Let's talk about something else.",
    "Anyway, where was I?",
)


def filler_episode(rng: random.Random, group_id: int) -> Episode:
    """Chit-chat that carries no fact worth storing (``should_remember=False``)."""
    text = rng.choice(CHIT_CHAT)
    return Episode(
        group_id=group_id,
        kind="filler",
        episode_text=text,
        context=text,
        slots={},
        asked_slot="",
        train_cues=[],
        eval_cues=[],
        answers=[],
        should_remember=False,
        lag=0,
    )


def repeat_episode(source: Episode) -> Episode:
    """A verbatim repeat of an earlier episode: nothing new, so ``should_remember=False``."""
    return Episode(
        group_id=source["group_id"],
        kind="repeat",
        episode_text=source["episode_text"],
        context=source["context"],
        slots=dict(source["slots"]),
        asked_slot="",
        train_cues=[],
        eval_cues=[],
        answers=[],
        should_remember=False,
        lag=source["lag"],
    )


def finalize(scenario: str, n: int, seed: int, episodes: Sequence[Episode]) -> list[Record]:
    """Attach ids, indices and pointers; fill the seed's ``query``/``expected`` aliases."""
    records: list[Record] = []
    for index, ep in enumerate(episodes):
        eval_cues = list(ep["eval_cues"])
        answers = list(ep["answers"])
        records.append(
            Record(
                id=f"{scenario}-n{n}-s{seed}-{index}",
                scenario=scenario,
                index=index,
                group_id=ep["group_id"],
                kind=ep["kind"],
                episode_text=ep["episode_text"],
                context=ep["context"],
                slots=dict(ep["slots"]),
                asked_slot=ep["asked_slot"],
                train_cues=list(ep["train_cues"]),
                eval_cues=eval_cues,
                cues=list(ep["train_cues"]) + eval_cues,
                query=eval_cues[0] if eval_cues else "",
                answers=answers,
                expected=answers[0] if answers else "",
                should_remember=ep["should_remember"],
                lag=ep["lag"],
                pointer=Pointer(scenario=scenario, n=n, seed=seed, index=index),
            )
        )
    return records


def add_noise(
    rng: random.Random,
    episodes: list[Episode],
    filler_ratio: float,
    repeat_ratio: float,
) -> list[Episode]:
    """Interleave chit-chat and verbatim repeats into a stream of episodes, deterministically.

    Repeats are always placed after the episode they repeat.
    """
    n_targets = sum(1 for ep in episodes if ep["kind"] == "target")
    stream = list(episodes)
    next_group = max((ep["group_id"] for ep in episodes), default=-1) + 1
    for _ in range(round(filler_ratio * n_targets)):
        stream.insert(rng.randrange(len(stream) + 1), filler_episode(rng, next_group))
        next_group += 1
    targets = [ep for ep in episodes if ep["kind"] == "target"]
    for _ in range(round(repeat_ratio * n_targets)):
        if not targets:
            break
        source = rng.choice(targets)
        after = next(i for i, ep in enumerate(stream) if ep is source)
        stream.insert(rng.randrange(after + 1, len(stream) + 1), repeat_episode(source))
    return stream


Generator = Callable[..., list[Record]]
