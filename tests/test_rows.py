import pytest

from hei_nw.datasets import SCENARIOS, query_items
from hei_nw.datasets.general import CORE_QA, HELDOUT_TEXT, SEMANTIC_FACTS, SEMANTIC_QA
from hei_nw.eval.prompting import build_prompt
from hei_nw.hopfield import HopfieldCompletion
from hei_nw.keyer import DGKeyer
from hei_nw.store import AssociativeStore, StoreConfig
from hei_nw.traces import Salience, SpanRef, new_trace
from hei_nw.training.rows import (
    IGNORE_INDEX,
    CueAnswerRowBuilder,
    LMReplayRowBuilder,
    TrainRow,
    encode_row,
    parse_trace_id,
    record_index,
    self_answer_rows,
    semantic_rows,
)
from tests.replay_helpers import queue_for


def test_parse_trace_id_roundtrip_and_errors():
    doc = "scenario=A;n=8;seed=7;index=3"
    assert parse_trace_id(f"{doc}#0:42") == (doc, 0, 42)
    assert record_index(f"{doc}#0:42") == 3
    for bad in ("nohash", "doc#12", "doc#a:b"):
        with pytest.raises(ValueError, match="not a trace id"):
            parse_trace_id(bad)


def test_lm_replay_row_reconstructs_from_index():
    q, records = queue_for("A")
    rows = LMReplayRowBuilder("A", 24, 7).rows(q.items)
    assert len(rows) == len(q)
    for row in rows:
        assert row.kind == "episodic-lm" and row.prompt == ""
        assert row.target == records[record_index(row.trace_id or "")]["episode_text"]
    with pytest.raises(ValueError, match="not the replayed stream"):
        LMReplayRowBuilder("A", 24, 8).rows(q.items)


def test_cue_answer_row_uses_entity_slots_only():
    q, _ = queue_for("A")
    item = q.items[0]
    builder = CueAnswerRowBuilder("A")
    rows = builder.rows([item])
    assert len(rows) == 9  # three askable slots x three training phrasings
    slots = item.entity_slots
    assert {r.target.strip() for r in rows} <= set(slots.values())
    # Change one slot value: the rows follow the slots, nothing else.
    item.entity_slots = dict(slots, where="Nowhere Plaza")
    moved = builder.rows([item])
    assert all("Nowhere Plaza" in r.prompt or r.target.strip() == "Nowhere Plaza" for r in moved)
    # per_item rotates through the phrasings as the item is replayed.
    rot = CueAnswerRowBuilder("A", per_item=3)
    item.replays = 1
    first = [r.prompt for r in rot.rows([item])]
    item.replays = 2
    second = [r.prompt for r in rot.rows([item])]
    assert len(first) == 3 and not set(first) & set(second)
    assert CueAnswerRowBuilder("A").to_hf_dataset([item]).num_rows == 9


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_no_evaluation_cue_in_training_rows(scenario):
    q, records = queue_for(scenario)
    rows = CueAnswerRowBuilder(scenario).rows(q.items) + LMReplayRowBuilder(scenario, 24, 7).rows(
        q.items
    )
    trained = " || ".join(r.prompt + r.target for r in rows)
    eval_cues = {c for r in records for c in r["eval_cues"]} | {
        r["query"] for r in query_items(records)
    }
    assert eval_cues
    leaked = [c for c in eval_cues if c in trained]
    assert leaked == []


def test_no_raw_text_written_to_store(tmp_path):
    q, records = queue_for("A", n=8)
    keyer = DGKeyer()
    store = AssociativeStore(StoreConfig(), HopfieldCompletion(), tmp_path / "store")
    texts = [records[record_index(it.trace_id)]["episode_text"] for it in q.items]
    traces = [
        new_trace(
            it.trace_id,
            SpanRef(doc=parse_trace_id(it.trace_id)[0], start=0, end=len(t)),
            Salience(surprise=0.5, novelty=1.0, reward=0.0, pin=False, S=1.0),
            entity_slots=it.entity_slots,
        )
        for it, t in zip(q.items, texts, strict=True)
    ]
    store.write(keyer.keys(texts), traces)
    LMReplayRowBuilder("A", 8, 7).rows(q.items)  # rows are built in memory only
    store.save()
    blob = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert blob
    assert not any(t.encode() in blob for t in texts)


def test_encode_row_masks_prompt(tokenizer):
    row = TrainRow("cue-answer", "Question: Who?\nAnswer:", " Ana\n")
    enc = encode_row(tokenizer, row)
    n_prompt = len(tokenizer("Question: Who?\nAnswer:", add_special_tokens=False)["input_ids"])
    assert enc["labels"][:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert enc["labels"][n_prompt:] == enc["input_ids"][n_prompt:]
    lm = encode_row(tokenizer, TrainRow("semantic", "", "Some text."))
    assert IGNORE_INDEX not in lm["labels"] and lm["input_ids"][-1] == tokenizer.eos_token_id
    assert (
        len(encode_row(tokenizer, TrainRow("semantic", "", "word " * 500), max_len=16)["input_ids"])
        == 16
    )


def test_general_sets_are_disjoint_and_avoid_scenario_b_relations():
    assert len(CORE_QA) >= 100 and len(SEMANTIC_FACTS) >= 50 and HELDOUT_TEXT
    text = " ".join(SEMANTIC_FACTS).lower()
    for q in CORE_QA:
        assert q.question not in text
        for word in ("capital", "currency", "official language"):
            assert word not in q.question.lower()
    assert len(semantic_rows()) == len(SEMANTIC_FACTS)
    assert not {q.question for q in CORE_QA} & set(SEMANTIC_QA)


def test_self_answer_rows_use_the_models_own_answers(tiny_pipe):
    questions = SEMANTIC_QA[:4]
    rows = self_answer_rows(tiny_pipe, questions, batch_size=2)
    outs = tiny_pipe(
        [build_prompt(q) for q in questions],
        max_new_tokens=12,
        stop=("\n", "<|im_end|>"),
        batch_size=2,
    )
    expected = [o["text"].strip() for o in outs if o["text"].strip()]
    assert [r.target.strip() for r in rows] == expected
    assert all(r.kind == "semantic" and r.prompt.startswith("Question: ") for r in rows)
