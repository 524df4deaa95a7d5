"""Eviction / decay: TTL, age- and use-weighted score, SimHash diversity guard, capacity.

Pinned traces are never evicted, whatever their age or score.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hei_nw.memory.config import EvictionConfig
from hei_nw.memory.traces import Trace

DAY_S = 86_400.0


def simhash64(tokens: Sequence[str]) -> int:
    """64-bit SimHash of a token multiset (near-duplicates share most bits)."""
    acc = [0] * 64
    for tok in tokens:
        h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            acc[bit] += 1 if (h >> bit) & 1 else -1
    return sum(1 << bit for bit in range(64) if acc[bit] > 0)


def trace_bucket(trace: Trace, bits: int = 16, key_units: Sequence[int] | None = None) -> int:
    """Diversity bucket: top ``bits`` of a SimHash.

    With ``key_units`` (the active units of the trace's stored DG key, which the store
    passes) the hash is over those units, so traces the memory itself cannot tell apart
    share a bucket. Without them it falls back to the trace's slots, then its pointer."""
    if key_units is not None and len(key_units):
        tokens = [f"u{int(u)}" for u in key_units]
    else:
        slots = trace["entity_slots"]
        tokens = [f"{k}={v}" for k, v in sorted(slots.items())]
        tokens = tokens or [trace["tokens_span_ref"]["doc"]]
    return simhash64(tokens) >> (64 - bits)


@dataclass(frozen=True)
class EvictionPolicy:
    ttl_days: float = 30.0
    capacity: int | None = None
    age_weight: float = 1.0
    use_weight: float = 0.5
    salience_weight: float = 1.0
    diversity_bits: int = 16

    @classmethod
    def from_config(cls, config: EvictionConfig) -> EvictionPolicy:
        return cls(
            ttl_days=config.ttl_days,
            capacity=config.capacity,
            age_weight=config.age_weight,
            use_weight=config.use_weight,
            salience_weight=config.salience_weight,
            diversity_bits=config.diversity_bits,
        )

    def score(self, trace: Trace, now: float) -> float:
        """Keep-worthiness: salient, recently used, often used traces score high."""
        age_days = max(0.0, now - trace["last_access"]) / DAY_S
        return (
            self.salience_weight * float(trace["salience_tags"]["S"])
            + self.use_weight * math.log1p(trace["access_count"])
            - self.age_weight * age_days / max(self.ttl_days, 1e-9)
        )

    def select(
        self,
        traces: Sequence[Trace],
        now: float,
        key_units: Mapping[str, Sequence[int]] | None = None,
    ) -> list[str]:
        """Trace ids to evict: expired ones, then the lowest-scoring beyond capacity.

        ``key_units`` maps trace id -> active units of its stored key (diversity buckets);
        :meth:`AssociativeStore.decay` passes them."""
        pinned = {t["trace_id"] for t in traces if t["salience_tags"]["pin"]}
        expired = [
            t["trace_id"]
            for t in traces
            if t["trace_id"] not in pinned and now - t["last_access"] > self.ttl_days * DAY_S
        ]
        survivors = [t for t in traces if t["trace_id"] not in set(expired)]
        excess = len(survivors) - self.capacity if self.capacity is not None else 0
        if excess <= 0:
            return expired
        units = key_units or {}
        bucket = {
            t["trace_id"]: trace_bucket(t, self.diversity_bits, units.get(t["trace_id"]))
            for t in survivors
        }
        crowd = Counter(bucket.values())
        # Diversity guard: evict from crowded buckets first, lowest score first.
        candidates = sorted(
            (t for t in survivors if t["trace_id"] not in pinned),
            key=lambda t: (crowd[bucket[t["trace_id"]]] == 1, self.score(t, now)),
        )
        return expired + [t["trace_id"] for t in candidates[:excess]]
