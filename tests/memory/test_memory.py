"""EpisodicMemory, the front door: observe -> recall -> generate, forget, save/open, decay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hei_nw import EpisodicMemory, MemoryConfig
from hei_nw.memory.store import StoreError
from hei_nw.models.base import GenerationPipeline
from tests.conftest import tiny_memory

FACTS = [
    "Server stargazer runs Postgres on port 5433.",
    "Alice left a backpack at Café Lumen on Monday morning.",
    "The boiler in flat 12 was serviced by Omar on Friday.",
]


def test_observe_keeps_text_out_of_the_trace(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    decisions = mem.observe_many(FACTS)
    assert all(d.written for d in decisions) and len(mem) == 3
    for trace in mem.traces():
        dumped = json.dumps(trace)
        assert not any(fact in dumped for fact in FACTS)  # pointer only
        ref = trace["tokens_span_ref"]
        assert mem.documents.text(ref["doc"], ref["start"], ref["end"]) in FACTS
    hit = mem.recall("Which port does Postgres use on stargazer?", k=1)[0]
    assert hit.text == FACTS[0] and hit.trace["trace_id"] == decisions[0].trace_id


def test_rejected_text_is_not_kept(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.tau": 100.0})
    d = mem.observe(FACTS[0])
    assert not d.written and d.trace_id is None and len(mem) == 0 and len(mem.documents) == 0


def test_generate_puts_recalled_memory_in_the_prompt(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    mem.observe_many(FACTS)
    answer = mem.answer(["Which port does Postgres use on stargazer?"])[0]
    assert FACTS[0] in str(answer.prompt)  # the packed memory reached the model's input
    bare = mem.answer(["Which port does Postgres use on stargazer?"], memory=False)[0]
    assert FACTS[0] not in str(bare.prompt)
    assert isinstance(mem.generate("Which port does Postgres use on stargazer?"), str)


def test_answer_logs_served_queries_only_when_asked(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    mem.observe_many(FACTS)
    mem.answer(["Which port does Postgres use on stargazer?"])
    assert len(mem.queries) == 0
    mem.answer(["Which port does Postgres use on stargazer?"], log=True, topk=5)
    (q,) = mem.queries.entries
    assert q.trace_ids[0] == mem.traces()[0]["trace_id"]
    assert len(q.answer_ids) == len(q.topk_ids) == len(q.topk_logprobs) > 0
    assert all(len(row) == 5 for row in q.topk_ids)


def test_forget_by_id_and_predicate(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    ids = [d.trace_id for d in mem.observe_many(FACTS)]
    mem.answer(["Which port does Postgres use on stargazer?"], log=True)
    assert mem.forget(ids[0]) == [ids[0]]
    assert all(
        h.trace["trace_id"] != ids[0] for r in mem.recall_many([FACTS[0]], k=3) for h in r.hits
    )
    assert mem.queries.entries[0].forgotten  # the next consolidation unlearns it
    assert mem.forget(lambda r: "Omar" in r.text) == [ids[2]]
    assert len(mem) == 1 and len(mem.documents) == 1
    assert mem.forget("no-such-trace") == []


def test_save_and_open_keep_documents_queries_and_settings(
    tiny_pipe: GenerationPipeline, tmp_path: Path
) -> None:
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False, "recall.top_m": 2})
    mem.observe_many(FACTS)
    mem.answer(["Where did Alice leave a backpack?"], log=True)
    mem.save(tmp_path / "m")
    back = EpisodicMemory.open(tmp_path / "m", model=tiny_pipe)
    assert back.config.recall.top_m == 2 and len(back) == 3 and len(back.queries) == 1
    assert (
        back.recall("Where did Alice leave a backpack?", k=1)[0].text in FACTS
    )  # packs after reopen
    more = back.observe("A new fact about Zed's bicycle at Pier 4.")
    assert more.trace_id is not None and more.trace_id not in {t["trace_id"] for t in mem.traces()}


def test_bad_paths_fail_with_one_clear_error(tiny_pipe: GenerationPipeline, tmp_path: Path) -> None:
    file = tmp_path / "not-a-folder"
    file.write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        tiny_memory(tiny_pipe, path=file)
    with pytest.raises(StoreError, match="no store"):
        EpisodicMemory.open(tmp_path / "missing", model=tiny_pipe)
    mem = tiny_memory(tiny_pipe, {"gate.use_for_writes": False})
    mem.observe_many(FACTS)
    mem.save(tmp_path / "m")
    other = MemoryConfig().with_overrides({"keyer.semantic": False, "keyer.seed": 5})
    with pytest.raises(StoreError, match="different keyer"):
        EpisodicMemory(tiny_pipe, tmp_path / "m", other)


def test_capacity_eviction_keeps_pins(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(
        tiny_pipe,
        {"gate.use_for_writes": False, "eviction.capacity": 2, "eviction.auto": True},
    )
    pinned = mem.observe("Remember this: the vault code is 9931.")
    assert pinned.pin
    mem.observe_many(FACTS)
    assert len(mem) == 2
    assert pinned.trace_id in mem.store.slot_of  # never evicted


def test_ttl_decay_forgets_old_unpinned_traces(tiny_pipe: GenerationPipeline) -> None:
    clock = iter(float(t) for t in range(10)).__next__
    mem = tiny_memory(
        tiny_pipe, {"gate.use_for_writes": False, "eviction.ttl_days": 1.0}, clock=clock
    )
    mem.observe_many(FACTS)
    for t in mem.traces():
        t["last_access"] = 0.0
    ids = sorted(t["trace_id"] for t in mem.traces())
    assert sorted(mem.decay(now=2 * 86_400.0)) == ids
    assert len(mem) == 0 and len(mem.documents) == 0


def test_empty_text_is_refused(tiny_pipe: GenerationPipeline) -> None:
    mem = tiny_memory(tiny_pipe)
    with pytest.raises(ValueError, match="empty"):
        mem.observe("   ")
