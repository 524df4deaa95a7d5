"""Subject/relation/value facts used by the hot-patch (B) and config (C) scenarios.

A :class:`FactTemplate` states a fact as an episode and asks it back with train and
held-out cue phrasings. :func:`build_fact_episodes` draws unique (subject, relation)
pairs, so every cue has exactly one answer in a stream, and adds hard negatives that
share the subject (or the relation) with a target.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hei_nw.datasets.base import (
    Episode,
    Record,
    add_noise,
    assign_lag,
    capitalize_first,
    finalize,
    render_cues,
    stable_rng,
)


@dataclass(frozen=True)
class FactTemplate:
    """One relation: how it is stated, how it is asked, and which values it takes."""

    relation: str
    statements: Sequence[str]
    train_templates: Sequence[str]
    eval_templates: Sequence[str]
    subjects: Sequence[str]
    values: Callable[[random.Random, str], str]
    prior: Callable[[str], str | None] = lambda subject: None
    preferred: Sequence[str] = ()
    # Other spellings of a value that score as correct ("12058" for "ID-12058"); they
    # only extend the episode's gold ``answers`` and never reach the model or the store.
    aliases: Callable[[str], Sequence[str]] = lambda value: ()


@dataclass(frozen=True)
class Fact:
    template: FactTemplate
    subject: str
    value: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.template.relation, self.subject)


def draw_fact(
    rng: random.Random, templates: Sequence[FactTemplate], used: set[tuple[str, str]]
) -> Fact:
    """A fact whose (relation, subject) pair is not in ``used`` (then marked used)."""
    preferred = [(t, s) for t in templates for s in t.preferred if (t.relation, s) not in used]
    if preferred:
        tpl, subject = rng.choice(preferred)
        used.add((tpl.relation, subject))
        return Fact(tpl, subject, tpl.values(rng, subject))
    for _ in range(500):
        tpl = rng.choice(list(templates))
        subject = rng.choice(list(tpl.subjects))
        if (tpl.relation, subject) in used:
            continue
        used.add((tpl.relation, subject))
        return Fact(tpl, subject, tpl.values(rng, subject))
    raise ValueError("fact pool exhausted: ask for fewer items")


def sibling_fact(
    rng: random.Random, target: Fact, templates: Sequence[FactTemplate], used: set[tuple[str, str]]
) -> Fact | None:
    """A hard negative: same subject under another relation, else same relation elsewhere."""
    same_subject = [
        t
        for t in templates
        if target.subject in t.subjects and (t.relation, target.subject) not in used
    ]
    if same_subject:
        tpl = rng.choice(same_subject)
        used.add((tpl.relation, target.subject))
        return Fact(tpl, target.subject, tpl.values(rng, target.subject))
    free = [s for s in target.template.subjects if (target.template.relation, s) not in used]
    if not free:
        return None
    subject = rng.choice(free)
    used.add((target.template.relation, subject))
    return Fact(target.template, subject, target.template.values(rng, subject))


def fact_episode(rng: random.Random, fact: Fact, group_id: int, kind: str) -> Episode:
    tpl = fact.template
    slots = {"subject": fact.subject, "relation": tpl.relation, "value": fact.value}
    prior = tpl.prior(fact.subject)
    text = capitalize_first(rng.choice(list(tpl.statements)).format(**slots))
    return Episode(
        group_id=group_id,
        kind=kind,
        episode_text=text,
        context=text,
        slots={**slots, **({"prior": prior} if prior else {})},
        asked_slot="value",
        train_cues=render_cues(tpl.train_templates, slots),
        eval_cues=render_cues(tpl.eval_templates, slots),
        answers=[fact.value, *tpl.aliases(fact.value)],
        should_remember=True,
        lag=assign_lag(rng),
    )


def build_fact_episodes(
    rng: random.Random, templates: Sequence[FactTemplate], n: int, confounders_ratio: float
) -> list[Episode]:
    used: set[tuple[str, str]] = set()
    episodes: list[Episode] = []
    for group_id in range(n):
        fact = draw_fact(rng, templates, used)
        episodes.append(fact_episode(rng, fact, group_id, "target"))
        n_neg = int(confounders_ratio) + (1 if rng.random() < confounders_ratio % 1 else 0)
        for _ in range(n_neg):
            neg = sibling_fact(rng, fact, templates, used)
            if neg is not None:
                episodes.append(fact_episode(rng, neg, group_id, "hard_negative"))
    rng.shuffle(episodes)
    return episodes


def other_than(pool: Sequence[str], avoid: str | None) -> Callable[[random.Random, str], str]:
    """A value sampler: any pool entry except ``avoid``."""

    def sample(rng: random.Random, subject: str) -> str:
        return rng.choice([v for v in pool if v != avoid and v != subject])

    return sample


def train_pairs_for(
    templates: Sequence[FactTemplate],
) -> Callable[[Mapping[str, str]], list[tuple[str, str]]]:
    """(cue, answer) pairs of a fact's slots, from its relation's training phrasings only."""
    by_relation = {t.relation: t for t in templates}

    def pairs(slots: Mapping[str, str]) -> list[tuple[str, str]]:
        tpl = by_relation.get(slots.get("relation", ""))
        if tpl is None or "subject" not in slots or "value" not in slots:
            return []
        return [(cue, slots["value"]) for cue in render_cues(tpl.train_templates, slots)]

    return pairs


def fact_stream(
    name: str,
    templates: Sequence[FactTemplate],
    n: int,
    seed: int,
    confounders_ratio: float,
    filler_ratio: float,
    repeat_ratio: float,
) -> list[Record]:
    """The whole stream of a fact scenario: targets, hard negatives, filler, repeats."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = stable_rng(name, n, seed)
    episodes = build_fact_episodes(rng, templates, n, confounders_ratio)
    stream = add_noise(rng, episodes, filler_ratio, repeat_ratio)
    return finalize(name, n, seed, stream)
