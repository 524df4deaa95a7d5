"""Scenario D -- stress / interference: many near-collision episodes from a tiny vocabulary.

"During shift 3, agent 7 moved crate K-12 to bay 4." Neighbouring episodes differ in a
single token, so a key that blurs details retrieves the wrong one. The vocabulary grows
with ``n`` just enough that every partial cue still has a unique answer.
"""

from __future__ import annotations

import math

from hei_nw.datasets.base import Record, add_noise, finalize, stable_rng
from hei_nw.datasets.slot_stories import SlotWorld, build_stories

NAME = "D"


def world(n: int) -> SlotWorld:
    # Each "drop one slot" view must stay sparse (about 1 in 4 occupied at most) or the
    # uniqueness rule cannot place 2n episodes; agents and bays grow with sqrt(n).
    side = max(12, math.ceil(math.sqrt(8 * n / 6)))
    crates = max(30, math.ceil(n / 3))
    return SlotWorld(
        vocab={
            "who": tuple(f"agent {i}" for i in range(1, side + 1)),
            "what": tuple(f"crate K-{i}" for i in range(1, crates + 1)),
            "where": tuple(f"bay {i}" for i in range(1, side + 5)),
            "when": tuple(f"shift {i}" for i in range(1, 7)),
        },
        episode_templates=(
            "During {when}, {who} moved {what} to {where}.",
            "{who} moved {what} to {where} during {when}.",
        ),
        train_templates={
            "who": (
                "Who moved {what} to {where} during {when}?",
                "During {when}, which agent moved {what} to {where}?",
                "Which agent put {what} in {where} during {when}?",
            ),
            "what": (
                "Which crate did {who} move to {where} during {when}?",
                "During {when}, what did {who} move to {where}?",
                "What crate went to {where} with {who} during {when}?",
            ),
            "where": (
                "Where did {who} move {what} during {when}?",
                "During {when}, to which bay did {who} move {what}?",
                "Which bay did {who} put {what} in during {when}?",
            ),
        },
        eval_templates={
            "who": (
                "{what} was moved to {where} during {when}. By whom?",
                "Name the agent who moved {what} to {where} in {when}.",
            ),
            "what": (
                "{who} moved something to {where} during {when}. Which crate?",
                "Name the crate that {who} moved to {where} in {when}.",
            ),
            "where": (
                "{who} moved {what} during {when}. To which bay?",
                "Name the bay where {who} moved {what} in {when}.",
            ),
        },
    )


def generate(
    n: int,
    seed: int,
    confounders_ratio: float = 1.0,
    filler_ratio: float = 0.1,
    repeat_ratio: float = 0.05,
) -> list[Record]:
    """``n`` near-collision targets, each with hard negatives sharing two core slots."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = stable_rng(NAME, n, seed)
    episodes = build_stories(world(n), rng, n, confounders_ratio, hard_negative=True)
    stream = add_noise(rng, episodes, filler_ratio, repeat_ratio)
    return finalize(NAME, n, seed, stream)
