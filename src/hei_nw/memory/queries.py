"""The served-query log: what the memory answered while in use.

Each entry is a query a user asked, the traces recall brought into the prompt (ids and
the packed notes), and the memory's own answer (the B1 teacher): its token ids and, per answer position, the
teacher's top-k next-token log-probabilities. Consolidation learns from these and from
the stored text -- never from labels. Persisted as JSON lines with the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field


@dataclass
class ServedQuery:
    query: str
    prompt_format: str
    trace_ids: list[str]
    answer: str
    answer_ids: list[int]
    topk_ids: list[list[int]] = field(default_factory=list)  # [n_answer, k]
    topk_logprobs: list[list[float]] = field(default_factory=list)  # [n_answer, k]
    forgotten: bool = False  # a trace it recalled was forgotten: the next consolidation unlearns
    memory_text: str = ""  # the recalled notes that were in the prompt (what recall packed)


class QueryLog:
    def __init__(self, entries: Iterable[ServedQuery] = ()) -> None:
        self.entries: list[ServedQuery] = list(entries)

    def add(self, entry: ServedQuery) -> None:
        self.entries.append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[ServedQuery]:
        return iter(self.entries)

    def for_trace(self, trace_id: str) -> list[ServedQuery]:
        return [e for e in self.entries if e.trace_ids and e.trace_ids[0] == trace_id]

    def mark_forgotten(self, trace_ids: set[str]) -> int:
        """Flag every entry whose top recalled trace is in ``trace_ids``; returns how many."""
        n = 0
        for e in self.entries:
            if e.trace_ids and e.trace_ids[0] in trace_ids and not e.forgotten:
                e.forgotten = True
                n += 1
        return n

    def to_bytes(self) -> bytes:
        return "".join(json.dumps(asdict(e)) + "\n" for e in self.entries).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> QueryLog:
        rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        return cls(ServedQuery(**row) for row in rows)


__all__ = ["QueryLog", "ServedQuery"]
