"""Real-fact hot-patch benchmark: CounterFact / zsRE edits through B0-B3 and plain baselines.

``python -m hei_nw.eval.harness --mode B1 --scenario counterfact --data FILE --edits 100``

All ``--edits N`` facts are live at once (sequential / lifelong editing): B1 streams the
N fact sentences (each edit request: prompt + new target, with its subject as the
user-given scope) through the write gate into one memory, then asks every rewrite,
rephrase and locality prompt. Locality compares with the *same model before the edit*
(B0 on the base weights), computed in the same run. Scoring: :mod:`hei_nw.eval.edit_scoring`.

Relevance: with the scope guard (``--recall.scope auto``, the default for edit data), a
stored edit is recalled only by a cue that names the edit request's subject. Without it
(``--recall.scope none``), recall uses a relevance floor calibrated without labels: the
largest top-1 key cosine that packaged general questions reach against the store. With
``--recall.scope names`` no user-given subject is used either: a cue that names something
recalls only a stored fact whose text names the same thing (names read off both texts),
and the floor decides only for cues that name nothing.

Baselines (``--baseline rag``): plain retrieval over the same N fact sentences with the
top-1 fact always pasted, and the same retrieval behind the same scope guard; HEI-NW's
rows and the baselines' are paired on the same prompts. ``--baseline all`` adds BM25 and
hybrid (RRF) retrieval, each with and without the guard.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hei_nw.baselines import make_retriever
from hei_nw.datasets.edits import EDIT_SCENARIOS, EditCase, edit_doc, load_edit_split
from hei_nw.datasets.general import CORE_QA, SEMANTIC_QA
from hei_nw.eval.edit_scoring import (
    QUERY_KINDS,
    EditQueries,
    cached_outputs,
    edit_targets,
    run_outputs,
    score,
    write_edit_reports,
)
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.memory.recall import NAMES
from hei_nw.memory.slots import name_anchors
from hei_nw.models.base import GenerationPipeline, Prompt, load_base
from hei_nw.prompts import build_prompt, cloze_prompt
from hei_nw.utils.text import in_scope

logger = logging.getLogger(__name__)


def question_prompt(prompt: str, memory: str | None) -> Prompt:
    """zsRE questions: the harness's Notes/Question/Answer layout."""
    return build_prompt(prompt, memory)


EDIT_FORMATS: dict[str, Callable[[str, str | None], Prompt]] = {
    "counterfact": cloze_prompt,  # few-shot Notes/Complete/Answer (see prompts.cloze_prompt)
    "zsre": question_prompt,
}
EDIT_PROMPT_FORMAT = {"counterfact": "cloze", "zsre": "completion"}  # names in PROMPT_FORMATS


def case_prompts(cases: Sequence[EditCase]) -> dict[str, list[str]]:
    return {
        "rewrite": [c.prompt for c in cases],
        "rephrase": [c.rephrase for c in cases],
        "locality": [c.locality_prompt for c in cases],
    }


def build_queries(
    cases: Sequence[EditCase], layout: str, memory: dict[str, list[str | None]] | None = None
) -> EditQueries:
    fmt = EDIT_FORMATS[layout]
    raw = case_prompts(cases)
    mem = memory or {k: [None] * len(cases) for k in QUERY_KINDS}
    prompts = {k: [fmt(p, m) for p, m in zip(raw[k], mem[k], strict=True)] for k in QUERY_KINDS}
    fired = {k: [m is not None for m in mem[k]] for k in QUERY_KINDS}
    return EditQueries(prompts, mem, fired, {k: [None] * len(cases) for k in QUERY_KINDS})


@dataclass
class MemoryResult:
    memory: dict[str, list[str | None]]
    retrieved: dict[str, list[str | None]]
    telemetry: dict[str, Any]


def edit_memory(
    pipe: GenerationPipeline, dataset: str, cases: Sequence[EditCase], config: MemoryConfig
) -> EpisodicMemory:
    """A memory holding the N edit requests, each written through the gate (timed)."""
    mem = EpisodicMemory(
        pipe, None, config.with_overrides({"generation.prompt_format": EDIT_PROMPT_FORMAT[dataset]})
    )
    mem.observe_many(
        [c.fact for c in cases],
        docs=[edit_doc(dataset, c) for c in cases],
        scopes=[c.subject for c in cases],
        progress=True,
    )
    return mem


def hei_nw_memory(
    pipe: GenerationPipeline, dataset: str, cases: Sequence[EditCase], config: MemoryConfig
) -> tuple[MemoryResult, EpisodicMemory]:
    """Write the N facts through the gate, calibrate the relevance floor, recall each cue."""
    t0 = time.perf_counter()
    mem = edit_memory(pipe, dataset, cases, config)
    write_s = time.perf_counter() - t0
    # The scope guard is the relevance test when it is on; the floor only without it (and,
    # with name anchors, for cues that name nothing).
    scope = mem.recaller.scope_slot
    floor = relevance_floor(mem) if scope in (None, NAMES) else None
    mem.recaller.min_score = floor
    raw = case_prompts(cases)
    memory: dict[str, list[str | None]] = {}
    retrieved: dict[str, list[str | None]] = {}
    t1 = time.perf_counter()
    for kind in QUERY_KINDS:
        recalls = mem.recall_many(raw[kind])
        memory[kind] = [r.memory_text or None for r in recalls]
        retrieved[kind] = [r.hits[0].trace["trace_id"] if r.hits else None for r in recalls]
    query_s = (time.perf_counter() - t1) / max(1, 3 * len(cases))
    telemetry = {
        "written": len(mem),
        "offered": len(cases),
        "relevance_test": {None: "floor", NAMES: "names+floor"}.get(scope, f"scope:{scope}"),
        "relevance_floor": floor,
        "write_s_per_edit": write_s / max(1, len(cases)),
        "recall_s_per_query": query_s,
    }
    return MemoryResult(memory, retrieved, telemetry), mem


def relevance_floor(mem: EpisodicMemory) -> float:
    """Largest top-1 key cosine reached by packaged general questions (no edited subject).

    A label-free null distribution: these questions are about arithmetic, animals, colours
    and the like, so whatever they retrieve is a false positive by construction. With name
    anchors the floor judges only cues that name nothing, so only such questions set it.
    """
    if len(mem) == 0:
        return 1.0
    null = [q.question for q in CORE_QA] + list(SEMANTIC_QA)
    if mem.recaller.scope_slot == NAMES:
        null = [q for q in null if not name_anchors(q)]
    saved = mem.recaller.min_score
    mem.recaller.min_score = None
    try:
        scores = [r.hits[0].ann_score for r in mem.recall_many(null) if r.hits]
    finally:
        mem.recaller.min_score = saved
    return float(max(scores)) if scores else 0.0


PLAIN_GUARDS: tuple[str | None, ...] = (None, "subject", "names")


def plain_memory(
    dataset: str, cases: Sequence[EditCase], retriever: str, guard: str | None
) -> MemoryResult:
    """Plain baseline: ``retriever`` over the N fact sentences, top-1 pasted.

    ``guard`` is HEI-NW's relevance test, given to the baseline like for like: ``None``
    pastes always; ``"subject"`` only when the cue names the edit's subject (the
    user-given scope guard); ``"names"`` only a fact whose text names something the cue
    names (:func:`~hei_nw.memory.slots.name_anchors`, no user input), and a cue that
    names nothing gets the top-1 as unguarded (the plain retriever has no floor)."""
    if guard not in PLAIN_GUARDS:
        raise ValueError(f"plain baseline guard must be one of {PLAIN_GUARDS}, got {guard!r}")
    ret = make_retriever(retriever)
    ids = [edit_doc(dataset, c) for c in cases]
    ret.index_passages(ids, [c.fact for c in cases])
    by_id = {edit_doc(dataset, c): c for c in cases}
    raw = case_prompts(cases)
    memory: dict[str, list[str | None]] = {}
    retrieved: dict[str, list[str | None]] = {}
    depth = 1 if guard is None else 16  # a guard filters the same shortlist width as HEI-NW's

    def keep(cue: str, case: EditCase) -> bool:
        if guard == "subject":
            return in_scope(cue, case.subject)
        if guard == "names":
            names = name_anchors(cue)
            return not names or bool(names & name_anchors(case.fact))
        return True

    for kind in QUERY_KINDS:
        memory[kind], retrieved[kind] = [], []
        for cue, hits in zip(raw[kind], ret.search(raw[kind], depth), strict=True):
            kept = [h for h in hits if keep(cue, by_id[h[0]])][:1]
            retrieved[kind].append(kept[0][0] + "#0:0" if kept else None)
            memory[kind].append(by_id[kept[0][0]].fact if kept else None)
    return MemoryResult(memory, retrieved, {"retriever": retriever, "guard": guard})


def with_memory(cases: Sequence[EditCase], layout: str, mem: MemoryResult) -> EditQueries:
    q = build_queries(cases, layout, mem.memory)
    return EditQueries(q.prompts, q.memory, q.fired, mem.retrieved)


PLAIN_ROWS: dict[str, list[tuple[str, str | None]]] = {
    "rag": [("minilm", g) for g in PLAIN_GUARDS],
    "all": [(r, g) for r in ("minilm", "bm25", "hybrid") for g in PLAIN_GUARDS],
}
_GUARD_TEXT = {
    None: "always",
    "subject": "only when the cue names the edit's subject (HEI-NW's user-given scope guard)",
    "names": "only when its text names something the cue names (HEI-NW's name anchors; "
    "a cue naming nothing gets the top-1)",
}


def run_edit_benchmark(
    config: Any, pipe: GenerationPipeline, info: dict[str, Any]
) -> dict[str, Any]:
    """One mode on ``--edits N`` cases of ``--data``; returns the report (not yet written).

    ``pipe`` is the mode's model (B2/B3: adapted); the pre-edit reference is always the
    base model, loaded here when the mode changed the weights.
    """
    from hei_nw.eval.modes import MODES

    mode = MODES[config.mode]
    cases = load_edit_split(config.data, config.scenario, config.edits, config.split)
    base = (
        pipe
        if mode.weights is None
        else load_base(config.model, config.dtype, device=config.device)[2]
    )
    targets = edit_targets(cases)
    plain = build_queries(cases, config.scenario)
    t0 = time.perf_counter()
    pre = cached_outputs(base, plain, targets, config.batch_size)
    timings = {"pre_s": time.perf_counter() - t0}
    telemetry: dict[str, Any] = {}
    queries = plain
    if mode.memory:
        result, _ = hei_nw_memory(pipe, config.scenario, cases, config.memory)
        queries = with_memory(cases, config.scenario, result)
        telemetry = result.telemetry
    t1 = time.perf_counter()
    # Same weights as the pre-edit pass (B0, B1): unchanged prompts reuse its outputs.
    reuse = (plain, pre) if pipe is base else None
    post = run_outputs(pipe, queries, targets, config.batch_size, reuse)
    timings["post_s"] = time.perf_counter() - t1
    agg, rows = score(cases, pre, post, queries, config.scenario)
    report: dict[str, Any] = {
        "run": info,
        "aggregate": agg,
        "memory": telemetry,
        "rows": rows,
        "baselines": [],
        "timings": timings,
    }
    for retriever, guard in PLAIN_ROWS.get(config.baseline, []):
        t2 = time.perf_counter()
        rq = with_memory(
            cases, config.scenario, plain_memory(config.scenario, cases, retriever, guard)
        )
        rag_agg, _ = score(
            cases,
            pre,
            run_outputs(base, rq, targets, config.batch_size, (plain, pre)),
            rq,
            config.scenario,
        )
        name = f"plain-{retriever}" + (f"+{guard}" if guard else "")
        desc = (
            f"{retriever} retrieval over the N fact sentences, top-1 fact pasted "
            f"{_GUARD_TEXT[guard]}; base weights, no HEI-NW"
        )
        report["baselines"].append({"name": name, "description": desc, "aggregate": rag_agg})
        timings[f"{name}_s"] = time.perf_counter() - t2
    return report


__all__ = [
    "EDIT_FORMATS",
    "EDIT_PROMPT_FORMAT",
    "EDIT_SCENARIOS",
    "PLAIN_GUARDS",
    "PLAIN_ROWS",
    "MemoryResult",
    "build_queries",
    "case_prompts",
    "edit_memory",
    "hei_nw_memory",
    "plain_memory",
    "relevance_floor",
    "run_edit_benchmark",
    "with_memory",
    "write_edit_reports",
]
