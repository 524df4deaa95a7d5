"""``consolidate()``: distil what the memory does (B1) into LoRA weights, in cycles.

Registered as the ``distill`` method of :meth:`EpisodicMemory.consolidate`. One call:

1. the replay queue takes the traces written since the last call (a new *wave*) and
   drops traces that were forgotten or evicted;
2. rows are built from what the system has (:mod:`hei_nw.consolidation.rows`): the
   served queries with the memory's own answers (``distill``), the same queries with the
   notes they were served with (``recall``, when ``memory_ratio`` > 0), the episode text
   (``lm``), unrelated prompts held to the frozen base model (``anchor``), and the
   queries of forgotten traces pulled back to the base model (``unlearn``);
3. each cycle measures every queued trace's *need* (the student's loss on its distill
   rows), lets the policy choose ``budget`` traces (``ca2`` skips traces already learned:
   need below ``learned_loss``), and trains on their rows mixed with anchor rows;
4. the adapter stays attached to the memory's model (B2) and is saved under
   ``<memory path>/adapter`` in peft's layout when the memory has a path.

The same function serves the scenario replay runner, the edit benchmark, the
interference experiment and library users.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hei_nw.consolidation.queue import CA2Scheduler, QueueItem, ReplayQueue
from hei_nw.consolidation.rows import (
    CueAnswerRowBuilder,
    LMReplayRowBuilder,
    TrainRow,
    teacher_rows,
)
from hei_nw.consolidation.trainer import DistillTrainer, peak_memory_mb
from hei_nw.datasets.general_questions import general_questions
from hei_nw.memory.consolidators import ConsolidationReport, register_consolidator
from hei_nw.memory.memory import EpisodicMemory
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.sources import cache_root
from hei_nw.prompts import build_prompt
from hei_nw.utils.io import read_json, write_json

logger = logging.getLogger(__name__)

# What a cycle's replay budget counts: trace replays, or the optimizer steps they take.
BUDGET_UNITS = ("traces", "steps")

CycleHook = Callable[[int, "ConsolidationState"], dict[str, Any]]


class ConsolidationState:
    """What persists between ``consolidate()`` calls on one memory: queue, trainer, rows."""

    def __init__(self, mem: EpisodicMemory, scheduler: CA2Scheduler | None, seed: int) -> None:
        scheduler = scheduler or CA2Scheduler(score_w=mem.config.consolidation.score_w)
        self.queue = ReplayQueue(scheduler, seed=seed)
        self.trainer = DistillTrainer(mem.pipe, mem.config.consolidation)
        self.waves = 0
        self.seen_records = 0
        self.anchor_rows: list[TrainRow] = []
        self.unlearn_rows: list[TrainRow] = []
        self.unlearned: set[int] = set()  # ids of served queries already turned into rows
        self.memit: Any = None  # the memit method's editor (its deltas persist across calls)
        self.memit_done: set[str] = set()  # traces the memit method has written
        self.rng = random.Random(seed)


def state_of(mem: EpisodicMemory, scheduler: CA2Scheduler | None = None) -> ConsolidationState:
    if mem.consolidation_state is None:
        mem.consolidation_state = ConsolidationState(mem, scheduler, mem.config.consolidation.seed)
    elif scheduler is not None:
        mem.consolidation_state.queue.scheduler = scheduler
    state: ConsolidationState = mem.consolidation_state
    return state


@register_consolidator("distill")
def consolidate(
    mem: EpisodicMemory,
    *,
    policy: str = "ca2",
    cycles: int | None = None,
    budget: int | None = None,
    scheduler: CA2Scheduler | None = None,
    anchors: Mapping[str, Sequence[str]] | None = None,
    on_cycle: CycleHook | None = None,
    adapter_dir: str | Path | None = None,
    progress: bool = True,
    budget_unit: str = "traces",
) -> ConsolidationReport:
    """Consolidate the memory into its model's LoRA weights (see the module docstring).

    ``cycles`` defaults to ``ceil(config.consolidation.epochs)`` and ``budget`` (traces
    replayed per cycle) to every queued trace; ``anchors`` maps a prompt format to
    unrelated questions (default: the packaged anchor pool in the memory's format).
    ``budget_unit``: ``"traces"`` trains each cycle for one pass over the chosen traces'
    rows, so a policy that picks traces with fewer rows also takes fewer optimizer steps;
    ``"steps"`` gives every cycle the steps that ``budget`` traces of the queue's mean
    row count take, whichever traces are chosen (policies then compare at equal compute).
    """
    if budget_unit not in BUDGET_UNITS:
        raise ValueError(f"unknown budget unit {budget_unit!r}; choose {' or '.join(BUDGET_UNITS)}")
    cfg = mem.config.consolidation
    t0 = time.perf_counter()
    state = state_of(mem, scheduler)
    update_queue(mem, state)
    trainer = state.trainer
    trainer.attach()
    rows_by_trace = _distill_rows(mem, state)
    twins_by_trace = _distill_rows(mem, state, memory=True) if cfg.memory_ratio > 0 else {}
    state.unlearn_rows += _unlearn_rows(mem, state)
    anchor_pool = anchors or {
        mem.config.generation.prompt_format: general_questions("anchor", cfg.anchor_per_family)
    }
    if not state.anchor_rows and cfg.anchor_ratio > 0:
        for fmt, questions in anchor_pool.items():
            state.anchor_rows += cached_teacher_rows(mem.pipe, list(questions), fmt, cfg.topk)
    if cfg.cov_weight > 0 and not trainer.has_covariance:
        trainer.estimate_covariance(
            [str(build_prompt(q, None, fmt)) for fmt, qs in anchor_pool.items() for q in qs]
        )
    lm = LMReplayRowBuilder(mem.documents, mem.pipe.tokenizer)
    floors = teacher_nll(mem, rows_by_trace) if cfg.need == "gap" else {}
    n_cycles = cycles if cycles is not None else max(1, math.ceil(cfg.epochs))
    eligible = [it for it in state.queue.items if it.trace_id in rows_by_trace]
    per_cycle = budget if budget is not None else len(eligible)
    # Distill rows a cycle of ``per_cycle`` average traces holds (the "steps" unit).
    mean_rows = sum(len(rows_by_trace[it.trace_id]) for it in eligible) / max(1, len(eligible))
    fixed_rows = min(per_cycle, len(eligible)) * mean_rows
    curve: list[dict[str, Any]] = []
    tokens = steps = 0
    train_s = 0.0
    replayed: dict[str, int] = {}
    for cycle in range(1, n_cycles + 1):
        needs = _measure_need(trainer, rows_by_trace, floors)
        state.queue.set_need(needs)
        pool = [it for it in state.queue.items if it.trace_id in rows_by_trace]
        if policy == "ca2":  # per-fact early stop: what is already held is not replayed
            pool = [it for it in pool if (it.need or 0.0) >= cfg.learned_loss]
        chosen = _select(state, pool, per_cycle, policy)
        rows = [r for it in chosen for r in rows_by_trace[it.trace_id]]
        twins = [r for it in chosen for r in twins_by_trace.get(it.trace_id, [])]
        if cfg.lm_ratio > 0 and chosen:
            k = max(1, round(cfg.lm_ratio * len(chosen)))
            rows += lm.rows(state.rng.sample(chosen, min(k, len(chosen))))
        rows += state.unlearn_rows
        point: dict[str, Any] = {"cycle": cycle, "chosen": len(chosen), "rows": len(rows)}
        if rows:
            n_rows = float(sum(r.kind != "lm" for r in rows))
            if budget_unit == "steps":
                n_rows = fixed_rows + len(state.unlearn_rows)
            n_steps = max(1, math.ceil(n_rows / cfg.batch_size))
            batches = _batches(
                rows, state, cfg.batch_size, cfg.anchor_ratio, twins, cfg.memory_ratio
            )
            stats = trainer.fit(batches, n_steps)
            tokens += stats.tokens
            steps += stats.steps
            train_s += stats.seconds
            point.update(stats.as_dict())
            for it in chosen:
                replayed[it.trace_id] = replayed.get(it.trace_id, 0) + 1
                it.replays += 1
        point["need_mean"] = sum(needs.values()) / max(1, len(needs))
        point["held"] = sum(v < cfg.learned_loss for v in needs.values()) / max(1, len(needs))
        if on_cycle is not None:
            point.update(on_cycle(cycle, state))
        curve.append(point)
        logger.info(
            "cycle %d/%d: %d traces chosen, %d rows, need %.3f, held %.2f",
            cycle,
            n_cycles,
            len(chosen),
            len(rows),
            point["need_mean"],
            point["held"],
        )
        if not chosen and policy == "ca2" and not state.unlearn_rows:
            logger.info(
                "every queued trace is held (need < %.3f): stopping early", cfg.learned_loss
            )
            break
    state.unlearn_rows = []
    adapter = _save_adapter(mem, trainer, adapter_dir)
    return ConsolidationReport(
        method="distill",
        items=len(eligible),
        rows={
            "distill": sum(len(v) for v in rows_by_trace.values()),
            "recall": sum(len(v) for v in twins_by_trace.values()),
            "anchor": len(state.anchor_rows),
            "unlearn": len(state.unlearned),
        },
        steps=steps,
        tokens=tokens,
        seconds=train_s,
        peak_memory_mb=peak_memory_mb(mem.pipe.device),
        adapter=str(adapter) if adapter else None,
        curve=curve,
        extra={
            "policy": policy,
            "wave": state.waves,
            "queue": len(state.queue),
            "replays": replayed,
            "wall_s": time.perf_counter() - t0,
            "config": cfg.model_dump(mode="json"),
        },
    )


def replay_inputs(
    mem: EpisodicMemory,
) -> tuple[ReplayQueue, dict[str, list[TrainRow]], list[TrainRow]]:
    """What a consolidation would learn from, without training: the replay queue, the
    distill rows per queued trace, and the LM rows of the queued traces' stored text."""
    state = state_of(mem)
    update_queue(mem, state)
    rows = _distill_rows(mem, state)
    lm = LMReplayRowBuilder(mem.documents, mem.pipe.tokenizer).rows(state.queue.items)
    return state.queue, rows, lm


def update_queue(mem: EpisodicMemory, state: ConsolidationState) -> None:
    new = mem.writer.records[state.seen_records :]
    live = set(mem.store.slot_of)
    if new:
        state.waves += 1
        state.queue.push([r for r in new if r["trace_id"] in live], wave=state.waves)
        state.seen_records = len(mem.writer.records)
    for it in state.queue.items:
        if it.trace_id not in live:
            state.queue.remove(it.trace_id)


def _distill_rows(
    mem: EpisodicMemory, state: ConsolidationState, memory: bool = False
) -> dict[str, list[TrainRow]]:
    builder = CueAnswerRowBuilder(mem.queries, mem.config.consolidation.target, memory)
    out: dict[str, list[TrainRow]] = {}
    for it in state.queue.items:
        rows = builder.rows([it])
        if rows:
            out[it.trace_id] = rows
    return out


def _unlearn_rows(mem: EpisodicMemory, state: ConsolidationState) -> list[TrainRow]:
    """Forgotten traces' served queries, with the base model's own answer (no memory)."""
    fresh = [
        (i, q)
        for i, q in enumerate(mem.queries.entries)
        if q.forgotten and i not in state.unlearned
    ]
    if not fresh:
        return []
    rows: list[TrainRow] = []
    by_format: dict[str, list[str]] = {}
    for _, q in fresh:
        by_format.setdefault(q.prompt_format, []).append(q.query)
    for fmt, questions in by_format.items():
        rows += teacher_rows(mem.pipe, questions, fmt, "unlearn", mem.config.consolidation.topk)
    state.unlearned.update(i for i, _ in fresh)
    return rows


def teacher_nll(
    mem: EpisodicMemory, rows_by_trace: Mapping[str, Sequence[TrainRow]]
) -> dict[str, float]:
    """Per trace, the teacher's own mean NLL of its greedy answers on the trace's served
    queries (the top-1 of the logged top-k is the greedy token): what no student can go
    below. Read from the served-query log, no labels."""
    builder = CueAnswerRowBuilder(mem.queries)
    out: dict[str, float] = {}
    for tid in rows_by_trace:
        per_query = [
            -sum(lp[0] for lp in q.topk_logprobs) / len(q.topk_logprobs)
            for q in builder.queries_for(tid)
            if q.topk_logprobs
        ]
        if per_query:
            out[tid] = sum(per_query) / len(per_query)
    return out


def _measure_need(
    trainer: DistillTrainer,
    rows_by_trace: Mapping[str, Sequence[TrainRow]],
    floors: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Each trace's need: the student's mean loss on its distill rows (no labels), less
    the trace's ``floors`` entry (the teacher's own NLL, ``need="gap"``), floored at 0."""
    flat = [(tid, r) for tid, rows in rows_by_trace.items() for r in rows]
    if not flat:
        return {}
    losses = trainer.row_losses([r for _, r in flat])
    sums: dict[str, list[float]] = {}
    for (tid, _), v in zip(flat, losses, strict=True):
        sums.setdefault(tid, []).append(v)
    floors = floors or {}
    return {tid: max(0.0, sum(v) / len(v) - floors.get(tid, 0.0)) for tid, v in sums.items()}


def _select(
    state: ConsolidationState, pool: Sequence[QueueItem], budget: int, policy: str
) -> list[QueueItem]:
    if not pool or budget <= 0:
        return []
    k = min(budget, len(pool))
    if policy == "ca2":
        return state.queue.scheduler.build_batch(pool, k, state.queue.items)
    if policy == "none":  # the newest wave only, cycled through until the budget is spent
        newest = max(it.wave for it in pool)
        fresh = [it for it in pool if it.wave == newest]
        state.rng.shuffle(fresh)
        return [fresh[i % len(fresh)] for i in range(k)]
    if policy in ("shuffled", "shuffled-pass"):
        return state.rng.sample(list(pool), k)
    raise ValueError(f"unknown policy {policy!r}; choose ca2, shuffled, shuffled-pass or none")


def _batches(
    rows: Sequence[TrainRow],
    state: ConsolidationState,
    batch_size: int,
    anchor_ratio: float,
    twins: Sequence[TrainRow] = (),
    memory_ratio: float = 0.0,
) -> Iterator[list[TrainRow]]:
    """Shuffled passes over ``rows``: ``batch_size`` of them per step, plus
    ``anchor_ratio * batch_size`` anchor rows sampled from the anchor pool and
    ``memory_ratio * batch_size`` ``recall`` rows sampled from ``twins``."""
    rng = state.rng
    n_anchor = min(len(state.anchor_rows), round(anchor_ratio * batch_size))
    n_twin = min(len(twins), round(memory_ratio * batch_size))
    while True:
        order = list(rows)
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            if n_anchor:
                batch = batch + rng.sample(state.anchor_rows, n_anchor)
            if n_twin:
                batch = batch + rng.sample(twins, n_twin)
            yield batch


def _save_adapter(
    mem: EpisodicMemory, trainer: DistillTrainer, adapter_dir: str | Path | None
) -> Path | None:
    target = (
        Path(adapter_dir)
        if adapter_dir is not None
        else (mem.path / "adapter" if mem.path else None)
    )
    if target is None:
        return None
    return trainer.save_adapter(target)


def cached_teacher_rows(
    pipe: GenerationPipeline, questions: list[str], prompt_format: str, topk: int
) -> list[TrainRow]:
    """:func:`teacher_rows` of the frozen base model, cached on disk per (model, dtype,
    device, format, top-k, questions): every consolidation of a model shares its anchors."""
    key = [pipe.model_id, str(pipe.model.dtype), pipe.device.type, prompt_format, topk, questions]
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24]
    path = cache_root() / "teacher-rows" / f"{digest}.json"
    if path.is_file():
        return [
            TrainRow(
                kind=r["kind"],
                prompt=r["prompt"],
                target_ids=tuple(r["target_ids"]),
                topk_ids=tuple(tuple(x) for x in r["topk_ids"]) if r["topk_ids"] else None,
                topk_logprobs=(
                    tuple(tuple(x) for x in r["topk_logprobs"]) if r["topk_logprobs"] else None
                ),
                trace_id=r["trace_id"],
            )
            for r in read_json(path)
        ]
    rows = teacher_rows(pipe, questions, prompt_format, "anchor", topk)
    write_json(path, [r.__dict__ for r in rows])
    return rows


__all__ = [
    "BUDGET_UNITS",
    "ConsolidationState",
    "cached_teacher_rows",
    "consolidate",
    "replay_inputs",
    "state_of",
]
