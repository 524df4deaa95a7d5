"""``hei_nw.eval.interference``: waves and the per-wave memory statistics."""

from __future__ import annotations

import math
from typing import Any, cast

import pytest

from hei_nw.datasets import get_scenario, query_items, scenario_doc
from hei_nw.eval.interference import cue_scores, split_waves, teacher_confidence, wave_stats
from hei_nw.memory import Answer
from hei_nw.memory.queries import ServedQuery
from hei_nw.memory.recall import Recall
from hei_nw.memory.store import Hit


def _answer(text: str, trace_doc: str | None) -> Answer:
    hits = [] if trace_doc is None else [Hit(cast(Any, {"trace_id": trace_doc + "#0:10"}), 1, 1)]
    output = cast(Any, {"text": text, "raw_text": text, "prompt_tokens": 1, "generated_tokens": 1})
    return Answer(output, Recall("", hits, [], []), None)


def test_split_waves_holds_per_wave_targets_in_stream_order() -> None:
    records = get_scenario("D").generate(12, 3)
    waves = split_waves(records, 3, 4)
    assert [r for w in waves for r in w] == records
    assert [len(query_items(w)) for w in waves] == [4, 4, 4]


def test_wave_stats_counts_own_recalls_teacher_em_and_distinct_traces() -> None:
    wave = query_items(get_scenario("D").generate(4, 1))[:3]
    asked = [(c, r) for r in wave for c in r["train_cues"][:2]]  # 6 cues, 2 per target
    own = [scenario_doc(r["pointer"]) for r in wave]
    answers = [
        _answer(wave[0]["answers"][0], own[0]),  # own trace, right answer
        _answer("nothing", own[0]),  # own trace, wrong answer
        _answer(wave[1]["answers"][0], own[0]),  # another's trace, right answer
        _answer("nothing", own[2]),  # another's trace, wrong
        _answer(wave[2]["answers"][0], own[2]),  # own trace, right
        _answer("nothing", None),  # nothing recalled
    ]
    # The log holds the five answers that recalled something; the teacher's top-1
    # log-probabilities per answer token.
    lps = [[-0.1, -0.3], [-2.0], [-0.4], [-1.0, -3.0], [-0.3]]
    served = [
        ServedQuery(c, "plain", [], "", [], [[0]] * len(lp), [[v] for v in lp])
        for (c, _), lp in zip(asked, lps, strict=False)
    ]
    stats = wave_stats(wave, cue_scores(asked, answers, served), written=5, served_logged=5)
    assert stats["targets"] == 3 and stats["cues"] == 6
    assert stats["traces_written"] == 5 and stats["served_logged"] == 5
    assert stats["served_traces"] == 2  # own[0] and own[2]
    assert stats["recall_top1_own"] == pytest.approx(3 / 6)
    assert stats["teacher_em"] == pytest.approx(3 / 6)
    assert stats["teacher_logprob_right"] == pytest.approx((-0.2 - 0.4 - 0.3) / 3)
    assert stats["teacher_logprob_wrong"] == pytest.approx((-2.0 - 2.0) / 2)


def _cue(trace: str | None, ok: bool, lp: float | None) -> dict[str, Any]:
    return {"trace": trace, "own": True, "ok": ok, "logprob": lp}


def test_teacher_confidence_scores_cues_and_traces_and_bins_traces() -> None:
    cues = [
        _cue("t1", True, -0.1),
        _cue("t1", True, -0.2),  # t1: mean -0.15, EM 1
        _cue("t2", False, -0.9),
        _cue("t2", True, -0.7),  # t2: mean -0.8, EM 0.5 (counts as right)
        _cue("t3", False, -1.5),  # t3: mean -1.5, EM 0
        _cue(None, False, None),  # nothing recalled: not scored
        _cue("t4", False, None),  # unlogged: not scored
    ]
    out = teacher_confidence(cues)
    assert out["cues"] == 5 and out["traces"] == 3
    # cues: right {-0.1, -0.2, -0.7} all above wrong {-0.9, -1.5}
    assert out["cue_auc"] == 1.0
    assert out["trace_auc"] == 1.0  # t1, t2 (right) above t3
    counts = {(b["lo"], b["hi"]): (b["traces"], b["teacher_em"]) for b in out["by_logprob"]}
    assert counts[(-math.inf, -0.8)] == (1, 0.0)  # t3
    assert counts[(-0.8, -0.6)] == (1, 0.5)  # t2 (lo is inclusive)
    assert counts[(-0.3, 0.0)] == (1, 1.0)  # t1
    assert counts[(-0.5, -0.4)] == (0, None)


def test_teacher_confidence_reads_a_confident_wrong_teacher_as_no_separation() -> None:
    cues = [_cue("a", False, -0.1), _cue("b", True, -1.0), _cue("c", False, -0.2)]
    out = teacher_confidence(cues)
    assert out["cue_auc"] == 0.0 and out["trace_auc"] == 0.0
    assert teacher_confidence([_cue("a", True, -0.1)])["trace_auc"] is None  # one outcome


def test_the_experiments_ca2_is_the_seeds_scheduler_and_its_ablations_drop_one_term() -> None:
    from hei_nw.consolidation import SEED_SCORE_W
    from hei_nw.eval.interference import WavesConfig, ablated

    assert WavesConfig().scheduler().score_w == SEED_SCORE_W == (1.0, 1.0, 0.1, 0.5)
    # Without the overlap penalty the experiment's CA2 is the library default.
    library = WavesConfig().memory.consolidation.score_w
    assert ablated(WavesConfig(), "minus_overlap").scheduler().score_w == library
    assert ablated(WavesConfig(), "minus_need").scheduler().need_w == 0.0
    # Each single-term ablation zeroes its own weight and leaves the others as they were.
    for i, term in enumerate(("salience", "recency", "diversity", "overlap")):
        w = ablated(WavesConfig(), f"minus_{term}").scheduler().score_w
        assert w[i] == 0.0 and [x for j, x in enumerate(w) if j != i] == [
            x for j, x in enumerate(SEED_SCORE_W) if j != i
        ]
    # The pair is the library default without salience.
    pair = ablated(WavesConfig(), "minus_overlap_salience").scheduler()
    assert pair.score_w == (0.0, *library[1:]) and pair.need_w == WavesConfig().need_w


def test_the_library_default_is_found_among_the_experiments_variants() -> None:
    from hei_nw.consolidation import CA2Scheduler
    from hei_nw.eval.interference import WavesConfig, ablated, default_variant

    config = WavesConfig()
    name = default_variant(config)
    assert name is not None and name.startswith("ca2:")
    found = ablated(config, name.removeprefix("ca2:")).scheduler()
    library = CA2Scheduler(score_w=config.memory.consolidation.score_w)
    assert (found.score_w, found.need_w) == (library.score_w, library.need_w)
    # A config whose own weights are the library's runs it as plain ``ca2``; weights no
    # ablation reaches have no default variant.
    assert default_variant(config.model_copy(update={"score_w": library.score_w})) == "ca2"
    assert default_variant(config.model_copy(update={"score_w": (2.0, 2.0, 2.0, 2.0)})) is None
