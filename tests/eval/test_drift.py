"""The drift guard has resolution, refuses an undersized suite, and its verdict is right."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from hei_nw.cli import parity
from hei_nw.consolidation.rows import TrainRow
from hei_nw.consolidation.trainer import DistillTrainer
from hei_nw.datasets.general_questions import general_questions
from hei_nw.eval.drift import (
    CONFIDENT_MARGIN,
    EXIT_DRIFT,
    MIN_SUITE,
    DriftSuite,
    DriftSuiteError,
    _margin_bucket,
    build_suite,
    measure,
    suite_questions,
)
from hei_nw.memory.config import ConsolidationConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import STOP, build_prompt


def _pipe(folder: Path) -> GenerationPipeline:
    tok = AutoTokenizer.from_pretrained(folder)
    return GenerationPipeline(tok, AutoModelForCausalLM.from_pretrained(folder).eval(), "tiny")


def test_suite_is_large_and_disjoint_from_the_anchor_pool() -> None:
    questions = suite_questions()
    assert len(questions) >= MIN_SUITE
    assert {q for q, _, _ in questions}.isdisjoint(general_questions("anchor"))
    # a larger anchor pool (consolidation.anchor_per_family) stays disjoint too
    assert {q for q, _, _ in questions}.isdisjoint(general_questions("anchor", 1000))
    fewer = suite_questions(exclude=[q for q, _, _ in questions[:10]])
    assert len(fewer) == len(questions) - 10


def test_undersized_or_empty_suite_is_an_error(tiny_pipe: GenerationPipeline) -> None:
    with pytest.raises(DriftSuiteError, match="fewer than 1000"):
        build_suite(tiny_pipe, suite_questions()[:999])
    with pytest.raises(DriftSuiteError, match="empty"):
        measure(tiny_pipe, DriftSuite([], [], [], [], "tiny"))


def _suite(n: int = 40) -> DriftSuite:
    qs = list(general_questions("drift")[:n])
    return DriftSuite(qs, ["completion"] * n, ["test"] * n, ["?"] * n, "tiny")


def test_verdict_follows_the_changed_share(tiny_pipe: GenerationPipeline) -> None:
    suite = _suite()
    answers = [
        tiny_pipe.output(d, ("\n",))["text"]
        for d in tiny_pipe.run(
            suite.prompts(), max_new_tokens=12, stop=("\n", "<|im_end|>"), batch_size=16
        )
    ]
    same = DriftSuite(suite.questions, suite.formats, suite.sources, answers, "tiny")
    result = measure(tiny_pipe, same, tolerance=0.0)
    assert result["drift_changed_fraction"] == 0.0 and result["passed"] is True
    # Change exactly 2 of the 40 base answers: 5% changed, so 1% fails and 5% passes.
    edited = list(answers)
    edited[0], edited[1] = edited[0] + " zebra", "not " + edited[1]
    two = DriftSuite(suite.questions, suite.formats, suite.sources, edited, "tiny")
    assert measure(tiny_pipe, two, tolerance=0.01)["drift_changed"] == 2
    assert measure(tiny_pipe, two, tolerance=0.01)["passed"] is False
    assert measure(tiny_pipe, two, tolerance=0.05)["passed"] is True


@pytest.fixture(scope="module")
def adapters(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An untrained adapter (LoRA B = 0: the base model exactly) and one trained hard."""
    out = {}
    for name, steps in (("identity", 0), ("changed", 40)):
        pipe = _pipe(tiny_model_dir)
        trainer = DistillTrainer(
            pipe, ConsolidationConfig(layers=(0, 2), lr=0.2, anchor_ratio=0, warmup=1)
        )
        trainer.attach()
        ids = tuple(pipe.tokenizer(" zebra zebra\n", add_special_tokens=False)["input_ids"])
        rows = [
            TrainRow("distill", str(build_prompt(q, None)), ids)
            for q in general_questions("anchor")[:8]
        ]
        if steps:
            trainer.fit(itertools.repeat(rows), steps)
        folder = tmp_path_factory.mktemp(name)
        trainer.save_adapter(folder / "adapter")
        out[name] = folder
    return out


def test_parity_cli_passes_the_identity_and_fails_a_real_change(
    tiny_model_dir: Path, adapters: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "parity.json"
    base_args = ["--model", str(tiny_model_dir), "--out", str(out), "--batch-size", "128"]
    code = parity.main(["--adapter.path", str(adapters["identity"]), *base_args])
    data = json.loads(out.read_text())
    assert code == 0 and data["passed"] and data["drift_changed"] == 0
    assert data["drift_suite_size"] >= MIN_SUITE and data["resolution"] <= 0.001
    code = parity.main(["--adapter.path", str(adapters["changed"]), *base_args])
    data = json.loads(out.read_text())
    assert data["drift_changed_fraction"] > 0.01  # the trained adapter really moved answers
    assert code == EXIT_DRIFT and data["passed"] is False


def test_changes_are_split_by_the_base_answers_margin(tiny_pipe: GenerationPipeline) -> None:
    questions = suite_questions()[:40]
    suite = build_suite(tiny_pipe, questions, batch_size=16, min_size=1)
    margins = suite.base_margins
    assert margins is not None and len(margins) == 40
    # the margins are the base model's own top-1 minus top-2 gaps along its answer
    d = tiny_pipe.run(suite.prompts()[:1], max_new_tokens=12, stop=STOP, topk=2)[0]
    n = tiny_pipe.stop_length(d.generated, STOP)
    assert margins[0] == pytest.approx(min(a - b for a, b in d.topk_logprobs[:n]))
    unchanged = measure(tiny_pipe, suite, tolerance=0.0)
    assert sum(b["n"] for b in unchanged["by_base_margin"].values()) == 40
    edges = [0.0, 0.1, 0.5, CONFIDENT_MARGIN, float("inf")]
    for lo, hi in itertools.pairwise(edges):  # each bucket holds exactly its margins
        inside = sum(lo <= m < hi or (hi == float("inf") and m == hi) for m in margins)
        assert unchanged["by_base_margin"][_margin_bucket(lo)]["n"] == inside
    assert all(b["changed"] == 0 for b in unchanged["by_base_margin"].values())
    # change the answer with the largest margin and the one with the smallest
    order = sorted(range(40), key=lambda i: margins[i])
    answers = list(suite.base_answers)
    for i in (order[0], order[-1]):
        answers[i] = "not " + answers[i]
    edited = replace(suite, base_answers=answers)
    result = measure(tiny_pipe, edited, tolerance=0.0)
    low, high = margins[order[0]], margins[order[-1]]
    buckets = result["by_base_margin"]
    changed = {k: v["changed"] for k, v in buckets.items() if v["changed"]}
    assert sum(changed.values()) == 2
    assert changed.get(_margin_bucket(low), 0) >= 1 and changed.get(_margin_bucket(high), 0) >= 1
    sure = [m for m in margins if m >= CONFIDENT_MARGIN]
    expected = (high >= CONFIDENT_MARGIN) + (low >= CONFIDENT_MARGIN)
    assert result["confident_suite_size"] == len(sure)
    if sure:
        assert result["confident_changed_fraction"] == pytest.approx(expected / len(sure))
