"""Word-level text matching shared by recall (scope guard) and scoring (no torch here)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[0-9a-z]+")


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words; ``"Darrieux's"`` -> ``["darrieux"]`` (possessive dropped)."""
    return _WORD.findall(re.sub(r"['\u2019]s\b", "", text.lower()))


def in_scope(cue: str, anchor: str | None) -> bool:
    """Whether ``anchor`` occurs in ``cue`` as a contiguous word sequence, ignoring case,
    punctuation and possessives.

    >>> in_scope("Danielle Darrieux's mother tongue is", "Danielle Darrieux")
    True
    >>> in_scope("BBC One, by", "BBC Radio")
    False
    """
    want = words(anchor or "")
    if not want:
        return False
    have = words(cue)
    n = len(want)
    return any(have[i : i + n] == want for i in range(len(have) - n + 1))


__all__ = ["in_scope", "words"]
