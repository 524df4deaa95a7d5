"""The question-answering loop every mode and baseline shares."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm.auto import tqdm

from hei_nw.datasets import Record
from hei_nw.eval.schema import ItemRow
from hei_nw.metrics.compute import ComputeRecord, dtype_label
from hei_nw.metrics.text import exact_match, token_f1
from hei_nw.models.base import GenerationPipeline, Prompt
from hei_nw.prompts import STOP, build_prompt


@dataclass(frozen=True)
class GenConfig:
    """Generation settings shared by all conditions of a run."""

    max_new_tokens: int = 16
    batch_size: int = 8
    prompt_format: str = "completion"
    stop: tuple[str, ...] = STOP


def prompt_digest(prompt: Prompt) -> str:
    return hashlib.sha256(repr(prompt).encode()).hexdigest()


def run_qa(
    pipe: GenerationPipeline,
    items: Sequence[Record],
    notes: Sequence[str | None],
    gen: GenConfig,
    desc: str = "qa",
    truncated: Sequence[bool] | None = None,
) -> list[ItemRow]:
    """Ask every item's held-out ``query`` with its ``notes``; score EM/F1 and compute.

    Latency is the wall time of the item's batch divided by the batch size.
    """
    prompts = [
        build_prompt(r["query"], n, gen.prompt_format) for r, n in zip(items, notes, strict=True)
    ]
    dtype = dtype_label(pipe.model.dtype)
    rows: list[ItemRow] = []
    for start in tqdm(range(0, len(items), gen.batch_size), desc=desc, leave=False):
        batch = slice(start, start + gen.batch_size)
        t0 = time.perf_counter()
        outs = pipe(
            prompts[batch],
            max_new_tokens=gen.max_new_tokens,
            stop=gen.stop,
            batch_size=gen.batch_size,
        )
        per_item = (time.perf_counter() - t0) / max(1, len(outs))
        for offset, (rec, out) in enumerate(zip(items[batch], outs, strict=True)):
            i = start + offset
            compute = ComputeRecord.from_model_config(
                pipe.model.config, out["prompt_tokens"], out["generated_tokens"], dtype
            )
            rows.append(
                ItemRow(
                    id=rec["id"],
                    index=rec["index"],
                    group_id=rec["group_id"],
                    lag=rec["lag"],
                    query=rec["query"],
                    expected=rec["expected"],
                    answers=list(rec["answers"]),
                    prediction=out["text"],
                    em=exact_match(out["text"], rec["answers"]),
                    f1=token_f1(out["text"], rec["answers"]),
                    recall_at_k=None,
                    retrieved_ids=None,
                    prompt_tokens=out["prompt_tokens"],
                    generated_tokens=out["generated_tokens"],
                    latency_s=per_item,
                    truncated=bool(truncated[i]) if truncated is not None else False,
                    prompt_sha256=prompt_digest(prompts[i]),
                    compute=compute.model_dump(),
                )
            )
    return rows
