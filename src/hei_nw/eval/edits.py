"""Real-fact hot-patch benchmark: CounterFact / zsRE edits through B0-B3 and a plain baseline.

``python -m hei_nw.eval.harness --mode B1 --scenario counterfact --data FILE --edits 100``

All ``--edits N`` facts are live at once (sequential / lifelong editing): B1 streams the
N fact sentences through the write gate into one store, then asks every rewrite,
rephrase and locality prompt. Scores follow the knowledge-editing field
(:mod:`hei_nw.metrics.edit_metrics`): ``rewrite_acc``, ``rephrase_acc`` and
``locality``, each as teacher-forced token accuracy (``_tf``) and as generation
(``_gen``). Locality compares with the *same model before the edit* (B0 on the base
weights), computed in the same run.

Memory must not fire on unrelated prompts. With the recall scope guard on (the default
for edit data, ``--recall.scope auto``), a stored edit is recalled only by a cue that
names the edit request's subject (:func:`hei_nw.recall.in_scope`). Without the guard,
recall has a relevance floor calibrated without labels: the top-1 key cosine that
packaged general questions reach against the store; a cue must beat the largest of
those to pull a fact into the prompt. The floor is not applied on top of the guard: at
N=1000 some general questions name an edited subject (a country), which lifted the floor
to 0.34 and cut off 14% of the rephrase prompts (CounterFact N=1000 B1: rephrase P@1
0.845 with floor and guard, 0.983 with the guard alone; locality false positives 0.027
vs 0.031). The report gives the false-positive rate on locality prompts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hei_nw.baselines.rag import BUNDLED_MINILM, FaissIndex, HFEmbedder
from hei_nw.datasets.edits import EDIT_SCENARIOS, EditCase, edit_doc, load_edits
from hei_nw.datasets.general import CORE_QA, SEMANTIC_QA
from hei_nw.eval.memory_mode import MemorySettings, build_stack
from hei_nw.eval.prompting import STOP, build_prompt, cloze_prompt
from hei_nw.metrics.edit_metrics import (
    agreement,
    names_edited_subject,
    same_output,
    target_hit,
)
from hei_nw.metrics.teacher_forced import Forced, teacher_force
from hei_nw.models.base import GenerationPipeline, Prompt
from hei_nw.models.sources import cache_root
from hei_nw.traces import InMemoryDocuments
from hei_nw.utils.io import write_json, write_markdown
from hei_nw.writer import EpisodeInput

logger = logging.getLogger(__name__)

QUERY_KINDS = ("rewrite", "rephrase", "locality")


# --- prompt formats -------------------------------------------------------------------


def question_prompt(prompt: str, memory: str | None) -> Prompt:
    """zsRE questions: the harness's Notes/Question/Answer layout."""
    return build_prompt(prompt, memory)


EDIT_FORMATS: dict[str, Callable[[str, str | None], Prompt]] = {
    "counterfact": cloze_prompt,  # few-shot Notes/Complete/Answer (see prompting.cloze_prompt)
    "zsre": question_prompt,
}


@dataclass(frozen=True)
class EditQueries:
    """The three prompts of every case, with the memory each one recalled (or ``None``)."""

    prompts: dict[str, list[Prompt]]
    memory: dict[str, list[str | None]]
    fired: dict[str, list[bool]]
    retrieved: dict[str, list[str | None]]


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


# --- memory conditions ----------------------------------------------------------------


@dataclass
class MemoryResult:
    memory: dict[str, list[str | None]]
    retrieved: dict[str, list[str | None]]
    telemetry: dict[str, Any]


def hei_nw_memory(
    pipe: GenerationPipeline,
    dataset: str,
    cases: Sequence[EditCase],
    settings: MemorySettings,
) -> MemoryResult:
    """Write the N facts through the gate, calibrate the relevance floor, recall each cue."""
    docs = InMemoryDocuments({edit_doc(dataset, c): c.fact for c in cases})
    stack = build_stack(pipe, settings, docs)
    t0 = time.perf_counter()
    decisions = stack.writer.write_stream(hei_nw_episodes(dataset, cases))
    write_s = time.perf_counter() - t0
    # The scope guard is the relevance test when it is on; the floor only without it.
    floor = None if settings.scope_slot else relevance_floor(stack)
    stack.recall.min_score = floor
    raw = case_prompts(cases)
    memory: dict[str, list[str | None]] = {}
    retrieved: dict[str, list[str | None]] = {}
    t1 = time.perf_counter()
    for kind in QUERY_KINDS:
        recalls = stack.recall.recall(raw[kind])
        memory[kind] = [r.memory_text or None for r in recalls]
        retrieved[kind] = [r.hits[0].trace["trace_id"] if r.hits else None for r in recalls]
    query_s = (time.perf_counter() - t1) / max(1, 3 * len(cases))
    telemetry = {
        "written": int(sum(d.write or not settings.use_gate for d in decisions)),
        "offered": len(cases),
        "relevance_test": f"scope:{settings.scope_slot}" if settings.scope_slot else "floor",
        "relevance_floor": floor,
        "write_s_per_edit": write_s / max(1, len(cases)),
        "recall_s_per_query": query_s,
    }
    return MemoryResult(memory, retrieved, telemetry)


def hei_nw_episodes(dataset: str, cases: Sequence[EditCase]) -> list[EpisodeInput]:
    """Each edit's fact sentence as an episode; the slots keep subject, prompt and value."""
    return [
        EpisodeInput(
            text=c.fact,
            doc=edit_doc(dataset, c),
            start=0,
            end=len(c.fact),
            group_id=i,
            entity_slots={"subject": c.subject, "prompt": c.prompt, "value": c.target_new},
            source=f"edits-{dataset}",
        )
        for i, c in enumerate(cases)
    ]


def relevance_floor(stack: Any) -> float:
    """Largest top-1 key cosine reached by packaged general questions (no edited subject).

    A label-free null distribution: these questions are about arithmetic, animals, colours
    and the like, so whatever they retrieve is a false positive by construction.
    """
    if len(stack.store) == 0:
        return 1.0
    null = [q.question for q in CORE_QA] + list(SEMANTIC_QA)
    scores = [r.hits[0].ann_score for r in _raw_recall(stack, null) if r.hits]
    return float(max(scores)) if scores else 0.0


def _raw_recall(stack: Any, cues: Sequence[str]) -> list[Any]:
    saved = stack.recall.min_score
    stack.recall.min_score = None
    try:
        return list(stack.recall.recall(cues))
    finally:
        stack.recall.min_score = saved


def rag_memory(dataset: str, cases: Sequence[EditCase]) -> MemoryResult:
    """Plain baseline: MiniLM cosine over the N fact sentences, top-1 always pasted."""
    emb = HFEmbedder(BUNDLED_MINILM)
    index = FaissIndex(emb.dim)
    ids = [edit_doc(dataset, c) for c in cases]
    index.add(ids, emb.embed_passages([c.fact for c in cases]))
    fact_of = {edit_doc(dataset, c): c.fact for c in cases}
    raw = case_prompts(cases)
    memory: dict[str, list[str | None]] = {}
    retrieved: dict[str, list[str | None]] = {}
    for kind in QUERY_KINDS:
        hits = index.search(emb.embed_queries(raw[kind]), 1)
        retrieved[kind] = [h[0][0] + "#0:0" if h else None for h in hits]
        memory[kind] = [fact_of[h[0][0]] if h else None for h in hits]
    return MemoryResult(memory, retrieved, {"embedder": emb.name})


# --- scoring --------------------------------------------------------------------------


@dataclass
class Outputs:
    """Generated text and teacher-forced results of one model on one set of prompts."""

    text: dict[str, list[str]]
    forced: dict[str, list[Any]]


def run_outputs(
    pipe: GenerationPipeline,
    cases: Sequence[EditCase],
    queries: EditQueries,
    targets: dict[str, list[str]],
    batch_size: int,
) -> Outputs:
    text: dict[str, list[str]] = {}
    forced: dict[str, list[Any]] = {}
    for kind in QUERY_KINDS:
        prompts = queries.prompts[kind]
        outs = pipe(prompts, max_new_tokens=12, stop=STOP, batch_size=batch_size)
        text[kind] = [o["text"] for o in outs]
        forced[kind] = teacher_force(pipe, prompts, targets[kind], batch_size)
    return Outputs(text, forced)


def cached_outputs(
    pipe: GenerationPipeline,
    cases: Sequence[EditCase],
    queries: EditQueries,
    targets: dict[str, list[str]],
    batch_size: int,
    cache: Path | None = None,
) -> Outputs:
    """:func:`run_outputs` of the pre-edit model, cached on disk: every mode of one
    benchmark cell shares the same reference, so it is computed once (key: model id,
    prompts and targets), under the user cache (``$HEI_NW_CACHE``)."""
    blob = json.dumps([pipe.model_id, queries.prompts, targets], sort_keys=True, default=str)
    folder = cache or cache_root() / "edits-pre"
    path = folder / f"pre-{hashlib.sha256(blob.encode()).hexdigest()[:24]}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        forced = {k: [Forced(**f) for f in v] for k, v in data["forced"].items()}
        return Outputs(data["text"], forced)
    out = run_outputs(pipe, cases, queries, targets, batch_size)
    write_json(
        path,
        {"text": out.text, "forced": {k: [asdict(f) for f in v] for k, v in out.forced.items()}},
    )
    return out


def edit_targets(cases: Sequence[EditCase]) -> dict[str, list[str]]:
    return {
        "rewrite": [c.target_new for c in cases],
        "rephrase": [c.target_new for c in cases],
        "locality": [c.locality_answer for c in cases],
    }


def score(
    cases: Sequence[EditCase],
    pre: Outputs,
    post: Outputs,
    queries: EditQueries,
    dataset: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Aggregate metrics and per-case rows with ``pre``/``post`` blocks."""
    loc_tf = agreement(
        [f.argmax_ids for f in pre.forced["locality"]],
        [f.argmax_ids for f in post.forced["locality"]],
    )
    overlap = names_edited_subject([c.locality_prompt for c in cases], [c.subject for c in cases])
    rows = []
    for i, c in enumerate(cases):
        rows.append(
            {
                "case_id": c.case_id,
                "subject": c.subject,
                "target_new": c.target_new,
                "ground_truth": c.ground_truth,
                "locality_names_edited_subject": overlap[i],
                "pre": _block(pre, i, c),
                "post": {**_block(post, i, c), "locality_tf": loc_tf[i]},
                "scores": {
                    "rewrite_tf": post.forced["rewrite"][i].token_accuracy,
                    "rephrase_tf": post.forced["rephrase"][i].token_accuracy,
                    "locality_tf": loc_tf[i],
                    "rewrite_gen": float(target_hit(post.text["rewrite"][i], c.target_new)),
                    "rephrase_gen": float(target_hit(post.text["rephrase"][i], c.target_new)),
                    "locality_gen": float(
                        same_output(pre.text["locality"][i], post.text["locality"][i])
                    ),
                },
                "memory": {
                    k: {
                        "fired": queries.fired[k][i],
                        "retrieved": queries.retrieved[k][i],
                        "correct": queries.retrieved[k][i] is not None
                        and str(queries.retrieved[k][i]).startswith(edit_doc(dataset, c) + "#"),
                    }
                    for k in QUERY_KINDS
                },
                "prompt_sha256": {
                    k: hashlib.sha256(repr(queries.prompts[k][i]).encode()).hexdigest()
                    for k in QUERY_KINDS
                },
            }
        )
    return aggregate(rows), rows


def _block(out: Outputs, i: int, c: EditCase) -> dict[str, Any]:
    return {
        "rewrite": out.text["rewrite"][i],
        "rephrase": out.text["rephrase"][i],
        "locality": out.text["locality"][i],
        "rewrite_tf": out.forced["rewrite"][i].token_accuracy,
        "rephrase_tf": out.forced["rephrase"][i].token_accuracy,
    }


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    n = max(1, len(rows))
    keys = (
        "rewrite_tf",
        "rephrase_tf",
        "locality_tf",
        "rewrite_gen",
        "rephrase_gen",
        "locality_gen",
    )
    agg: dict[str, Any] = {"n": len(rows)}
    for k in keys:
        name = k.replace("rewrite_", "rewrite_acc_").replace("rephrase_", "rephrase_acc_")
        agg[name] = float(np.mean([r["scores"][k] for r in rows])) if rows else 0.0
    for kind in QUERY_KINDS:
        fired = [r["memory"][kind]["fired"] for r in rows]
        agg[f"{kind}_memory_fired"] = sum(fired) / n
        if kind != "locality":
            agg[f"{kind}_retrieval_p_at_1"] = sum(r["memory"][kind]["correct"] for r in rows) / n
    agg["locality_false_positive_rate"] = agg["locality_memory_fired"]
    agg.update(locality_split(rows))
    return agg


def locality_split(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Share of locality prompts naming an edited subject, and locality on the others
    (None when no row carries the flag or every prompt names one)."""
    flagged = [r for r in rows if "locality_names_edited_subject" in r]
    if not flagged:
        return {}
    rest = [r for r in flagged if not r["locality_names_edited_subject"]]
    out: dict[str, Any] = {
        "locality_names_edited_subject_rate": (len(flagged) - len(rest)) / len(flagged),
        "locality_disjoint_n": len(rest),
    }
    for k in ("locality_tf", "locality_gen"):
        out[f"{k}_disjoint"] = float(np.mean([r["scores"][k] for r in rest])) if rest else None
    return out


def write_edit_reports(outdir: str | Path, stem: str, report: dict[str, Any]) -> tuple[Path, Path]:
    out = Path(outdir)
    json_path = write_json(out / f"{stem}_metrics.json", report)
    md_path = write_markdown(out / f"{stem}_report.md", edit_markdown(report))
    return json_path, md_path


def edit_markdown(report: dict[str, Any]) -> str:
    run, agg = report["run"], report["aggregate"]
    smoke = " (smoke: n < 500)" if run["n"] < 500 else ""
    lines = [
        f"# {run['dataset']} — {run['mode']}, N={run['n']} edits{smoke}",
        "",
        f"Command: `{run['command']}`  ",
        f"Model `{run['model_id']}` ({run['dtype']}, {run['device']}), seed {run['seed']}, "
        f"batch {run['batch_size']}, data `{run['data']}`.",
        "",
        "| scoring | rewrite_acc | rephrase_acc | locality |",
        "|---|---|---|---|",
        f"| teacher-forced token accuracy | {agg['rewrite_acc_tf']:.3f} | {agg['rephrase_acc_tf']:.3f} | {agg['locality_tf']:.3f} |",
        f"| generation (exact match) | {agg['rewrite_acc_gen']:.3f} | {agg['rephrase_acc_gen']:.3f} | {agg['locality_gen']:.3f} |",
        "",
        f"Memory fired on {agg['rewrite_memory_fired']:.3f} of rewrite, "
        f"{agg['rephrase_memory_fired']:.3f} of rephrase and {agg['locality_memory_fired']:.3f} "
        f"of locality prompts (locality false-positive rate). Retrieval P@1: rewrite "
        f"{agg.get('rewrite_retrieval_p_at_1', 0):.3f}, rephrase {agg.get('rephrase_retrieval_p_at_1', 0):.3f}.",
        "",
    ]
    if agg.get("locality_disjoint_n"):
        lines += [
            f"{agg['locality_names_edited_subject_rate']:.3f} of the locality prompts name the "
            "subject of an edit in this batch (there a changed answer is the edit applying). "
            f"On the other {agg['locality_disjoint_n']}: locality_tf "
            f"{agg['locality_tf_disjoint']:.3f}, locality_gen {agg['locality_gen_disjoint']:.3f}.",
            "",
        ]
    for b in report.get("baselines", []):
        a = b["aggregate"]
        lines += [
            f"Baseline `{b['name']}` ({b['description']}): rewrite_acc_tf {a['rewrite_acc_tf']:.3f}, "
            f"rephrase_acc_tf {a['rephrase_acc_tf']:.3f}, locality_tf {a['locality_tf']:.3f}; "
            f"generation {a['rewrite_acc_gen']:.3f} / {a['rephrase_acc_gen']:.3f} / {a['locality_gen']:.3f}.",
            "",
        ]
    if report.get("memory"):
        lines += [
            "Memory telemetry: `"
            + ", ".join(f"{k}={v}" for k, v in report["memory"].items())
            + "`",
            "",
        ]
    return "\n".join(lines)


def run_edit_benchmark(
    config: Any, pipe: GenerationPipeline, info: dict[str, Any]
) -> dict[str, Any]:
    """One mode on ``--edits N`` cases of ``--data``; returns the report (not yet written).

    ``pipe`` is the mode's model (B2/B3: adapted); the pre-edit reference is always the
    base model, loaded here when the mode changed the weights.
    """
    from hei_nw.eval.modes import MODES
    from hei_nw.models.base import load_base

    mode = MODES[config.mode]
    cases = load_edits(config.data, config.scenario, config.edits)
    base = (
        pipe
        if mode.weights is None
        else load_base(config.model, config.dtype, device=config.device)[2]
    )
    targets = edit_targets(cases)
    plain = build_queries(cases, config.scenario)
    pre = cached_outputs(base, cases, plain, targets, config.batch_size)
    telemetry: dict[str, Any] = {}
    queries = plain
    if mode.memory:
        mem = hei_nw_memory(pipe, config.scenario, cases, config.memory_settings())
        queries = with_memory(cases, config.scenario, mem)
        telemetry = mem.telemetry
    post = (
        pre
        if queries is plain and pipe is base
        else run_outputs(pipe, cases, queries, targets, config.batch_size)
    )
    agg, rows = score(cases, pre, post, queries, config.scenario)
    report: dict[str, Any] = {
        "run": info,
        "aggregate": agg,
        "memory": telemetry,
        "rows": rows,
        "baselines": [],
    }
    if config.baseline == "rag":
        rag = rag_memory(config.scenario, cases)
        rq = with_memory(cases, config.scenario, rag)
        rag_agg, _ = score(
            cases,
            pre,
            run_outputs(base, cases, rq, targets, config.batch_size),
            rq,
            config.scenario,
        )
        report["baselines"].append(
            {"name": "plain-retrieval", "description": RAG_DESCRIPTION, "aggregate": rag_agg}
        )
    return report


RAG_DESCRIPTION = (
    "MiniLM cosine over the N fact sentences (faiss, exact), top-1 fact always pasted "
    "before the prompt, base weights, no HEI-NW"
)


def with_memory(cases: Sequence[EditCase], layout: str, mem: MemoryResult) -> EditQueries:
    q = build_queries(cases, layout, mem.memory)
    return EditQueries(q.prompts, q.memory, q.fired, mem.retrieved)


__all__ = [
    "EDIT_FORMATS",
    "EDIT_SCENARIOS",
    "QUERY_KINDS",
    "EditQueries",
    "MemoryResult",
    "Outputs",
    "aggregate",
    "build_queries",
    "edit_targets",
    "hei_nw_episodes",
    "hei_nw_memory",
    "load_edits",
    "rag_memory",
    "relevance_floor",
    "run_edit_benchmark",
    "run_outputs",
    "score",
    "write_edit_reports",
]
