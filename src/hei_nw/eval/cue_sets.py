"""Partial and noisy cue sets, derived from the held-out cue text alone.

Hopfield completion claims to fill in what a partial cue lacks, so it is measured on cues
that lack something. Each set is built from the held-out phrasing of every query item by
rewriting its words, never from the generator's slots or answers:

* ``full``: the held-out cue as asked;
* ``drop30`` / ``drop60``: 30% / 60% of the content words removed (at least one kept);
* ``near_miss``: one detail replaced by a near miss -- a number shifted by one, or a name
  swapped for another that follows the same word in another cue of the set
  (:class:`Vocabulary`). A cue without details gets one content word swapped instead.

Content words are the words outside the keyer's stop-word list. Every choice is drawn
from an RNG seeded by ``(seed, set name, cue text)``, so a cue set is reproducible and
does not depend on the order of the items.

>>> drop_content_words("Whose jacket was left at Quarry Pool on Sunday night?", 0.6, 0)
'Whose was at on Sunday?'
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Sequence

from hei_nw.memory.keyer import STOPWORDS

__all__ = ["CUE_SETS", "Vocabulary", "cue_set", "drop_content_words", "near_miss"]

_TOKEN = re.compile(r"\S+")
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$")


def _rng(seed: int, name: str, text: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}|{name}|{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _split(token: str) -> tuple[str, str, str]:
    """``"Pool?"`` -> ``("", "Pool", "?")``: leading punctuation, core, trailing."""
    m = _CORE.match(token)
    assert m is not None  # the pattern matches every string
    return m.group(1), m.group(2), m.group(3)


def _is_content(core: str) -> bool:
    return bool(core) and any(c.isalnum() for c in core) and core.lower() not in STOPWORDS


def _content_positions(tokens: Sequence[str]) -> list[int]:
    return [i for i, t in enumerate(tokens) if _is_content(_split(t)[1])]


def drop_content_words(cue: str, frac: float, seed: int) -> str:
    """``cue`` with ``round(frac * n)`` of its ``n`` content words removed, one kept at least.

    Trailing punctuation of a removed word moves to the word before it, so a question
    keeps its question mark.
    """
    tokens = _TOKEN.findall(cue)
    content = _content_positions(tokens)
    n_drop = min(round(frac * len(content)), len(content) - 1)
    if n_drop <= 0:
        return cue
    drop = set(_rng(seed, f"drop{frac}", cue).sample(content, n_drop))
    kept: list[str] = []
    for i, tok in enumerate(tokens):
        if i not in drop:
            kept.append(tok)
            continue
        tail = _split(tok)[2]
        if tail and kept:
            lead, core, old_tail = _split(kept[-1])
            kept[-1] = lead + core + (old_tail if old_tail.endswith(tail) else old_tail + tail)
    return " ".join(kept)


def _shape(core: str) -> str:
    if core.isdigit():
        return "digit"
    return "upper" if core[:1].isupper() else "lower"


class Vocabulary:
    """The content words of a cue set, and which word each one follows.

    A near miss for ``"on Wednesday"`` is drawn first from the words that follow ``on``
    in other cues (``Monday``, ``Sunday``), so the swap stays the same kind of detail; the
    words of the same shape are the fallback.
    """

    def __init__(self, cues: Sequence[str]) -> None:
        self.lower: set[str] = set()
        after: dict[str, set[str]] = {}
        words: set[str] = set()
        for cue in cues:
            prev = ""
            for tok in _TOKEN.findall(cue):
                core = _split(tok)[1]
                if _is_content(core) and not any(c.isdigit() for c in core):
                    words.add(core)
                    after.setdefault(prev.lower(), set()).add(core)
                    if core[:1].islower():
                        self.lower.add(core)
                prev = core
        self.words = sorted(words)
        self.after = {k: sorted(v) for k, v in after.items()}

    def is_detail(self, core: str) -> bool:
        """A number-bearing word, or a name: capitalised and never seen in lower case."""
        if any(c.isdigit() for c in core):
            return True
        return core[:1].isupper() and core.lower() not in self.lower

    def swaps(self, core: str, prev: str) -> list[str]:
        """Replacement candidates for ``core`` (which followed ``prev``), best kind first."""

        def ok(w: str) -> bool:
            same = _shape(w) == _shape(core) and self.is_detail(w) == self.is_detail(core)
            return same and w.lower() != core.lower()

        in_context = [w for w in self.after.get(prev.lower(), []) if ok(w)]
        return in_context or [w for w in self.words if ok(w)]


def near_miss(cue: str, vocabulary: Vocabulary, seed: int) -> str:
    """``cue`` with one detail (else one content word) replaced by a near miss.

    A number moves by one (``11`` -> ``12`` or ``10``); a word that carries digits
    (``K-4``) has its last digit run shifted the same way; any other word is swapped for
    another drawn from ``vocabulary`` (see :class:`Vocabulary`). A cue without content
    words, or without a candidate, is returned unchanged.
    """
    tokens = _TOKEN.findall(cue)
    content = _content_positions(tokens)
    if not content:
        return cue
    details = [i for i in content if vocabulary.is_detail(_split(tokens[i])[1])]
    rng = _rng(seed, "near_miss", cue)
    pos = rng.choice(details or content)
    lead, core, tail = _split(tokens[pos])
    digits = list(re.finditer(r"\d+", core))
    if digits:
        last = digits[-1]
        value = int(last.group())
        value = value + 1 if value == 0 or rng.random() < 0.5 else value - 1
        new = core[: last.start()] + str(value) + core[last.end() :]
    else:
        prev = _split(tokens[pos - 1])[1] if pos > 0 else ""
        pool = vocabulary.swaps(core, prev)
        if not pool:
            return cue
        new = rng.choice(pool)
    tokens[pos] = lead + new + tail
    return " ".join(tokens)


def _full(cues: Sequence[str], seed: int) -> list[str]:
    return list(cues)


def _drop(frac: float) -> Callable[[Sequence[str], int], list[str]]:
    def build(cues: Sequence[str], seed: int) -> list[str]:
        return [drop_content_words(c, frac, seed) for c in cues]

    return build


def _near_miss(cues: Sequence[str], seed: int) -> list[str]:
    vocab = Vocabulary(cues)
    return [near_miss(c, vocab, seed) for c in cues]


CUE_SETS: dict[str, Callable[[Sequence[str], int], list[str]]] = {
    "full": _full,
    "drop30": _drop(0.3),
    "drop60": _drop(0.6),
    "near_miss": _near_miss,
}


def cue_set(name: str, cues: Sequence[str], seed: int = 0) -> list[str]:
    """The cue set ``name`` (one of :data:`CUE_SETS`) built from ``cues``."""
    try:
        build = CUE_SETS[name]
    except KeyError:
        raise KeyError(f"unknown cue set {name!r}; choose one of {', '.join(CUE_SETS)}") from None
    return build(cues, seed)
