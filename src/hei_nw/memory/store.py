"""Associative store: faiss HNSW over sparse DG keys + Hopfield completion + traces.

On disk (``path/``)::

    CURRENT                 manifest (JSON): format, spec, generation, sha256 of each file
    gen-000007/keys.faiss   HNSW index over the dense form of the keys
    gen-000007/keys.npz     sparse keys (indices int32 [n,k], values float32 [n,k])
    gen-000007/traces.jsonl pointer-only trace values, one per line
    gen-000007/<sidecar>    files the owner saves with the store (the memory's documents,
                            its served-query log), checksummed like the rest

``save()`` writes a whole new generation folder, then atomically replaces ``CURRENT``;
a crash at any point leaves the previous generation intact and loadable. Deleted traces
are tombstoned (HNSW cannot remove) and dropped when the store is compacted on save.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from hei_nw.memory.hopfield import HopfieldCompletion
from hei_nw.memory.keyer import SparseKeys
from hei_nw.memory.traces import Trace
from hei_nw.utils.io import atomic_write_text

logger = logging.getLogger(__name__)

STORE_FORMAT = "hei_nw.store/1"
FILES = ("keys.faiss", "keys.npz", "traces.jsonl")


class StoreError(RuntimeError):
    """The store on disk is missing, corrupt, foreign, or does not match the keys."""


@dataclass(frozen=True)
class IndexSpec:
    """What a store on disk is: key geometry, HNSW parameters, and the keyer's fingerprint."""

    d: int = 2048
    k: int = 64
    hnsw_m: int = 32
    ef_construction: int = 200
    ef_search: int = 64
    candidates: int = 64
    keyer: str = ""  # the keyer's fingerprint (DGKeyer.fingerprint); "" = not recorded


@dataclass
class Hit:
    trace: Trace
    score: float
    ann_score: float


@dataclass
class LookupResult:
    hits: list[Hit]
    candidate_ids: list[str]
    ann_ids: list[str]
    timings: dict[str, float] = field(default_factory=dict)


class AssociativeStore:
    """Write, look up, delete and decay pointer-only traces keyed by sparse DG keys."""

    def __init__(
        self,
        config: IndexSpec | None = None,
        hopfield: HopfieldCompletion | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.config = config or IndexSpec()
        self.hopfield = hopfield or HopfieldCompletion()
        self.path = Path(path) if path is not None else None
        self.index = self._new_index()
        self.indices = np.zeros((0, self.config.k), dtype=np.int32)
        self.values = np.zeros((0, self.config.k), dtype=np.float32)
        self.traces: list[Trace] = []
        self.slot_of: dict[str, int] = {}
        self.dead: set[int] = set()
        self.generation = 0
        self.sidecars: dict[str, bytes] = {}  # saved and checksummed with each generation
        self.clock: Callable[[], float] = time.time  # use timestamps (injectable for replays)
        self._owner: Any = None

    # ----------------------------------------------------------------- writes
    def _new_index(self) -> faiss.Index:
        index = faiss.IndexHNSWFlat(self.config.d, self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.config.ef_construction
        index.hnsw.efSearch = self.config.ef_search
        return index

    def _check_keys(self, keys: SparseKeys) -> None:
        if keys.d != self.config.d or keys.k != self.config.k:
            raise StoreError(
                f"key shape d={keys.d}, k={keys.k} does not match the store's d={self.config.d}, "
                f"k={self.config.k}; use the keyer the store was built with"
            )

    def write(self, keys: SparseKeys, traces: Sequence[Trace]) -> list[str]:
        """Add traces with their keys in one index call (a trace id already present is replaced)."""
        self._check_keys(keys)
        if len(keys) != len(traces):
            raise ValueError(f"{len(keys)} keys for {len(traces)} traces")
        for trace in traces:
            if trace["trace_id"] in self.slot_of:
                self.delete(trace["trace_id"])
        start = len(self.traces)
        self.index.add(keys.dense())
        self.indices = np.concatenate([self.indices, keys.indices])
        self.values = np.concatenate([self.values, keys.values])
        for offset, trace in enumerate(traces):
            self.traces.append(trace)
            self.slot_of[trace["trace_id"]] = start + offset
        return [t["trace_id"] for t in traces]

    def delete(self, trace_id: str) -> bool:
        slot = self.slot_of.pop(trace_id, None)
        if slot is None:
            return False
        self.dead.add(slot)
        return True

    def decay(self, policy: Any, now: float | None = None) -> list[str]:
        """Evict what ``policy`` (an :class:`~hei_nw.memory.eviction.EvictionPolicy`) selects."""
        live = self.live_traces()
        units = {t["trace_id"]: self.indices[self.slot_of[t["trace_id"]]].tolist() for t in live}
        victims = policy.select(live, now if now is not None else self.clock(), units)
        for trace_id in victims:
            self.delete(trace_id)
        return victims

    # ---------------------------------------------------------------- lookups
    def __len__(self) -> int:
        return len(self.slot_of)

    def live_traces(self) -> list[Trace]:
        return [self.traces[s] for s in sorted(self.slot_of.values())]

    def get(self, trace_id: str) -> Trace:
        return self.traces[self.slot_of[trace_id]]

    def key_of(self, trace_id: str) -> SparseKeys:
        slot = self.slot_of[trace_id]
        return SparseKeys(
            self.indices[slot : slot + 1], self.values[slot : slot + 1], self.config.d
        )

    def _search(self, dense: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        # Over-fetch to make up for tombstoned rows, then drop them.
        want = min(len(self.traces), n + len(self.dead))
        if want == 0:
            empty = np.zeros((len(dense), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        scores, slots = self.index.search(np.ascontiguousarray(dense, dtype=np.float32), want)
        return slots, scores

    def max_similarity(self, keys: SparseKeys) -> np.ndarray:
        """Cosine of each key to its nearest live stored key (0 for an empty store)."""
        self._check_keys(keys)
        slots, scores = self._search(keys.dense(), 1)
        out = np.zeros(len(keys), dtype=np.float32)
        for i, (row_s, row_v) in enumerate(zip(slots, scores, strict=True)):
            live = [v for s, v in zip(row_s, row_v, strict=True) if s >= 0 and s not in self.dead]
            out[i] = max(0.0, float(live[0])) if live else 0.0
        return out

    def lookup(
        self, cue: SparseKeys, top_m: int = 4, use_hopfield: bool = True
    ) -> list[LookupResult]:
        """ANN top-Kc candidates per cue, Hopfield re-rank, best ``top_m`` traces."""
        self._check_keys(cue)
        dense = cue.dense()
        t0 = time.perf_counter()
        slots, scores = self._search(dense, self.config.candidates)
        t_ann = (time.perf_counter() - t0) / max(1, len(cue))
        return [
            self._rank(dense[i], slots[i], scores[i], top_m, use_hopfield, t_ann)
            for i in range(len(cue))
        ]

    def _rank(
        self,
        q: np.ndarray,
        slots: np.ndarray,
        scores: np.ndarray,
        top_m: int,
        use_hopfield: bool,
        t_ann: float,
    ) -> LookupResult:
        keep = [
            (int(s), float(v))
            for s, v in zip(slots, scores, strict=True)
            if s >= 0 and s not in self.dead
        ]
        keep = keep[: self.config.candidates]
        cand = [s for s, _ in keep]
        ann_score = dict(keep)
        t0 = time.perf_counter()
        if use_hopfield and cand:
            patterns = self._dense_rows(cand)  # [c, d]
            order, new_scores = self.hopfield.rerank(patterns, q)
            ranked = [(cand[j], float(sc)) for j, sc in zip(order, new_scores, strict=True)]
        else:
            ranked = keep
        t_hop = time.perf_counter() - t0
        hits = [Hit(self.traces[s], sc, ann_score[s]) for s, sc in ranked[:top_m]]
        return LookupResult(
            hits=hits,
            candidate_ids=[self.traces[s]["trace_id"] for s, _ in ranked],
            ann_ids=[self.traces[s]["trace_id"] for s in cand],
            timings={"ann_s": t_ann, "hopfield_s": t_hop},
        )

    def _dense_rows(self, slots: Sequence[int]) -> np.ndarray:
        rows = np.asarray(slots)
        return SparseKeys(self.indices[rows], self.values[rows], self.config.d).dense()

    def touch(self, trace_ids: Sequence[str], now: float | None = None) -> None:
        """Record uses (for use-weighted eviction)."""
        stamp = now if now is not None else self.clock()
        for tid in trace_ids:
            trace = self.traces[self.slot_of[tid]]
            trace["access_count"] += 1
            trace["last_access"] = stamp

    def bytes_per_key(self) -> dict[str, float]:
        """Memory per stored key: HNSW dense vectors + links, and the sparse form."""
        n = max(1, len(self.traces))
        dense = self.config.d * 4
        links = self.config.hnsw_m * 2 * 4  # level-0 neighbour ids
        sparse = self.config.k * (4 + 4)
        return {"hnsw_dense": float(dense + links), "sparse_key": float(sparse), "n": float(n)}

    # ------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write a new generation and switch ``CURRENT`` to it atomically."""
        root = Path(path) if path is not None else self.path
        if root is None:
            raise StoreError("no store path: pass --store.path or save(path)")
        check_store_path(root)
        self._compact()
        root.mkdir(parents=True, exist_ok=True)
        self.generation += 1
        gen_name = f"gen-{self.generation:06d}"
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{gen_name}."))
        try:
            faiss.write_index(self.index, str(staging / "keys.faiss"))
            np.savez(staging / "keys.npz", indices=self.indices, values=self.values)
            with open(staging / "traces.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(t) + "\n" for t in self.traces)
            for name, data in self.sidecars.items():
                (staging / name).write_bytes(data)
            for name in (*FILES, *self.sidecars):
                _fsync(staging / name)
            # A crash after this rename but before CURRENT moved can leave gen_name on disk,
            # unreferenced by CURRENT: it is garbage, so it is cleared before reuse.
            shutil.rmtree(root / gen_name, ignore_errors=True)
            os.replace(staging, root / gen_name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        manifest = {
            "format": STORE_FORMAT,
            "generation": gen_name,
            "config": asdict(self.config),
            "hopfield": asdict(self.hopfield),
            "count": len(self.traces),
            "sha256": {name: _sha256(root / gen_name / name) for name in (*FILES, *self.sidecars)},
        }
        _atomic_json(root / "CURRENT", manifest)
        for old in [*root.glob("gen-*"), *root.glob(".gen-*")]:
            if old.name != gen_name and old != staging:
                shutil.rmtree(old, ignore_errors=True)
        for stale in root.glob(".CURRENT.*.tmp"):  # a manifest write a kill cut short
            stale.unlink(missing_ok=True)
        self.path = root
        return root

    def _compact(self) -> None:
        """Rebuild without tombstoned rows (HNSW cannot delete in place)."""
        if not self.dead:
            return
        live = sorted(self.slot_of.values())
        keys = SparseKeys(self.indices[live], self.values[live], self.config.d)
        traces = [self.traces[s] for s in live]
        self.index = self._new_index()
        self.indices = np.zeros((0, self.config.k), dtype=np.int32)
        self.values = np.zeros((0, self.config.k), dtype=np.float32)
        self.traces, self.slot_of, self.dead = [], {}, set()
        if traces:
            self.write(keys, traces)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> AssociativeStore:
        """Load the current generation; any inconsistency raises :class:`StoreError`."""
        root = Path(path)
        manifest = _read_manifest(root)
        gen = root / str(manifest["generation"])
        names = list(manifest.get("sha256", {}))
        for name in (*FILES, *[n for n in names if n not in FILES]):
            file = gen / name
            if not file.is_file():
                raise StoreError(f"store {root}: {file.name} is missing; the store is corrupt")
            if _sha256(file) != manifest["sha256"].get(name):
                raise StoreError(
                    f"store {root}: {name} does not match its checksum; the store is corrupt"
                )
        store = cls(
            IndexSpec(**manifest["config"]), HopfieldCompletion(**manifest["hopfield"]), root
        )
        store.sidecars = {n: (gen / n).read_bytes() for n in names if n not in FILES}
        store.generation = int(str(manifest["generation"]).split("-")[-1])
        raw = faiss.read_index(str(gen / "keys.faiss"))
        # downcast gives a typed view that does not own the C++ object: keep ``raw`` alive.
        store._owner = raw
        index: Any = faiss.downcast_index(raw)
        index.hnsw.efSearch = store.config.ef_search
        store.index = index
        arrays = np.load(gen / "keys.npz")
        store.indices, store.values = arrays["indices"], arrays["values"]
        with open(gen / "traces.jsonl", encoding="utf-8") as fh:
            store.traces = [json.loads(line) for line in fh if line.strip()]
        store.slot_of = {t["trace_id"]: i for i, t in enumerate(store.traces)}
        if not (len(store.traces) == store.index.ntotal == len(store.indices) == manifest["count"]):
            raise StoreError(
                f"store {root}: keys and traces disagree in count; the store is corrupt"
            )
        return store


def check_store_path(root: Path) -> None:
    """A store path must be a folder (or not exist yet); a file there is refused early."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root} is a file, not a store folder; pass a folder path")


def _read_manifest(root: Path) -> dict[str, Any]:
    check_store_path(root)
    current = root / "CURRENT"
    if not current.is_file():
        raise StoreError(
            f"no store at {root} (CURRENT is missing); write one first or fix --store.path"
        )
    try:
        manifest = json.loads(current.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"store {root}: CURRENT is not valid JSON; the store is corrupt") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
        raise StoreError(f"{root} is not a {STORE_FORMAT} store (foreign or newer format)")
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _atomic_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2))
