"""The consolidation interface of the memory, and its registry of methods.

``EpisodicMemory.consolidate()`` looks its method up here by name
(``MemoryConfig.consolidation.method``). Methods live in :mod:`hei_nw.consolidation`,
a layer above the memory, and register themselves when that package is imported; the
memory imports it by module name (``ConsolidationConfig.plugin``) the first time a
method is asked for, as a plugin registry does.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Consolidator = Callable[..., "ConsolidationReport"]

CONSOLIDATORS: dict[str, Consolidator] = {}
PLUGIN = "hei_nw.consolidation"


@dataclass
class ConsolidationReport:
    """What one ``consolidate()`` call did, with its throughput (a benchmark record)."""

    method: str
    items: int  # traces consolidated
    rows: dict[str, int]  # training rows by kind
    steps: int
    tokens: int
    seconds: float
    peak_memory_mb: float
    adapter: str | None
    curve: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def seconds_per_fact(self) -> float:
        return self.seconds / self.items if self.items else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "items": self.items,
            "rows": dict(self.rows),
            "steps": self.steps,
            "tokens": self.tokens,
            "seconds": self.seconds,
            "tokens_per_s": self.tokens_per_s,
            "seconds_per_fact": self.seconds_per_fact,
            "peak_memory_mb": self.peak_memory_mb,
            "adapter": self.adapter,
            "curve": list(self.curve),
            **self.extra,
        }


def register_consolidator(name: str) -> Callable[[Consolidator], Consolidator]:
    def wrap(fn: Consolidator) -> Consolidator:
        CONSOLIDATORS[name] = fn
        return fn

    return wrap


def get_consolidator(name: str) -> Consolidator:
    if name not in CONSOLIDATORS:
        importlib.import_module(PLUGIN)
    try:
        return CONSOLIDATORS[name]
    except KeyError:
        known = ", ".join(sorted(CONSOLIDATORS)) or "none registered"
        raise ValueError(f"unknown consolidation method {name!r}; known: {known}") from None


__all__ = [
    "CONSOLIDATORS",
    "ConsolidationReport",
    "Consolidator",
    "get_consolidator",
    "register_consolidator",
]
