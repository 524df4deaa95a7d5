"""A sparse conversation stream: at most ~5% of its tokens are worth remembering.

The scenario streams hold 50-60 should-remember episodes per 1k tokens, so the design's
target of 1-5 writes per 1k tokens cannot be tested on them. This stream buries facts in
chatter the way a long chat does:

* **facts** -- scenario target episodes (A: who left what where, C: configuration and
  preferences), ``should_remember=True``. A share carry an explicit "remember this"
  phrase in their text (the gate detects it, nobody hands it a flag) and a share arrive
  with a task reward (the user approved the turn).
* **chatter** -- small talk composed from a grammar of openers, bodies and tails, so the
  lines are varied and not a dozen memorised sentences; some carry a reward too (the user
  liked a joke), a few say "don't forget" about nothing worth storing.
* **repeats** -- verbatim repeats of earlier chatter and of earlier facts (nothing new).

Labels (``should_remember``, ``kind``) score the gate; the gate reads only ``text`` and
``reward``. Deterministic in ``(n_facts, seed, ratio)``.
"""

from __future__ import annotations

import random
from typing import TypedDict

from hei_nw.datasets import get_scenario, query_items
from hei_nw.datasets.base import stable_rng

__all__ = ["StreamTurn", "sparse_stream"]

PIN_PHRASES = ("Remember this: {}", "{} Please remember that.", "Note to self: {}")
FALSE_PINS = (
    "Don't forget to drink some water, haha.",
    "Remember that feeling when Friday finally arrives?",
    "Do not forget to smile today!",
)
OPENERS = ("", "", "", "Honestly, ", "Anyway, ", "Lol ", "Ok so ", "Hmm, ", "Well, ", "Btw ")
BODIES = (
    "I think {topic} is kind of {adj} lately.",
    "did you see {topic} last night?",
    "we should grab {food} at some point.",
    "my {relative} keeps talking about {topic}.",
    "that {thing} was so {adj}.",
    "I can't believe how {adj} the {thing} was.",
    "what do you think about {topic}?",
    "I'm so tired, {excuse}.",
    "I could really go for some {food} right now.",
    "the {thing} at work is {adj} again.",
    "not sure, maybe {topic} will be {adj} tomorrow.",
    "my {relative} sent me a {adj} video about {topic}.",
    "I was going to {activity} but {excuse}.",
    "thinking about {activity} this weekend.",
    "{topic} is all anyone talks about.",
    "nothing much, just {activity}.",
    "have you ever tried {food} with {food2}?",
    "it's {adj} how fast this week went.",
)
# A tail ending in punctuation replaces the body's last mark; one without is put before it.
TAILS = ("", "", "", " haha", ", right?", ", you know?", " :)", " lol", ", anyway.")
FILLS = {
    "topic": (
        "the game",
        "the weather",
        "that new show",
        "the traffic",
        "the news",
        "the election",
        "the concert",
        "that movie",
        "the match",
        "the podcast",
        "the neighbours",
        "the office party",
    ),
    "adj": (
        "weird",
        "great",
        "boring",
        "funny",
        "annoying",
        "wild",
        "nice",
        "strange",
        "crazy",
        "lovely",
        "awful",
        "amazing",
    ),
    "food": ("pizza", "tacos", "sushi", "ramen", "pancakes", "ice cream", "curry", "salad"),
    "food2": ("cheese", "hot sauce", "honey", "lime", "garlic", "chocolate"),
    "relative": ("mom", "brother", "sister", "cousin", "dad", "roommate", "aunt", "neighbour"),
    "thing": ("meeting", "coffee", "printer", "lecture", "bus ride", "wifi", "lunch", "gym"),
    "excuse": (
        "the wifi was down",
        "it started raining",
        "I overslept",
        "work ran late",
        "my phone died",
        "I forgot",
    ),
    "activity": (
        "going for a run",
        "cleaning the flat",
        "watching something",
        "baking bread",
        "reading",
        "playing guitar",
        "visiting friends",
    ),
}


class StreamTurn(TypedDict):
    text: str
    reward: float  # a task reward the caller would have (user approval); 0 when none
    kind: str  # "fact", "chatter", "fact_repeat", "chatter_repeat" (scoring only)
    should_remember: bool  # scoring only


def _chatter(rng: random.Random) -> str:
    body = rng.choice(BODIES)
    fills = {k: rng.choice(v) for k, v in FILLS.items()}
    text = rng.choice(OPENERS) + body.format(**fills)
    text = text[:1].upper() + text[1:]
    tail = rng.choice(TAILS)
    if not tail:
        return text
    return text[:-1] + tail if tail[-1] in ".?)" else text[:-1] + tail + text[-1]


def sparse_stream(
    n_facts: int,
    seed: int,
    chatter_per_fact: int = 30,
    scenarios: tuple[str, ...] = ("A", "C"),
    pin_share: float = 0.2,
    reward_share: float = 0.3,
    chatter_reward_share: float = 0.03,
    false_pin_share: float = 0.005,
    repeat_share: float = 0.15,
) -> list[StreamTurn]:
    """``n_facts`` facts buried in about ``chatter_per_fact`` chatter turns each.

    With facts of ~13 tokens and chatter of ~11, 30 chatter turns per fact puts about 4%
    of the tokens in facts. ``repeat_share`` of the non-fact turns repeat an earlier turn
    verbatim (mostly chatter, a fifth of them earlier facts).
    """
    if n_facts < 1 or chatter_per_fact < 1:
        raise ValueError("sparse_stream: n_facts and chatter_per_fact must be positive")
    rng = stable_rng("sparse", n_facts, seed, f"{chatter_per_fact}|{','.join(scenarios)}")
    per = -(-n_facts // len(scenarios))
    facts = [
        r["episode_text"]
        for s in scenarios
        for r in query_items(get_scenario(s).generate(per, seed))
    ]
    rng.shuffle(facts)
    facts = facts[:n_facts]
    turns: list[StreamTurn] = []
    said_facts: list[str] = []
    said_chatter: list[str] = []
    for fact in facts:
        for _ in range(rng.randint(chatter_per_fact // 2, chatter_per_fact * 3 // 2)):
            roll = rng.random()
            if roll < repeat_share and said_chatter:
                if said_facts and rng.random() < 0.2:
                    text, kind = rng.choice(said_facts), "fact_repeat"
                else:
                    text, kind = rng.choice(said_chatter), "chatter_repeat"
            elif roll < repeat_share + false_pin_share:
                text, kind = rng.choice(FALSE_PINS), "chatter"
            else:
                text, kind = _chatter(rng), "chatter"
            if kind == "chatter":
                said_chatter.append(text)
            reward = 1.0 if kind == "chatter" and rng.random() < chatter_reward_share else 0.0
            turns.append(StreamTurn(text=text, reward=reward, kind=kind, should_remember=False))
        text = rng.choice(PIN_PHRASES).format(fact) if rng.random() < pin_share else fact
        reward = 1.0 if rng.random() < reward_share else 0.0
        said_facts.append(text)
        turns.append(StreamTurn(text=text, reward=reward, kind="fact", should_remember=True))
    return turns
