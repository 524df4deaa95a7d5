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

from hei_nw.memory.keyer import STOPWORDS

_TOKEN = re.compile(r"[\w'’-]+", re.UNICODE)


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


__all__ = ["extract_slots"]
