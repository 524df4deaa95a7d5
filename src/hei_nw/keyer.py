"""DG keyer: schema-agnostic sparse keys (k-winners-take-all) from the text alone.

A key is ``k`` active units out of ``d`` (defaults 64 of 2048), built from two blocks:

* **lexical** (``d - d_sem`` units, ``k - k_sem`` winners): every content word drives a
  fixed random assembly of ``assembly`` units (a hash of the word picks them, as in the
  fly olfactory circuit); the summed drive goes through k-WTA. Words are weighted by
  their surprisal under the base LM when a scorer is given (rare names and numbers
  count more than "port" or "account"), else uniformly.
* **semantic** (``d_sem`` units, ``k_sem`` winners): a sentence vector (the base LM's
  mean hidden state, or any encoder) through a fixed random projection, then k-WTA.
  This carries paraphrase ("seat of government" ~ "capital").

Nothing here reads labels, slots or answers: the same code keys an episode and a cue.
Keys are stored sparse (indices + L1-normalised values); ``dense()`` gives the
L2-normalised ``[n, d]`` form for cosine search.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "at",
        "on",
        "in",
        "of",
        "to",
        "for",
        "by",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "how",
        "did",
        "does",
        "do",
        "done",
        "someone",
        "something",
        "somewhere",
        "somebody",
        "anyone",
        "me",
        "i",
        "my",
        "mine",
        "you",
        "your",
        "yours",
        "we",
        "our",
        "they",
        "their",
        "them",
        "he",
        "she",
        "his",
        "her",
        "him",
        "s",
        "please",
        "tell",
        "name",
        "give",
        "look",
        "up",
        "now",
        "then",
        "there",
        "here",
        "have",
        "has",
        "had",
        "will",
        "would",
        "should",
        "could",
        "can",
        "may",
        "might",
        "just",
        "also",
        "only",
        "very",
        "so",
        "as",
        "from",
    ]
)
WORD = re.compile(r"\w+")

TextVectorizer = Callable[[Sequence[str]], np.ndarray]
WordWeights = Callable[[Sequence[str]], Sequence[float]]


@dataclass(frozen=True)
class KeyerConfig:
    """Key geometry, chosen on scenario streams with seed 11 (not the seed-7 streams the
    reports use), retrieval only. With 8 units per word, the 48 lexical winners held ~6
    words, so k-WTA kept the words the LM finds rare ("crate", "shift") and dropped the
    numbers that tell scenario-D episodes apart (P@1 0.08); 3 units per word keep ~11
    words in 32 winners. 32 semantic winners (was 24) let the projected sentence vector
    separate near-identical names on B: seed-11 P@1 A 0.99, B 0.96, C 0.93, D 0.61
    (24 winners: 0.99 / 0.92 / 0.93 / 0.62)."""

    d: int = 2048
    k: int = 64
    d_sem: int = 512
    k_sem: int = 32
    assembly: int = 3
    sem_weight: float = 0.4
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.k < self.d:
            raise ValueError(f"need 0 < k < d, got k={self.k}, d={self.d}")
        if not (0 <= self.k_sem < self.k and 0 <= self.d_sem < self.d):
            raise ValueError("semantic block must be smaller than the key")
        if self.assembly > self.d - self.d_sem:
            raise ValueError("assembly larger than the lexical block")


@dataclass(frozen=True)
class SparseKeys:
    """``n`` sparse keys: ``indices``/``values`` of shape ``[n, k]`` over ``d`` units."""

    indices: np.ndarray
    values: np.ndarray
    d: int

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    def dense(self) -> np.ndarray:
        """``[n, d]`` float32, rows L2-normalised (inner product = cosine)."""
        out = np.zeros((len(self), self.d), dtype=np.float32)
        np.put_along_axis(
            out, self.indices.astype(np.int64), self.values.astype(np.float32), axis=1
        )
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def __getitem__(self, rows: slice | Sequence[int]) -> SparseKeys:
        sel = rows if isinstance(rows, slice) else np.asarray(rows)
        return SparseKeys(self.indices[sel], self.values[sel], self.d)


def content_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def kwta(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` units of each row of ``x`` ``[n, m]`` by magnitude: (indices, values)."""
    idx = np.argpartition(-np.abs(x), k - 1, axis=1)[:, :k]
    idx.sort(axis=1)
    return idx.astype(np.int32), np.take_along_axis(x, idx, axis=1)


class DGKeyer:
    """Text -> sparse DG keys. ``vectorizer`` feeds the semantic block, ``word_weights`` the lexical."""

    def __init__(
        self,
        config: KeyerConfig | None = None,
        vectorizer: TextVectorizer | None = None,
        word_weights: WordWeights | None = None,
    ) -> None:
        self.config = config or KeyerConfig()
        self.vectorizer = vectorizer
        self.word_weights = word_weights
        self._assemblies: dict[str, np.ndarray] = {}
        self._projection: np.ndarray | None = None

    @property
    def d_lex(self) -> int:
        return self.config.d - (self.config.d_sem if self.vectorizer else 0)

    @property
    def k_lex(self) -> int:
        return self.config.k - (self.config.k_sem if self.vectorizer else 0)

    def _assembly(self, word: str) -> np.ndarray:
        units = self._assemblies.get(word)
        if units is None:
            digest = hashlib.blake2b(f"{self.config.seed}:{word}".encode(), digest_size=8).digest()
            rng = np.random.default_rng(int.from_bytes(digest, "little"))
            units = rng.choice(self.d_lex, self.config.assembly, replace=False)
            self._assemblies[word] = units
        return units

    def lexical_drive(self, texts: Sequence[str]) -> np.ndarray:
        """``[n, d_lex]`` summed word assemblies (weighted)."""
        out = np.zeros((len(texts), self.d_lex), dtype=np.float32)
        for row, text in enumerate(texts):
            words = content_words(text) or WORD.findall(text.lower())
            weights = self.word_weights(words) if self.word_weights else [1.0] * len(words)
            for word, weight in zip(words, weights, strict=True):
                out[row, self._assembly(word)] += weight
        return out

    def _project(self, vectors: np.ndarray) -> np.ndarray:
        if self._projection is None or self._projection.shape[0] != vectors.shape[1]:
            rng = np.random.default_rng(self.config.seed + 1)
            self._projection = rng.standard_normal((vectors.shape[1], self.config.d_sem)).astype(
                np.float32
            )
        return vectors.astype(np.float32) @ self._projection  # [n, d_sem]

    def keys(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> SparseKeys:
        """Keys for ``texts``; ``vectors`` (``[n, H]``) skips the vectorizer when precomputed."""
        if not texts:
            empty = np.zeros((0, self.config.k))
            return SparseKeys(empty.astype(np.int32), empty.astype(np.float32), self.config.d)
        lex_idx, lex_val = kwta(self.lexical_drive(texts), self.k_lex)
        lex_val = _unit_rows(lex_val)
        if not self.vectorizer:
            return SparseKeys(lex_idx, _l1_rows(lex_val), self.config.d)
        sem_in = vectors if vectors is not None else self.vectorizer(texts)
        sem_idx, sem_val = kwta(self._project(sem_in), self.config.k_sem)
        # Block weights: cosine of two keys = (1-w)·cos_lex + w·cos_sem.
        w = self.config.sem_weight
        values = np.concatenate(
            [np.sqrt(1 - w) * lex_val, np.sqrt(w) * _unit_rows(sem_val)], axis=1
        )
        indices = np.concatenate([lex_idx, sem_idx + self.d_lex], axis=1)
        return SparseKeys(indices.astype(np.int32), _l1_rows(values), self.config.d)

    def fingerprint(self) -> str:
        """What makes two keyers' keys comparable: the config and whether a semantic block
        is on (the store records it, so a store is never searched with foreign keys)."""
        fields = ";".join(f"{k}={v}" for k, v in sorted(vars(self.config).items()))
        return f"{fields};semantic={self.vectorizer is not None}"


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _l1_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.abs(x).sum(axis=1, keepdims=True), 1e-12)
