from hei_nw.datasets import query_items
from hei_nw.datasets.scenario_a import generate
from hei_nw.datasets.scenario_e import generate as generate_e
from hei_nw.eval.long_context import (
    build_context,
    build_history,
    fit_history,
    run_long_context,
)
from hei_nw.eval.qa import GenConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import build_prompt


def test_pack_context_not_empty() -> None:
    assert len(build_context({"context": "X", "query": "Q", "expected": "X"})) > 0
    records = generate(n=8, seed=0)
    history = build_history(records)
    assert len(history) == len(records)  # distractors and filler included
    assert any(r["kind"] == "hard_negative" and r["context"] in history for r in records)


def test_returns_compute_fields(tiny_pipe: GenerationPipeline) -> None:
    records = generate(n=3, seed=0)
    rows = run_long_context(tiny_pipe, records, GenConfig(max_new_tokens=4, batch_size=2))
    assert len(rows) == 3
    for row in rows:
        assert row["compute"]["attention_flops"] > 0
        assert row["compute"]["kv_cache_bytes"] > 0
        assert row["prompt_tokens"] > 100


def test_truncation_when_history_exceeds_context(tiny_pipe: GenerationPipeline) -> None:
    records = generate_e(n=20, seed=0)  # sessions: far more than the tiny model's 384 tokens
    gen = GenConfig(max_new_tokens=4)
    item = query_items(records)[0]
    notes, cut = fit_history(tiny_pipe, build_history(records), item["query"], gen)
    assert cut
    assert tiny_pipe.count_tokens(build_prompt(item["query"], notes)) <= tiny_pipe.max_context - 4
    assert notes.endswith(records[-1]["context"])  # newest history kept
    rows = run_long_context(tiny_pipe, records, gen)
    assert all(r["truncated"] for r in rows)
    short = run_long_context(tiny_pipe, [item], gen)
    assert not short[0]["truncated"]
