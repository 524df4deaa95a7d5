"""Wall-clock latency per query."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class LatencyTimer:
    """Collects latencies (seconds) of timed blocks and summarises them."""

    samples: list[float] = field(default_factory=list)

    @contextmanager
    def time(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.samples.append(time.perf_counter() - start)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    def summary(self) -> dict[str, float | None]:
        if not self.samples:
            return {"mean_s": None, "p50_s": None, "p95_s": None, "total_s": 0.0}
        ordered = sorted(self.samples)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return {
            "mean_s": statistics.fmean(ordered),
            "p50_s": statistics.median(ordered),
            "p95_s": p95,
            "total_s": sum(ordered),
        }


@contextmanager
def time_block() -> Iterator[list[float]]:
    """``with time_block() as t: ...`` then ``t[0]`` holds the elapsed seconds."""
    out: list[float] = []
    start = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - start)
