"""Scenario E -- long-context control: a fact buried in a chatty session.

Each target is a session of chit-chat lines with one fact in it ("The access code for
the Atlas vault is 4471."). It can be answered by pasting the whole history into the
prompt (the long-context baseline) or by recalling the one fact; the report compares
quality against compute.
"""

from __future__ import annotations

import random

from hei_nw.datasets.base import CHIT_CHAT, Record, add_noise, finalize, stable_rng
from hei_nw.datasets.facts import FactTemplate, build_fact_episodes

NAME = "E"

_NAMES = (
    "Atlas",
    "Borealis",
    "Cobalt",
    "Delta",
    "Echo",
    "Falcon",
    "Gemini",
    "Helios",
    "Indigo",
    "Juno",
    "Kepler",
    "Lynx",
    "Mercury",
    "Nimbus",
    "Orion",
    "Phoenix",
    "Quasar",
    "Raven",
    "Sierra",
    "Titan",
)
_ROOMS = ("vault", "lab", "archive", "hangar", "server room", "workshop", "storeroom")
PROJECTS = tuple(f"{a} {b}" for a in _NAMES for b in _ROOMS) + tuple(
    f"{a} {b} on level {k}" for k in range(1, 41) for a in _NAMES for b in _ROOMS
)


def _code(rng: random.Random, subject: str) -> str:
    return str(rng.randrange(1000, 9999))


TEMPLATES = (
    FactTemplate(
        relation="access_code",
        statements=(
            "The access code for the {subject} is {value}.",
            "Remember: the {subject} opens with code {value}.",
        ),
        train_templates=(
            "What is the access code for the {subject}?",
            "Which code opens the {subject}?",
            "Tell me the {subject} access code.",
        ),
        eval_templates=(
            "I'm at the {subject} door. What code do I type?",
            "The {subject} needs a code. Which one?",
        ),
        subjects=PROJECTS,
        values=_code,
        preferred=PROJECTS[: len(_NAMES) * len(_ROOMS)],
    ),
)


def _sessionize(rng: random.Random, text: str, lines: int) -> str:
    """Bury ``text`` among ``lines`` chit-chat lines, as one session transcript."""
    chatter = [rng.choice(CHIT_CHAT) for _ in range(lines)]
    chatter.insert(rng.randrange(lines + 1), text)
    return " ".join(chatter)


def generate(
    n: int,
    seed: int,
    session_lines: int = 4,
    filler_ratio: float = 0.25,
    repeat_ratio: float = 0.0,
) -> list[Record]:
    """``n`` sessions, each holding one fact among ``session_lines`` chit-chat lines."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = stable_rng(NAME, n, seed)
    episodes = build_fact_episodes(rng, TEMPLATES, n, confounders_ratio=0.0)
    for ep in episodes:
        ep["context"] = _sessionize(rng, ep["episode_text"], session_lines)
    stream = add_noise(rng, episodes, filler_ratio, repeat_ratio)
    return finalize(NAME, n, seed, stream)
