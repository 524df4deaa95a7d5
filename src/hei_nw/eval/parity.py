"""Drift guard: does consolidation change what the base model already answered?

``core_suite`` asks the packaged general-knowledge questions (``CORE_QA``) and keeps the
ones this model answers correctly at B0; ``compare`` asks the same kept questions of
the consolidated model and measures perplexity on held-out general text for both. The
guard passes when the EM change stays within ``tolerance`` points (default ±1).

CLI (``scripts/run_parity_guard.sh`` wraps it)::

    python -m hei_nw.eval.parity --adapter.path artifacts/m4/lora --out reports/m4/parity.json
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hei_nw.datasets.general import CORE_QA, HELDOUT_TEXT, CoreQuestion
from hei_nw.eval.prompting import STOP, build_prompt
from hei_nw.metrics.text import exact_match
from hei_nw.models.base import GenerationPipeline, ModelLoadError, load_base
from hei_nw.models.lora_weights import merged
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail
from hei_nw.utils.io import OutdirError, ensure_writable_dir, write_json

logger = logging.getLogger(__name__)

PROG = "python -m hei_nw.eval.parity"
EXIT_DRIFT = 3


@dataclass(frozen=True)
class CoreResult:
    questions: list[str]
    correct: list[bool]
    predictions: list[str]

    @property
    def em(self) -> float:
        return sum(self.correct) / len(self.correct) if self.correct else 0.0


def ask(
    pipe: GenerationPipeline, questions: Sequence[CoreQuestion], batch_size: int = 8
) -> CoreResult:
    """Greedy answers to ``questions`` in the harness's prompt layout, scored by EM."""
    prompts = [build_prompt(q.question) for q in questions]
    outs = pipe(prompts, max_new_tokens=12, stop=STOP, batch_size=batch_size)
    preds = [o["text"] for o in outs]
    correct = [bool(exact_match(p, list(q.answers))) for p, q in zip(preds, questions, strict=True)]
    return CoreResult([q.question for q in questions], correct, preds)


def core_suite(pipe: GenerationPipeline, batch_size: int = 8) -> list[CoreQuestion]:
    """The packaged questions this model answers correctly at B0 (its own baseline)."""
    result = ask(pipe, CORE_QA, batch_size)
    kept = [q for q, ok in zip(CORE_QA, result.correct, strict=True) if ok]
    logger.info("core suite: %d of %d questions answered correctly at B0", len(kept), len(CORE_QA))
    return kept


@torch.no_grad()
def perplexity(pipe: GenerationPipeline, texts: Sequence[str] = HELDOUT_TEXT) -> float:
    """Token-weighted perplexity of ``texts`` (one forward pass per text)."""
    nll, count = 0.0, 0
    for text in texts:
        ids = pipe.tokenizer(text, return_tensors="pt")["input_ids"].to(pipe.device)
        loss = pipe.model(input_ids=ids, labels=ids).loss
        n = int(ids.shape[1]) - 1
        nll += float(loss) * n
        count += n
    return math.exp(nll / max(1, count))


def compare(
    before: GenerationPipeline,
    after: GenerationPipeline,
    kept: Sequence[CoreQuestion] | None = None,
    tolerance: float = 1.0,
    batch_size: int = 8,
) -> dict[str, Any]:
    """EM on the kept core questions and held-out perplexity, before vs after."""
    kept = list(kept) if kept is not None else core_suite(before, batch_size)
    pre, post = ask(before, kept, batch_size), ask(after, kept, batch_size)
    delta = 100.0 * (post.em - pre.em)
    flipped = [
        {"question": q, "before": b, "after": a}
        for q, b, a, ok in zip(
            post.questions, pre.predictions, post.predictions, post.correct, strict=True
        )
        if not ok
    ]
    ppl_pre, ppl_post = perplexity(before), perplexity(after)
    return {
        "n_core": len(kept),
        "n_packaged": len(CORE_QA),
        "em_before": pre.em,
        "em_after": post.em,
        "delta_em_points": delta,
        "tolerance_points": tolerance,
        "passed": abs(delta) <= tolerance,
        "changed_answers": flipped,
        "perplexity_before": ppl_pre,
        "perplexity_after": ppl_post,
        "perplexity_ratio": ppl_post / ppl_pre,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=PROG, description="B0 drift guard: base vs consolidated model."
    )
    parser.add_argument("--adapter.path", dest="adapter_path", default="artifacts/m4/lora")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"base model (default {DEFAULT_MODEL})"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--tolerance", type=float, default=1.0, help="allowed |ΔEM| in points")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--out", default="reports/m4/parity.json", help="JSON report path")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        ensure_writable_dir(_parent(args.out))
    except OutdirError as exc:
        fail(PROG, f"--out is not writable ({exc}); pass a path you can write to")
    try:
        _, _, base = load_base(args.model, args.dtype, device=args.device)
        _, _, base2 = load_base(args.model, args.dtype, device=args.device)
        after = merged(base2, args.adapter_path, args.dtype, args.device)
    except ModelLoadError as exc:
        fail(PROG, f"--adapter.path/--model: {exc}")
    result = compare(base, after, None, args.tolerance, args.batch_size)
    result.update(command=" ".join([PROG, *(argv if argv is not None else sys.argv[1:])]))
    write_json(args.out, result)
    verdict = "passed" if result["passed"] else "FAILED"
    logger.info(
        "drift guard %s: core EM %.3f -> %.3f (%+.1f points, n=%d); perplexity %.2f -> %.2f; %s",
        verdict,
        result["em_before"],
        result["em_after"],
        result["delta_em_points"],
        result["n_core"],
        result["perplexity_before"],
        result["perplexity_after"],
        args.out,
    )
    return 0 if result["passed"] else EXIT_DRIFT


def _parent(path: str) -> str:
    from pathlib import Path

    return str(Path(path).parent)


if __name__ == "__main__":
    raise SystemExit(main())
