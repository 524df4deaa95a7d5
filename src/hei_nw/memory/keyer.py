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

from hei_nw.memory.config import KeyerConfig

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
        self.settings = config or KeyerConfig()
        self.config = self.settings.geometry()  # dg=False: the dense ablation's geometry
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
        """``[n, d_lex]`` summed word assemblies (weighted).

        The word weights of the whole batch are asked for in one call, so a scorer backed
        by the LM (word surprisal) runs one batched forward pass per batch of texts, not
        one per text."""
        per_text = [content_words(t) or WORD.findall(t.lower()) for t in texts]
        flat = [w for ws in per_text for w in ws]
        weights = list(self.word_weights(flat)) if self.word_weights else [1.0] * len(flat)
        out = np.zeros((len(texts), self.d_lex), dtype=np.float32)
        pos = 0
        for row, words in enumerate(per_text):
            for word in words:
                out[row, self._assembly(word)] += weights[pos]
                pos += 1
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
        geometry = ("d", "k", "d_sem", "k_sem", "assembly", "sem_weight", "seed")
        fields = ";".join(f"{k}={getattr(self.config, k)}" for k in sorted(geometry))
        return f"{fields};semantic={self.vectorizer is not None}"


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _l1_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.abs(x).sum(axis=1, keepdims=True), 1e-12)
