"""B1 end to end: gated writes, recall, and the recalled memory inside the model's prompt."""

import json
from pathlib import Path
from typing import Any

import pytest

from hei_nw.cli.harness import main
from hei_nw.datasets import Record, query_items
from hei_nw.datasets.scenario_c import generate
from hei_nw.eval.memory_mode import run_memory
from hei_nw.eval.modes import run_b0
from hei_nw.eval.qa import GenConfig
from hei_nw.memory import MemoryConfig
from hei_nw.models.base import GenerationPipeline


class PromptRecorder:
    """Wraps a pipeline and keeps every rendered prompt it is asked to complete."""

    def __init__(self, pipe: GenerationPipeline) -> None:
        self.pipe = pipe
        self.prompts: list[str] = []
        self.original = pipe.__class__.__call__

    def __call__(self, this: GenerationPipeline, prompts: Any, **kw: Any) -> Any:
        self.prompts.extend(this.render(p) for p in prompts)
        return self.original(this, prompts, **kw)


def test_recalled_memory_is_in_the_prompt(
    tiny_pipe: GenerationPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = generate(n=6, seed=3)
    items = query_items(records)
    recorder = PromptRecorder(tiny_pipe)
    monkeypatch.setattr(
        GenerationPipeline, "__call__", lambda this, prompts, **kw: recorder(this, prompts, **kw)
    )
    config = MemoryConfig().with_overrides({"gate.tau": 0.0})
    rows, extra, _ = run_memory(tiny_pipe, records, items, GenConfig(max_new_tokens=3), config)
    texts = extra["memory"]["texts_sample"]
    assert texts and all(texts)
    for text, prompt in zip(texts, recorder.prompts, strict=False):
        assert f"Notes: {text}\nQuestion:" in prompt
    # where retrieval hit, the gold episode itself is what reached the model
    by_id = {r["id"]: r for r in records}
    hits = [
        r
        for r in rows
        if r["retrieved_ids"]
        and by_id[r["retrieved_ids"][0]]["episode_text"] == by_id[r["id"]]["episode_text"]
    ]
    assert hits, "retrieval found nothing"
    for row in hits:
        assert any(
            by_id[row["id"]]["episode_text"] in p and row["query"] in p for p in recorder.prompts
        )
    assert extra["retrieval"]["p_at_1"] == len(hits) / len(rows)


def test_e0_empty_memory_is_b0(tiny_pipe: GenerationPipeline) -> None:
    """With nothing written (tau above any S), B1 sends B0's exact prompts: same answers."""
    from hei_nw.eval.config import HarnessConfig
    from hei_nw.eval.modes import RunContext

    records = generate(n=5, seed=8)
    items = query_items(records)
    gen = GenConfig(max_new_tokens=4)
    config = MemoryConfig().with_overrides({"gate.tau": 1e9})
    b1_rows, extra, _ = run_memory(tiny_pipe, records, items, gen, config)
    assert extra["gate"]["writes"] == 0
    ctx = RunContext(tiny_pipe, records, gen, HarnessConfig(mode="B0", scenario="C"))
    b0_rows = run_b0(ctx).rows
    assert [r["prompt_sha256"] for r in b1_rows] == [r["prompt_sha256"] for r in b0_rows]
    assert [r["prediction"] for r in b1_rows] == [r["prediction"] for r in b0_rows]


def test_harness_b1_writes_report_and_store(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, store = tmp_path / "m", tmp_path / "store"
    args = [
        "--mode",
        "B1",
        "--scenario",
        "C",
        "--n",
        "4",
        "--model",
        str(tiny_model_dir),
        "--outdir",
        str(out),
        "--max-new-tokens",
        "3",
        "--gate.tau",
        "0.0",
        "--store.path",
        str(store),
    ]
    assert main(args) == 0
    data = json.loads((out / "C_B1_metrics.json").read_text())
    extra = data["main"]["extra"]
    assert {
        "p_at_1",
        "p_at_5",
        "mrr",
        "collision_rate",
        "near_miss_rate",
        "completion_lift",
    } <= set(extra["retrieval"])
    assert {"pr_auc", "writes_per_1k_tokens", "precision", "recall"} <= set(extra["gate"])
    md = (out / "C_B1_report.md").read_text()
    assert "## Retrieval health" in md and "## Write gate" in md
    assert (store / "CURRENT").is_file()
    # rerun on the persisted store: traces are reused, not duplicated
    assert main(args) == 0
    again = json.loads((out / "C_B1_metrics.json").read_text())["main"]["extra"]["gate"]
    assert again["stored"] == extra["gate"]["stored"]
    # a store keyed by another keyer (here: no semantic block) is refused, not searched
    with pytest.raises(SystemExit) as exc:
        main([*args, "--no-semantic"])
    assert exc.value.code == 2
    assert "different keyer" in capsys.readouterr().err


def test_corrupt_store_path_is_one_line(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "CURRENT").write_text("garbage")
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--mode",
                "B1",
                "--scenario",
                "C",
                "--n",
                "2",
                "--model",
                str(tiny_model_dir),
                "--outdir",
                str(tmp_path / "o"),
                "--store.path",
                str(store),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--store.path" in err and "corrupt" in err
    assert not (tmp_path / "o" / "C_B1_metrics.json").exists()


def test_verbatim_repeat_counts_as_a_hit() -> None:
    from hei_nw.datasets import scenario_doc
    from hei_nw.eval.memory_mode import retrieval_health
    from hei_nw.memory.recall import Recall

    records = generate(n=40, seed=1)
    repeat = next(r for r in records if r["kind"] == "repeat")
    target = next(
        r for r in records if r["kind"] == "target" and r["episode_text"] == repeat["episode_text"]
    )
    other = next(r for r in records if r["kind"] == "target" and r is not target)

    def tid(r: Record) -> str:
        return f"{scenario_doc(r['pointer'])}#0:1"

    first_repeat = Recall("", [], [tid(repeat), tid(target)], [])
    first_other = Recall("", [], [tid(other), tid(target)], [])
    assert retrieval_health([target], [first_repeat], records)["p_at_1"] == 1.0
    health = retrieval_health([target], [first_other], records)
    assert health["p_at_1"] == 0.0 and health["mrr"] == 0.5


def test_every_baseline_is_scored_on_the_same_stored_items_and_counts_a_repeat(
    tiny_pipe: GenerationPipeline,
) -> None:
    from hei_nw.datasets import scenario_doc
    from hei_nw.eval.memory_mode import p_at_1_by_system
    from tests.conftest import tiny_memory

    records = generate(n=40, seed=1)
    repeat = next(r for r in records if r["kind"] == "repeat")
    target = next(
        r for r in records if r["kind"] == "target" and r["episode_text"] == repeat["episode_text"]
    )
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    mem.observe_many(
        [r["episode_text"] for r in records], docs=[scenario_doc(r["pointer"]) for r in records]
    )
    # The cue is the episode itself: the target and its verbatim repeat tie for first,
    # and either one is the same memory, so every system must score a hit.
    item = dict(target, query=target["episode_text"])
    scores = p_at_1_by_system(mem, [item], records, hei_nw=1.0)  # type: ignore[list-item]
    assert scores == {"hei_nw": 1.0, "minilm": 1.0, "bm25": 1.0, "hybrid": 1.0}
    # A cue about another episode is a miss for all of them.
    other = next(
        r for r in records if r["kind"] == "target" and r["episode_text"] != target["episode_text"]
    )
    wrong = dict(target, query=other["episode_text"])
    scores = p_at_1_by_system(mem, [wrong], records, hei_nw=0.0)  # type: ignore[list-item]
    assert scores["minilm"] == scores["bm25"] == scores["hybrid"] == 0.0


def test_name_rerank_moves_hits_that_share_the_cue_names_up_in_rank_units() -> None:
    from hei_nw.eval.memory_mode import name_rerank

    text_of = {
        "a": "Ana left a key at the Old Mill.",
        "b": "Ben left a key at the harbour.",
        "c": "Ana and Ben met at the Old Mill.",
    }
    hits = [("b", 9.0), ("a", 5.0), ("c", 0.1)]
    cue = "What did Ana leave at the Old Mill?"
    # shared names: b 0; a 2 (ana, old mill); c 1 (old mill; "ana and ben" is one name)
    # 1 per name: keys b 0, a 1 - 2 = -1, c 2 - 1 = 1
    assert [h[0] for h in name_rerank(cue, hits, text_of, 1.0)] == ["a", "b", "c"]
    # 0.4 per name: keys b 0, a 0.2, c 1.6: the retriever's top hit stays
    assert [h[0] for h in name_rerank(cue, hits, text_of, 0.4)] == ["b", "a", "c"]
    # names first: a (2), c (1), b (0)
    assert [h[0] for h in name_rerank(cue, hits, text_of, float("inf"))] == ["a", "c", "b"]
    # a cue naming nothing keeps the retriever's order; scores are carried, not rescored
    assert name_rerank("what was left there?", hits, text_of, 1.0) == hits
    assert name_rerank(cue, hits, text_of, 1.0)[0] == ("a", 5.0)


def test_baselines_with_name_rerank_are_scored_beside_the_plain_ones(
    tiny_pipe: GenerationPipeline,
) -> None:
    from hei_nw.datasets import scenario_doc
    from hei_nw.eval.memory_mode import baseline_hits
    from tests.conftest import tiny_memory

    records = generate(n=40, seed=1)
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    mem.observe_many(
        [r["episode_text"] for r in records], docs=[scenario_doc(r["pointer"]) for r in records]
    )
    items = [r for r in records if r["kind"] == "target"][:8]
    cues = [r["episode_text"] for r in items]
    hits = baseline_hits(mem, items, records, cues, name_ranks=(1.0, float("inf")))
    assert set(hits) == {
        f"{r}{s}" for r in ("minilm", "bm25", "hybrid") for s in ("", "+names@1", "+names@inf")
    }
    assert all(len(v) == len(items) for v in hits.values())
    # the plain rows do not depend on whether re-ranked rows are asked for
    plain = baseline_hits(mem, items, records, cues)
    assert all(plain[k] == hits[k] for k in plain)
