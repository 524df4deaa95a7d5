"""Answer metrics: normalized exact match, token F1, recall@k."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


def normalize_answer(text: str) -> str:
    """SQuAD-style normalization plus accent folding: 'The Café!' -> 'cafe'."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _PUNCT.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _as_list(gold: str | Sequence[str]) -> list[str]:
    return [gold] if isinstance(gold, str) else list(gold)


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 if the normalized prediction equals any normalized gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _as_list(gold)))


def token_f1(prediction: str, gold: str | Sequence[str]) -> float:
    """Best whitespace-token F1 against the gold answers."""
    return max((_f1(prediction, g) for g in _as_list(gold)), default=0.0)


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def recall_at_k(
    candidates: Sequence[Hashable], gold: Hashable | Iterable[Hashable], k: int
) -> float:
    """Fraction of the gold items found among the first ``k`` candidates.

    ``gold`` is one id or a collection of ids; with one id this is hit@k (0.0 or 1.0).
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    golds = {gold} if isinstance(gold, (str, int)) else set(gold)  # type: ignore[arg-type]
    if not golds:
        raise ValueError("recall_at_k needs at least one gold id")
    top = set(candidates[:k])
    return len(golds & top) / len(golds)
