"""Slots the system extracts from an episode's text when it writes a trace.

Generic, schema-free structure read off the text alone: capitalised name spans, numbers
(and ids that contain digits), and the remaining content words. They give a trace the
``entity_slots`` that the replay scheduler's diversity hash and key hint can use
(``simhash_for_slots`` / ``key_hint_from_slots``) without any generator label.

>>> extract_slots("On Monday morning, Alice left a backpack at Café Lumen.")
{'names': 'Monday|Alice|Café Lumen', 'numbers': '', 'terms': 'morning|left|backpack'}
"""

from __future__ import annotations

import re
from functools import lru_cache

from hei_nw.memory.keyer import STOPWORDS
from hei_nw.utils.text import words

_TOKEN = re.compile(r"[\w'’-]+", re.UNICODE)
# Where a name cannot continue: sentence and clause punctuation followed by a space (so
# "F.C." and "U.S." stay inside), brackets, quotes and line breaks.
_BREAK = re.compile(r"[.,;:!?]+(?:\s|$)|[()\[\]{}\"\n]")
# Lower-case words that may sit inside a name ("Football Federation of Sri Lanka").
_CONNECTORS = frozenset(
    ["of", "de", "la", "le", "du", "von", "van", "der", "da", "del", "di", "and", "the", "y"]
)


def extract_slots(text: str) -> dict[str, str]:
    """``names`` (runs of capitalised words), ``numbers`` (tokens with a digit), ``terms``
    (other content words), each ``|``-joined in text order without duplicates."""
    names: list[str] = []
    numbers: list[str] = []
    terms: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            names.append(" ".join(run))
            run.clear()

    for token in _TOKEN.findall(text):
        word = token.strip("'’-")
        if not word:
            continue
        if any(c.isdigit() for c in word):
            close_run()
            numbers.append(word)
        elif word[0].isupper() and word.lower() not in STOPWORDS:
            run.append(word)
        else:
            close_run()
            if word.lower() not in STOPWORDS and len(word) > 1:
                terms.append(word.lower())
    close_run()
    return {
        "names": "|".join(dict.fromkeys(names)),
        "numbers": "|".join(dict.fromkeys(numbers)),
        "terms": "|".join(dict.fromkeys(terms)),
    }


@lru_cache(maxsize=65536)  # recall reads the same stored texts for many cues
def name_anchors(text: str) -> frozenset[str]:
    """The names a text mentions, as normalised word sequences: maximal runs of
    capitalised words or words with digits ("Fiat 128", "Danielle Darrieux"), joined across
    lower-case connectors ("Football Federation of Sri Lanka"), never across a sentence or
    clause break. Possessives are dropped. Read off the text alone (no labels).

    The relevance test ``recall.scope = "names"`` fires a trace only for a cue that names
    one of the trace's names exactly: "Fiat 70" does not recall "Fiat 128", and "Lotte" does
    not recall "Lotte Hotels & Resorts".

    >>> sorted(name_anchors("He met Wolf Blitzer. George Sluizer's mother tongue is"))
    ['george sluizer', 'wolf blitzer']
    """
    out: set[str] = set()
    for segment in _BREAK.split(text):
        run: list[str] = []
        pending: list[str] = []  # connectors kept only if another name word follows
        for token in _TOKEN.findall(segment):
            word = re.sub(r"['’]s$", "", token.strip("'’-"))
            if not word:
                continue
            if any(c.isdigit() for c in word) or (
                word[0].isupper() and word.lower() not in STOPWORDS
            ):
                run.extend(pending)
                pending.clear()
                run.append(word)
            elif run and word.lower() in _CONNECTORS:
                pending.append(word)
            else:
                out.add(" ".join(words(" ".join(run))))
                run.clear()
                pending.clear()
        out.add(" ".join(words(" ".join(run))))
    out.discard("")
    return frozenset(out)


__all__ = ["extract_slots", "name_anchors"]
