"""consolidate(): need-driven selection under a budget, per-fact early stop, unlearning."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from hei_nw.consolidation import CA2Scheduler, consolidate, state_of
from hei_nw.consolidation.cycles import _measure_need, _select, replay_inputs, teacher_nll
from hei_nw.consolidation.rows import CueAnswerRowBuilder
from hei_nw.datasets.general_questions import general_questions
from hei_nw.memory import MemoryConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import build_prompt
from tests.conftest import tiny_memory

FACTS = [
    "Alice left a violin at Dock Seven on Monday.",
    "Bruno left a kite at Maple Park on Friday.",
    "Chiara left a lantern at Oak Hall on Sunday.",
]
QUESTIONS = [
    "Who left a violin at Dock Seven on Monday?",
    "Who left a kite at Maple Park on Friday?",
    "Who left a lantern at Oak Hall on Sunday?",
]
FAST = {
    "gate.use_for_writes": False,
    "consolidation.layers": [0, 2],
    "consolidation.lr": 5e-2,
    "consolidation.anchor_ratio": 0.0,
    "consolidation.learned_loss": 0.0,
    "consolidation.warmup": 1,
    "consolidation.batch_size": 4,
    # The tiny random model's answer barely depends on the memory in its prompt, so its
    # top-k KL is ~0 for every trace; the greedy answer's cross-entropy is not.
    "consolidation.target": "greedy",
}


def _memory(pipe: GenerationPipeline, extra: dict[str, Any] | None = None) -> Any:
    mem = tiny_memory(pipe, {**FAST, **(extra or {})})
    mem.observe_many(FACTS)
    mem.answer(QUESTIONS, log=True, topk=4)
    # The tiny random model answers all three alike; give each served query its own
    # answer, as a real teacher would, so that learning one does not learn them all.
    for q, name in zip(mem.queries, (" Alice\n", " Bruno\n", " Chiara\n"), strict=True):
        q.answer_ids = pipe.tokenizer(name, add_special_tokens=False)["input_ids"]
        q.topk_ids, q.topk_logprobs = [], []
    return mem


def _train_only(mem: Any, trace_id: str, steps: int = 40) -> None:
    _, rows, _ = replay_inputs(mem)
    trainer = state_of(mem).trainer
    trainer.fit(iter(lambda: list(rows[trace_id]), None), steps)


def test_budget_of_one_replays_the_trace_the_student_has_not_learned(
    tiny_pipe: GenerationPipeline,
) -> None:
    mem = _memory(tiny_pipe)
    ids = [t["trace_id"] for t in mem.traces()]
    # Without the need term, recency picks the newest trace (the third one).
    blind = CA2Scheduler(score_w=(0.0, 1.0, 0.0, 0.0), need_w=0.0)
    report = consolidate(mem, cycles=1, budget=1, scheduler=blind, progress=False)
    assert list(report.extra["replays"]) == [ids[2]]
    # Now the student knows the third trace well; the need term must pick another one.
    _train_only(mem, ids[2])
    needs = {it.trace_id: it.need for it in state_of(mem).queue.items}
    aware = CA2Scheduler(score_w=(0.0, 0.0, 0.0, 0.0), need_w=1.0)
    report = consolidate(mem, cycles=1, budget=1, scheduler=aware, progress=False)
    (chosen,) = report.extra["replays"]
    measured = {it.trace_id: float(it.need or 0.0) for it in state_of(mem).queue.items}
    assert chosen != ids[2]
    assert measured[chosen] == max(measured.values())  # the least-learned trace
    assert measured[ids[2]] < min(v for k, v in measured.items() if k != ids[2])
    assert needs  # the need was measured before selection


@pytest.mark.parametrize("need", ["loss", "gap"])
def test_gap_need_leaves_the_trace_whose_teacher_was_unsure(
    tiny_pipe: GenerationPipeline, need: str
) -> None:
    """need="gap" subtracts the teacher's own NLL of its answer: a trace whose teacher
    answer was a guess (NLL 100 nats) is not what the budget goes to; need="loss" picks it
    when it is the one the student fits worst."""
    mem = _memory(tiny_pipe, {"consolidation.need": need})
    _, rows, _ = replay_inputs(mem)
    raw = _measure_need(state_of(mem).trainer, rows)
    worst = max(raw, key=lambda t: raw[t])
    for q in mem.queries:
        if q.trace_ids[0] == worst:  # the teacher gave its answer with p = e^-100
            q.topk_ids = [[i] for i in q.answer_ids]
            q.topk_logprobs = [[-100.0] for _ in q.answer_ids]
    assert teacher_nll(mem, rows) == {worst: 100.0}
    aware = CA2Scheduler(score_w=(0.0, 0.0, 0.0, 0.0), need_w=1.0)
    report = consolidate(mem, cycles=1, budget=1, scheduler=aware, progress=False)
    (chosen,) = report.extra["replays"]
    measured = {it.trace_id: float(it.need or 0.0) for it in state_of(mem).queue.items}
    if need == "loss":
        assert chosen == worst and measured == pytest.approx(raw)
    else:
        assert chosen != worst and measured[worst] == 0.0
        assert {t: v for t, v in measured.items() if t != worst} == pytest.approx(
            {t: v for t, v in raw.items() if t != worst}
        )


@pytest.mark.parametrize("unit", ["traces", "steps"])
def test_the_budget_unit_decides_whether_a_small_trace_trains_less(
    tiny_pipe: GenerationPipeline, unit: str
) -> None:
    """One trace has three served queries, the others one. Replaying the newest (one row)
    takes one step when the budget counts traces, and the steps of a mean-sized trace
    (ceil(5 / 3) = 2) when it counts steps, whichever trace is chosen."""
    mem = _memory(tiny_pipe, {"consolidation.batch_size": 1, "consolidation.memory_ratio": 0.0})
    first = mem.queries.entries[0]
    for text in ("Who had the violin at Dock Seven?", "Whose violin was at Dock Seven?"):
        mem.queries.add(dataclasses.replace(first, query=text))
    _, rows, _ = replay_inputs(mem)
    sizes = sorted(len(v) for v in rows.values())
    assert sizes == [1, 1, 3]
    newest = CA2Scheduler(score_w=(0.0, 1.0, 0.0, 0.0), need_w=0.0)
    report = consolidate(
        mem, cycles=1, budget=1, scheduler=newest, budget_unit=unit, progress=False
    )
    (chosen,) = report.extra["replays"]
    assert len(rows[chosen]) == 1  # the newest trace, served once
    assert report.steps == (1 if unit == "traces" else 2)
    with pytest.raises(ValueError, match="budget unit 'rows'"):
        consolidate(mem, cycles=1, budget=1, budget_unit="rows", progress=False)


def test_gap_need_is_refused_with_the_kl_target() -> None:
    """The KL target is already a distance to the teacher: need "gap" is greedy-only."""
    with pytest.raises(ValidationError, match="need 'gap'"):
        MemoryConfig().with_overrides({"consolidation.need": "gap", "consolidation.target": "kl"})
    ok = MemoryConfig().with_overrides({"consolidation.need": "gap"})
    assert ok.consolidation.target == "greedy"


def test_learned_traces_are_skipped_and_training_stops(tiny_pipe: GenerationPipeline) -> None:
    mem = _memory(tiny_pipe, {"consolidation.learned_loss": 1e9})  # everything counts as held
    report = consolidate(mem, cycles=3, progress=False)
    assert report.steps == 0 and len(report.curve) == 1 and report.curve[0]["chosen"] == 0


def test_forgetting_adds_unlearning_rows_to_the_next_consolidation(
    tiny_pipe: GenerationPipeline,
) -> None:
    mem = _memory(tiny_pipe)
    consolidate(mem, cycles=1, progress=False)
    gone = mem.traces()[0]["trace_id"]
    mem.forget(gone)
    report = consolidate(mem, cycles=1, progress=False)
    assert report.rows["unlearn"] == 1  # the query the forgotten trace served
    assert all(it.trace_id != gone for it in state_of(mem).queue.items)
    again = consolidate(mem, cycles=1, progress=False)
    assert again.rows["unlearn"] == 1 and again.curve[0]["rows"] == 2  # not unlearned twice


def test_anchor_rows_come_from_a_pool_of_the_configured_size(
    tiny_pipe: GenerationPipeline,
) -> None:
    extra = {"consolidation.anchor_ratio": 1.0, "consolidation.anchor_per_family": 2}
    mem = _memory(tiny_pipe, extra)
    report = consolidate(mem, cycles=1, progress=False)
    pool = general_questions("anchor", 2)
    fmt = mem.config.generation.prompt_format
    prompts = {r.prompt for r in state_of(mem).anchor_rows}
    assert len(pool) < len(general_questions("anchor"))  # 2 per family, not the default 90
    assert 0 < report.rows["anchor"] <= len(pool)
    assert prompts <= {str(build_prompt(q, None, fmt)) for q in pool}


def test_recall_rows_keep_the_served_notes_and_join_training(
    tiny_pipe: GenerationPipeline,
) -> None:
    mem = _memory(tiny_pipe, {"consolidation.memory_ratio": 1.0})
    served = {q.query: q for q in mem.queries}
    assert all(q.memory_text for q in served.values())  # the notes were logged
    twins = CueAnswerRowBuilder(mem.queries, "greedy", memory=True).rows(_queue(mem))
    fmt = mem.config.generation.prompt_format
    for row in twins:
        q = next(q for q in served.values() if row.target_ids == tuple(q.answer_ids))
        assert row.kind == "recall"
        assert row.prompt == str(build_prompt(q.query, q.memory_text, fmt))
        assert q.memory_text in row.prompt
    report = consolidate(mem, cycles=1, progress=False)
    assert report.rows["recall"] == report.rows["distill"] == len(twins) == 3
    assert "recall" in report.curve[0]["loss_by_kind_last"]
    # memory_ratio 0: no twins are built or trained on
    plain = consolidate(
        _memory(tiny_pipe, {"consolidation.memory_ratio": 0.0}), cycles=1, progress=False
    )
    assert plain.rows["recall"] == 0
    assert "recall" not in plain.curve[0]["loss_by_kind_last"]


def _queue(mem: Any) -> Any:
    queue, _, _ = replay_inputs(mem)
    return queue.items


def test_none_policy_spends_the_whole_budget_on_the_newest_wave(
    tiny_pipe: GenerationPipeline,
) -> None:
    mem = _memory(tiny_pipe)
    consolidate(mem, cycles=1, budget=1, progress=False)  # builds the queue
    state = state_of(mem)
    items = list(state.queue.items)
    for it in items:
        it.wave = 1
    items[0].wave = 2  # the newest wave holds one trace
    picked = _select(state, items, 4, "none")
    assert [it.trace_id for it in picked] == [items[0].trace_id] * 3  # budget capped by pool
    items[1].wave = 2
    picked = _select(state, items, 3, "none")
    counts = {t: [it.trace_id for it in picked].count(t) for t in {it.trace_id for it in picked}}
    assert set(counts) == {items[0].trace_id, items[1].trace_id}
    assert sorted(counts.values()) == [1, 2]
    shuffled = _select(state, items, 2, "shuffled")
    assert len({it.trace_id for it in shuffled}) == 2  # no repeats


def test_the_queue_schedules_with_the_configured_weights(tiny_pipe: GenerationPipeline) -> None:
    # The library default drops the seed's overlap penalty (measured, reports/interference);
    # --consolidation.score_w brings it back, e.g. to reproduce a report made before.
    assert MemoryConfig().consolidation.score_w == (1.0, 1.0, 0.1, 0.0)
    assert CA2Scheduler().score_w == MemoryConfig().consolidation.score_w
    seed = (1.0, 1.0, 0.1, 0.5)
    mem = tiny_memory(tiny_pipe, {**FAST, "consolidation.score_w": seed})
    assert state_of(mem).queue.scheduler.score_w == seed
    with pytest.raises(ValidationError, match="score_w"):
        MemoryConfig().with_overrides({"consolidation.score_w": (1.0, 1.0, 0.1, float("nan"))})
