"""Packaged general questions, in families, split into two disjoint pools.

* ``anchor`` -- prompts consolidation may hold to the frozen base model (KL anchor rows);
* ``drift`` -- prompts the drift guard asks before and after; no training or anchor row
  ever contains one of them.

A question belongs to a pool by a hash of its text, so the split is fixed, disjoint and
covers every family. None of the families touches what scenario B rewrites (capitals,
currencies, languages) or the scenarios' people, items and places. Answers are not
shipped: the guard compares the model with its own answers before consolidation.

>>> len(general_questions("drift")) >= 1000
True
>>> set(general_questions("drift")).isdisjoint(general_questions("anchor"))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

from hei_nw.datasets.general import CORE_QA

NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
ADJECTIVES = [
    "hot",
    "cold",
    "big",
    "small",
    "fast",
    "slow",
    "tall",
    "short",
    "happy",
    "sad",
    "old",
    "young",
    "light",
    "dark",
    "heavy",
    "soft",
    "hard",
    "wet",
    "dry",
    "rich",
    "poor",
    "loud",
    "quiet",
    "early",
    "late",
    "full",
    "empty",
    "clean",
    "dirty",
    "strong",
    "weak",
    "thick",
    "thin",
    "deep",
    "shallow",
    "wide",
    "narrow",
    "high",
    "low",
    "long",
    "brave",
    "cheap",
    "expensive",
    "easy",
    "difficult",
    "true",
    "false",
    "sweet",
    "sour",
    "near",
    "far",
    "open",
    "closed",
    "inside",
    "outside",
    "first",
    "last",
    "good",
    "bad",
    "right",
    "wrong",
]
NOUNS = [
    "cat",
    "dog",
    "horse",
    "mouse",
    "child",
    "man",
    "woman",
    "tooth",
    "foot",
    "goose",
    "box",
    "bus",
    "city",
    "baby",
    "knife",
    "leaf",
    "wolf",
    "potato",
    "tomato",
    "hero",
    "photo",
    "piano",
    "fish",
    "sheep",
    "deer",
    "person",
    "cactus",
    "book",
    "tree",
    "car",
    "house",
    "apple",
    "pencil",
    "table",
    "chair",
    "window",
    "door",
    "bird",
    "flower",
    "river",
    "mountain",
    "cloud",
    "star",
    "glass",
    "dish",
    "watch",
    "church",
    "brush",
    "fox",
    "wish",
    "lady",
    "story",
    "party",
    "key",
    "toy",
    "day",
    "boy",
    "monkey",
    "berry",
    "cherry",
    "country",
]
VERBS = [
    "go",
    "eat",
    "run",
    "see",
    "write",
    "take",
    "give",
    "come",
    "make",
    "know",
    "think",
    "find",
    "tell",
    "become",
    "leave",
    "feel",
    "bring",
    "begin",
    "keep",
    "hold",
    "stand",
    "hear",
    "let",
    "mean",
    "set",
    "meet",
    "pay",
    "sit",
    "speak",
    "lie",
    "lead",
    "read",
    "grow",
    "lose",
    "fall",
    "send",
    "build",
    "understand",
    "draw",
    "break",
    "spend",
    "cut",
    "rise",
    "drive",
    "buy",
    "wear",
    "choose",
    "sing",
    "swim",
    "fly",
    "walk",
    "talk",
    "jump",
    "play",
    "work",
    "cook",
    "call",
    "open",
]
COLOURED = (
    ("a banana", "yellow"),
    ("grass", "green"),
    ("snow", "white"),
    ("coal", "black"),
    ("a ripe tomato", "red"),
    ("the sky on a clear day", "blue"),
    ("an orange", "orange"),
    ("milk", "white"),
    ("a lemon", "yellow"),
    ("chocolate", "brown"),
    ("a strawberry", "red"),
    ("a carrot", "orange"),
    ("a lime", "green"),
    ("a crow", "black"),
    ("a polar bear", "white"),
    ("an emerald", "green"),
    ("a ruby", "red"),
    ("a sapphire", "blue"),
    ("a pumpkin", "orange"),
    ("a flamingo", "pink"),
    ("an eggplant", "purple"),
    ("a school bus", "yellow"),
    ("a fire truck", "red"),
    ("a penguin's belly", "white"),
    ("wet sand", "brown"),
)
ANIMALS = [
    "dog",
    "cat",
    "cow",
    "sheep",
    "duck",
    "horse",
    "pig",
    "lion",
    "owl",
    "frog",
    "snake",
    "bee",
    "mouse",
    "goat",
    "chicken",
    "rooster",
    "donkey",
    "wolf",
    "crow",
    "elephant",
    "spider",
    "ant",
    "bird",
    "fish",
    "cricket",
]
WORDS = [
    "apple",
    "river",
    "garden",
    "window",
    "pencil",
    "orange",
    "yellow",
    "thunder",
    "bridge",
    "candle",
    "planet",
    "silver",
    "jacket",
    "monkey",
    "rabbit",
    "blanket",
    "coffee",
    "dinner",
    "forest",
    "island",
    "kitchen",
    "ladder",
    "marble",
    "number",
    "ocean",
    "pepper",
    "question",
    "rocket",
    "summer",
    "ticket",
    "umbrella",
    "violin",
    "water",
    "yogurt",
    "zebra",
    "anchor",
    "basket",
    "circle",
    "doctor",
    "engine",
    "finger",
    "guitar",
    "hammer",
    "insect",
    "jungle",
    "kettle",
    "lemon",
    "mirror",
    "needle",
    "pillow",
    "rainbow",
    "saddle",
    "tunnel",
    "valley",
    "wagon",
]
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _family_questions() -> dict[str, list[str]]:
    fam: dict[str, list[str]] = {}
    fam["add"] = [f"What is {a} plus {b}?" for a in range(2, 41) for b in range(2, 41)]
    fam["subtract"] = [
        f"What is {a} minus {b}?" for a in range(5, 61) for b in range(1, a) if b % 3 == 1
    ]
    fam["multiply"] = [f"What is {a} times {b}?" for a in range(2, 13) for b in range(2, 13)]
    fam["successor"] = [f"What number comes after {n}?" for n in range(1, 300)]
    fam["predecessor"] = [f"What number comes before {n}?" for n in range(2, 300)]
    fam["compare"] = [
        f"Which number is larger, {a} or {b}?"
        for a in range(3, 90, 4)
        for b in range(5, 95, 7)
        if a != b
    ]
    fam["number_word"] = [
        f"How do you write the number {i} in words?" for i in range(len(NUMBER_WORDS))
    ]
    fam["digit"] = [f"Which digit is the number {w}?" for w in NUMBER_WORDS[:10]]
    fam["opposite"] = [f"What is the opposite of {a}?" for a in ADJECTIVES]
    fam["plural"] = [f"What is the plural of {n}?" for n in NOUNS]
    fam["past_tense"] = [f"What is the past tense of {v}?" for v in VERBS]
    fam["colour"] = [f"What color is {thing}?" for thing, _ in COLOURED]
    fam["animal_sound"] = [f"What sound does a {a} make?" for a in ANIMALS]
    fam["animal_legs"] = [f"How many legs does a {a} have?" for a in ANIMALS]
    fam["first_letter"] = [f"What is the first letter of the word {w}?" for w in WORDS]
    fam["last_letter"] = [f"What is the last letter of the word {w}?" for w in WORDS]
    fam["word_length"] = [f"How many letters are in the word {w}?" for w in WORDS]
    fam["next_letter"] = [f"Which letter comes after {c} in the alphabet?" for c in LETTERS[:-1]]
    fam["prev_letter"] = [f"Which letter comes before {c} in the alphabet?" for c in LETTERS[1:]]
    fam["day_after"] = [f"Which day of the week comes after {d}?" for d in DAYS]
    fam["day_before"] = [f"Which day of the week comes before {d}?" for d in DAYS]
    fam["month_after"] = [f"Which month comes after {m}?" for m in MONTHS]
    fam["month_before"] = [f"Which month comes before {m}?" for m in MONTHS]
    fam["month_days"] = [f"How many days does {m} have?" for m in MONTHS]
    fam["month_number"] = [f"What is the number of the month {m}?" for m in MONTHS]
    fam["double"] = [f"What is double {n}?" for n in range(2, 120)]
    fam["half"] = [f"What is half of {n}?" for n in range(2, 240, 2)]
    return fam


def _pool_of(question: str) -> str:
    if question in _CORE:  # the packaged core questions belong to the drift suite
        return "drift"
    digest = hashlib.sha256(question.encode()).digest()
    return "drift" if digest[0] % 2 == 0 else "anchor"


_CORE = frozenset(q.question for q in CORE_QA)


@lru_cache(maxsize=4)
def general_questions(pool: str, per_family: int = 90) -> tuple[str, ...]:
    """The questions of one pool, at most ``per_family`` from each family (so no family
    dominates), in a fixed order. The drift pool also holds every ``CORE_QA`` question."""
    if pool not in ("drift", "anchor"):
        raise ValueError(f"unknown pool {pool!r}; choose drift or anchor")
    out: list[str] = [q for q in sorted(_CORE)] if pool == "drift" else []
    for questions in _family_questions().values():
        mine = [q for q in questions if _pool_of(q) == pool and q not in out]
        step = max(1, len(mine) // per_family)
        out.extend(mine[::step][:per_family])
    return tuple(out)


def family_of(question: str) -> str:
    """The family a packaged question comes from (for per-family drift tables)."""
    for name, questions in _FAMILIES().items():
        if question in questions:
            return name
    return "other"


_FAMILIES: Callable[[], dict[str, set[str]]] = lru_cache(maxsize=1)(
    lambda: {k: set(v) for k, v in _family_questions().items()}
)


__all__ = ["family_of", "general_questions"]
