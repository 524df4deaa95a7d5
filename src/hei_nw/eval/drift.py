"""Drift guard: how many answers consolidation changed on prompts it never saw.

The suite is at least :data:`MIN_SUITE` prompts that no training or anchor row contains:

* the packaged general questions of the ``drift`` pool
  (:func:`hei_nw.datasets.general_questions.general_questions`, disjoint from the anchor
  pool), asked in the Notes/Question/Answer layout;
* optionally the locality prompts of CounterFact records not edited in the run, asked
  in the cloze layout.

It is scored as agreement with the *base model's own* output, not with gold answers:
``drift_changed_fraction`` is the share of prompts whose greedy answer (normalised)
changed; ``tf_changed_fraction`` the share where the consolidated model, fed the base
model's answer, no longer predicts every one of its tokens (argmax). Perplexity on
held-out prose (used for nothing else) is reported beside them, and the changes split by
the base answer's *margin*: the smallest gap, in nats, between the base model's top two
next tokens along its own greedy answer (``by_base_margin``; ``confident_changed_fraction``
counts only answers whose margin is at least :data:`CONFIDENT_MARGIN`). The split says
whether consolidation moved answers the base model was sure of or near-ties; the verdict
is on every prompt. An empty or undersized
suite is an error, never a pass. The guard fails when more than ``tolerance`` (default
1%) of the answers changed; the runners then exit with :data:`EXIT_DRIFT` after writing
their reports.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hei_nw.datasets.edits import load_edits
from hei_nw.datasets.general import HELDOUT_TEXT
from hei_nw.datasets.general_questions import family_of, general_questions
from hei_nw.metrics.text import normalize_answer
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.sources import cache_root
from hei_nw.prompts import STOP, build_prompt
from hei_nw.utils.io import read_json, write_json

logger = logging.getLogger(__name__)

EXIT_DRIFT = 3
MIN_SUITE = 1000
TOLERANCE = 0.01
CONFIDENT_MARGIN = 1.0  # nats between the base model's top two tokens, at every answer step
MARGIN_BUCKETS = (0.1, 0.5, CONFIDENT_MARGIN)  # edges of the by_base_margin split


class DriftSuiteError(ValueError):
    """The drift suite is empty or too small to measure a 1% change."""


@dataclass(frozen=True)
class DriftSuite:
    questions: list[str]
    formats: list[str]  # prompt layout per question (completion, cloze)
    sources: list[str]  # family of each question ("counterfact-locality", "add", ...)
    base_answers: list[str]
    base_model: str
    # min over the base answer's tokens of (top-1 - top-2 log-prob); None: not measured
    base_margins: list[float] | None = None

    def __len__(self) -> int:
        return len(self.questions)

    def prompts(self) -> list[Any]:
        return [build_prompt(q, None, f) for q, f in zip(self.questions, self.formats, strict=True)]


def suite_questions(
    counterfact: str | Path | None = None, exclude: Iterable[str] = ()
) -> list[tuple[str, str, str]]:
    """(question, prompt format, source) of the suite; ``exclude`` removes prompts that a
    run trains or anchors on (so the suite stays disjoint from every row)."""
    skip = set(exclude)
    out = [(q, "completion", family_of(q)) for q in general_questions("drift") if q not in skip]
    if counterfact:
        seen = set()
        for case in load_edits(counterfact, "counterfact"):
            p = case.locality_prompt
            if p not in skip and p not in seen:
                seen.add(p)
                out.append((p, "cloze", "counterfact-locality"))
    return out


def build_suite(
    base: GenerationPipeline,
    questions: Sequence[tuple[str, str, str]],
    batch_size: int = 32,
    min_size: int = MIN_SUITE,
) -> DriftSuite:
    """The suite with the base model's own greedy answers (cached on disk per model)."""
    if len(questions) < min_size:
        raise DriftSuiteError(
            f"drift suite has {len(questions)} prompts, fewer than {min_size}: one changed answer "
            f"would move it by {100 / max(1, len(questions)):.2f} points; add prompts (e.g. "
            "--drift.counterfact FILE) or lower the minimum"
        )
    qs = [q for q, _, _ in questions]
    fmts = [f for _, f, _ in questions]
    prompts = [build_prompt(q, None, f) for q, f in zip(qs, fmts, strict=True)]
    key = json.dumps([base.model_id, str(base.model.dtype), base.device.type, prompts, "margins"])
    path = cache_root() / "drift-base" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"
    if path.is_file():
        cached = read_json(path)
        answers = list(cached["answers"])
        margins = [math.inf if m is None else float(m) for m in cached["margins"]]
    else:
        logger.info("drift suite: base answers to %d prompts (cached for later runs)", len(qs))
        decoded = base.run(prompts, max_new_tokens=12, stop=STOP, batch_size=batch_size, topk=2)
        answers = [base.output(d, STOP)["text"] for d in decoded]
        # the steps that chose the answer: its tokens and the one that stopped it
        margins = [_margin(d.topk_logprobs[: base.stop_length(d.generated, STOP)]) for d in decoded]
        finite = [m if math.isfinite(m) else None for m in margins]
        write_json(path, {"answers": answers, "margins": finite})
    return DriftSuite(qs, fmts, [s for _, _, s in questions], answers, base.model_id, margins)


def _margin(steps: Sequence[Sequence[float]]) -> float:
    """Smallest top-1 minus top-2 log-prob over an answer's steps (inf: no step scored)."""
    gaps = [s[0] - s[1] for s in steps if len(s) >= 2]
    return min(gaps) if gaps else math.inf


def _margin_bucket(m: float) -> str:
    lo = 0.0
    for hi in MARGIN_BUCKETS:
        if m < hi:
            return f"[{lo:g}, {hi:g})"
        lo = hi
    return f">= {lo:g}"


def measure(
    after: GenerationPipeline,
    suite: DriftSuite,
    base: GenerationPipeline | None = None,
    tolerance: float = TOLERANCE,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Greedy and teacher-forced agreement of ``after`` with the base answers."""
    if len(suite) == 0:
        raise DriftSuiteError("drift suite is empty; an empty suite cannot pass the guard")
    prompts = suite.prompts()
    decoded = after.run(
        prompts, targets=suite.base_answers, max_new_tokens=12, stop=STOP, batch_size=batch_size
    )
    answers = [after.output(d, STOP)["text"] for d in decoded]
    changed = [
        normalize_answer(a) != normalize_answer(b)
        for a, b in zip(answers, suite.base_answers, strict=True)
    ]
    tf_changed = [d.forced is not None and d.forced.token_accuracy < 1.0 for d in decoded]
    n = len(suite)
    by_source: dict[str, list[bool]] = {}
    for src, c in zip(suite.sources, changed, strict=True):
        by_source.setdefault(src, []).append(c)
    frac = sum(changed) / n
    out: dict[str, Any] = {
        "drift_suite_size": n,
        "drift_changed_fraction": frac,
        "drift_changed": sum(changed),
        "tf_changed_fraction": sum(tf_changed) / n,
        "tolerance": tolerance,
        "passed": frac <= tolerance,
        "resolution": 1.0 / n,
        "by_source": {k: {"n": len(v), "changed": sum(v)} for k, v in sorted(by_source.items())},
        "changed_examples": [
            {"question": q, "before": b, "after": a}
            for q, b, a, c in zip(
                suite.questions, suite.base_answers, answers, changed, strict=True
            )
            if c
        ][:50],
        "perplexity_after": perplexity(after),
    }
    if suite.base_margins is not None:
        buckets: dict[str, list[bool]] = {_margin_bucket(m): [] for m in (0.0, *MARGIN_BUCKETS)}
        for m, c in zip(suite.base_margins, changed, strict=True):
            buckets.setdefault(_margin_bucket(m), []).append(c)
        out["by_base_margin"] = {k: {"n": len(v), "changed": sum(v)} for k, v in buckets.items()}
        sure = [
            c for m, c in zip(suite.base_margins, changed, strict=True) if m >= CONFIDENT_MARGIN
        ]
        out["confident_margin"] = CONFIDENT_MARGIN
        out["confident_suite_size"] = len(sure)
        out["confident_changed_fraction"] = sum(sure) / len(sure) if sure else None
    if base is not None:
        out["perplexity_before"] = perplexity(base)
        out["perplexity_ratio"] = out["perplexity_after"] / out["perplexity_before"]
    return out


@torch.no_grad()
def perplexity(pipe: GenerationPipeline, texts: Sequence[str] = HELDOUT_TEXT) -> float:
    """Token-weighted perplexity of held-out prose (one batched forward pass)."""
    enc = pipe.tokenizer(list(texts), return_tensors="pt", padding=True).to(pipe.device)
    positions = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    logits = pipe.model(**enc, position_ids=positions).logits[:, :-1].float()
    target = enc["input_ids"][:, 1:]
    mask = (enc["attention_mask"][:, 1:] * enc["attention_mask"][:, :-1]).bool()
    nll = torch.nn.functional.cross_entropy(logits[mask], target[mask], reduction="sum")
    return math.exp(float(nll) / max(1, int(mask.sum())))


__all__ = [
    "CONFIDENT_MARGIN",
    "EXIT_DRIFT",
    "MIN_SUITE",
    "TOLERANCE",
    "DriftSuite",
    "DriftSuiteError",
    "build_suite",
    "measure",
    "perplexity",
    "suite_questions",
]
