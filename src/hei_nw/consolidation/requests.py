"""Requests for the ``memit`` method: a served query, the contexts it is asked in, the
index of its key token in each, and the memory's own answer as the target.

The key token is the last token of the last name the query mentions, read off the text
by :func:`hei_nw.memory.slots.name_anchors` (the query's last token when it names
nothing). No gold slot, answer or template is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hei_nw.memory.slots import name_anchors


@dataclass(frozen=True)
class Context:
    """One way of asking a request: token ids and the index of its key token."""

    ids: tuple[int, ...]
    key: int


@dataclass(frozen=True)
class Request:
    """A served query to write: its contexts (the first is the evaluation layout) and the
    teacher's answer tokens."""

    contexts: tuple[Context, ...]
    target_ids: tuple[int, ...]
    trace_id: str | None = None
    named: bool = True  # False: the query names nothing, its last token is the key


def key_char_end(text: str) -> int | None:
    """Character offset just past the last name ``text`` mentions (``None``: no name)."""
    best: int | None = None
    for name in name_anchors(text):
        last = name.split()[-1]
        for m in re.finditer(rf"(?<!\w){re.escape(last)}(?!\w)", text, flags=re.IGNORECASE):
            best = m.end() if best is None else max(best, m.end())
    return best


def _token_at(offsets: Sequence[tuple[int, int]], char_end: int) -> int:
    """Index of the token that holds character ``char_end - 1``."""
    for i, (a, b) in enumerate(offsets):
        if a < char_end <= b:
            return i
    return max(i for i, (a, _) in enumerate(offsets) if a < char_end)


def build_request(
    tokenizer: Any,
    query: str,
    contexts: Sequence[str],
    target_ids: Sequence[int],
    trace_id: str | None = None,
) -> Request:
    """A request from a query asked in ``contexts`` (rendered prompts that each end with the
    query's text, up to a fixed suffix such as ``"\\nAnswer:"``)."""
    rel = key_char_end(query)
    named = rel is not None
    out = []
    for text in contexts:
        start = text.rfind(query)
        if start < 0:
            raise ValueError(f"context does not contain its query {query!r}")
        end = start + (rel if rel is not None else len(query.rstrip()))
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        out.append(Context(tuple(enc["input_ids"]), _token_at(enc["offset_mapping"], end)))
    return Request(tuple(out), tuple(target_ids), trace_id, named)


__all__ = ["Context", "Request", "build_request", "key_char_end"]
