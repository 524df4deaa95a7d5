"""Cycles of scheduled replay: queue pops -> mixed row batches -> LoRA steps -> checks.

Shared by the scenario replay runner and the knowledge-edit consolidation. After every
cycle the caller's retention function is measured (memory off) together with the loss on
held-out general text; a rise of that loss beyond ``LoRAConfig.early_stop_rise`` stops
the remaining cycles.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hei_nw.datasets.general import HELDOUT_TEXT
from hei_nw.models.base import GenerationPipeline
from hei_nw.replay import QueueItem, ReplayQueue
from hei_nw.training.lora import ConsolidationWorker
from hei_nw.training.rows import TrainRow

logger = logging.getLogger(__name__)

RowsFor = Callable[[list[QueueItem]], list[TrainRow]]
Retention = Callable[[GenerationPipeline], dict[str, float]]


class ReplayPlan:
    """Turns queue pops into batches with the (episodic, semantic, fresh) row mix.

    ``rows_for`` turns popped items into rows (``rows_per_item`` each on average);
    ``semantic`` is the pool the semantic share is sampled from.
    """

    def __init__(
        self,
        queue: ReplayQueue,
        rows_for: RowsFor,
        split: tuple[int, int, int],
        rows_per_item: int,
        semantic: Sequence[TrainRow],
        policy: str = "ca2",
        seed: int = 0,
    ) -> None:
        self.queue = queue
        self.rows_for = rows_for
        self.policy = policy
        self.semantic = list(semantic)
        self.rng = random.Random(seed)
        episodic, n_sem, fresh = split
        self.items_per_step = max(1, round(episodic / rows_per_item))
        self.fresh_per_step = round(fresh / rows_per_item)
        self.semantic_per_step = min(n_sem, len(self.semantic))
        self.replayed: list[str] = []

    def batches(self) -> Iterator[list[TrainRow]]:
        while True:
            items = self.queue.pop_batch(self.items_per_step, policy=self.policy)
            if self.fresh_per_step:
                items += self.queue.pop_fresh(self.fresh_per_step)
            self.replayed.extend(it.trace_id for it in items)
            yield self.rows_for(items) + self.rng.sample(self.semantic, self.semantic_per_step)


def run_cycles(
    worker: ConsolidationWorker,
    plan: ReplayPlan,
    cycles: int,
    steps_per_cycle: int,
    retention: Retention,
    heldout: Sequence[str] = HELDOUT_TEXT,
) -> list[dict[str, Any]]:
    """Train ``cycles`` x ``steps_per_cycle``; the retention curve (cycle 0 = before)."""
    base_loss = worker.text_loss(heldout)
    curve: list[dict[str, Any]] = [
        {"cycle": 0, "steps": 0, "base_loss": base_loss, **retention(worker.pipe)}
    ]
    for cycle in range(1, cycles + 1):
        stats = worker.train_on(plan.batches(), steps_per_cycle)
        point = {**stats.as_dict(), "cycle": cycle, "steps": cycle * steps_per_cycle}
        point.update(steps_run=stats.steps, base_loss=worker.text_loss(heldout))
        point.update(retention(worker.pipe))
        point["traces_replayed"] = len(set(plan.replayed))
        curve.append(point)
        logger.info(
            "cycle %d/%d: loss %.3f, retention %.3f, held-out base loss %.3f, %.0f tok/s",
            cycle,
            cycles,
            point["loss_last"] or 0.0,
            point.get("token_accuracy", 0.0),
            point["base_loss"],
            stats.tokens_per_s,
        )
        if point["base_loss"] > base_loss * (1 + worker.config.early_stop_rise):
            logger.warning(
                "early stop: held-out base loss rose from %.3f to %.3f",
                base_loss,
                point["base_loss"],
            )
            point["early_stop"] = True
            break
    return curve


__all__ = ["ReplayPlan", "Retention", "RowsFor", "run_cycles"]
