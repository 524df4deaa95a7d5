"""Document sources: where the text behind a pointer-only trace lives.

The store keeps pointers (``doc``, ``start``, ``end``), never text. A
:class:`DocumentStore` is the memory's own text store: it is saved with the store's
generation (same atomic switch), so a reopened memory can still pack what it recalls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Protocol


class DocumentSource(Protocol):
    """Resolves a pointer to text (the store itself never keeps the text)."""

    def text(self, doc: str, start: int, end: int) -> str: ...


class DocumentStore:
    """Document id -> text, persisted as JSON lines (``{"doc": ..., "text": ...}``)."""

    def __init__(self, docs: dict[str, str] | None = None) -> None:
        self.docs: dict[str, str] = dict(docs or {})

    def add(self, doc: str, text: str) -> None:
        self.docs[doc] = text

    def remove(self, doc: str) -> None:
        self.docs.pop(doc, None)

    def text(self, doc: str, start: int, end: int) -> str:
        try:
            return self.docs[doc][start:end]
        except KeyError:
            raise KeyError(f"document {doc!r} is not in this store") from None

    def __contains__(self, doc: object) -> bool:
        return doc in self.docs

    def __len__(self) -> int:
        return len(self.docs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.docs)

    def to_bytes(self) -> bytes:
        return "".join(
            json.dumps({"doc": d, "text": t}, ensure_ascii=False) + "\n"
            for d, t in self.docs.items()
        ).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> DocumentStore:
        out = cls()
        for line in data.decode("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out.docs[str(row["doc"])] = str(row["text"])
        return out


# The name library users of earlier releases know.
InMemoryDocuments = DocumentStore

__all__ = ["DocumentSource", "DocumentStore", "InMemoryDocuments"]
