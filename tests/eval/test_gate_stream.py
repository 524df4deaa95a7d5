"""The gate replay used to sweep tau must match the real write path, and choose_tau
must pick the most selective threshold that keeps the facts."""

from __future__ import annotations

import numpy as np
import pytest

from hei_nw.datasets.stream import sparse_stream
from hei_nw.eval.gate_stream import StreamFeatures, choose_tau, read_features, replay_gate
from hei_nw.memory.config import GateConfig
from hei_nw.models.base import GenerationPipeline
from tests.conftest import tiny_memory


def features(surprise: list[float], keys: list[int], pins: list[bool], rewards: list[float]):
    eye = np.eye(4, dtype=np.float32)
    return StreamFeatures(
        surprise=np.array(surprise),
        total=np.array(surprise) * 100,
        keys=eye[keys],
        tokens=np.full(len(keys), 10.0),
        pins=np.array(pins),
        rewards=np.array(rewards),
    )


def test_replay_counts_earlier_writes_for_novelty_and_adds_pin_and_reward() -> None:
    gate = GateConfig(alpha=1.0, beta=1.0, gamma=0.5, delta=0.8, tau=0.7)
    # a, a again (a repeat of a write), b, b again pinned, c with reward
    f = features(
        [0.3, 0.3, 0.3, 0.3, 0.1], [0, 0, 1, 1, 2], [False] * 3 + [True, False], [0, 0, 0, 0, 1.0]
    )
    s, w = replay_gate(gate, f)
    np.testing.assert_allclose(s, [1.3, 0.3, 1.3, 1.1, 1.6])
    assert w.tolist() == [True, False, True, True, True]
    s, w = replay_gate(gate, f, use_pin=False, use_reward=False)
    np.testing.assert_allclose(s, [1.3, 0.3, 1.3, 0.3, 1.1])
    assert w.tolist() == [True, False, True, False, True]


def test_choose_tau_takes_the_largest_threshold_that_keeps_the_facts() -> None:
    gate = GateConfig()
    f = features([0.2, 0.6, 0.1, 0.5], [0, 1, 2, 3], [False] * 4, [0.0] * 4)
    labels = np.array([False, True, False, True])
    # S = surprise + 1 (all novel): 1.2, 1.6, 1.1, 1.5 -> facts kept while tau < 1.5
    tau, sweep = choose_tau(gate, [(f, labels)], [1.0, 1.2, 1.3, 1.45, 1.55], min_recall=1.0)
    assert tau == 1.45
    assert [row["recall"] for row in sweep] == [1.0, 1.0, 1.0, 1.0, 0.5]
    assert sweep[3]["precision"] == 1.0
    with pytest.raises(ValueError, match="recall"):
        choose_tau(gate, [(f, labels)], [1.7, 1.8], min_recall=1.0)
    # Two dev streams pool their facts: the second one's fact (S 1.3) now limits tau;
    # its novelty is its own (the same key in the first stream does not make it familiar).
    g = features([0.3, 0.2], [1, 0], [False] * 2, [0.0] * 2)
    tau, sweep = choose_tau(
        gate, [(f, labels), (g, np.array([True, False]))], [1.0, 1.25, 1.45], min_recall=1.0
    )
    assert tau == 1.25 and [row["recall"] for row in sweep] == [1.0, 1.0, 2 / 3]
    assert sweep[0]["writes"] == 6 and sweep[1]["writes"] == 3


def test_replay_matches_the_real_write_path(tiny_pipe: GenerationPipeline) -> None:
    turns = sparse_stream(4, seed=3, chatter_per_fact=6)
    probe = tiny_memory(tiny_pipe)
    f = read_features(probe, turns)
    mixed = 0
    for tau in (float(np.quantile(f.surprise, 0.5)) + 0.8, 1.2):
        mem = tiny_memory(tiny_pipe, {"gate.tau": tau})
        real = mem.observe_many([t["text"] for t in turns], rewards=[t["reward"] for t in turns])
        s, w = replay_gate(mem.config.gate, f)
        assert w.tolist() == [d.written for d in real]
        np.testing.assert_allclose(s, [d.S for d in real], atol=1e-4)
        mixed += 0 < w.sum() < len(w)
    assert mixed  # some threshold both writes and rejects, so the comparison has teeth


def test_familiarity_novelty_and_total_surprise_match_the_write_path(
    tiny_pipe: GenerationPipeline,
) -> None:
    """``seen`` novelty counts texts observed but not written; replay and the real path
    agree on it across batch boundaries and a window smaller than the stream."""
    turns = sparse_stream(3, seed=4, chatter_per_fact=8)
    settings = {
        "gate.novelty": "seen",
        "gate.surprise": "total",
        "gate.seen_window": 7,
        "features.batch_size": 5,
    }
    probe = tiny_memory(tiny_pipe, settings)
    f = read_features(probe, turns)
    gate = probe.config.gate.model_copy(update={"tau": float(np.median(f.total) / 100 + 0.5)})
    _, w = replay_gate(gate, f)
    # say an early text the gate did not write again three turns later (inside the window)
    first = int(np.flatnonzero(~w)[0])
    turns.insert(first + 4, turns[first])
    f = read_features(probe, turns)
    mem = tiny_memory(tiny_pipe, {**settings, "gate.tau": gate.tau})
    real = mem.observe_many([t["text"] for t in turns], rewards=[t["reward"] for t in turns])
    s, w = replay_gate(mem.config.gate, f)
    assert w.tolist() == [d.written for d in real]
    np.testing.assert_allclose(s, [d.S for d in real], atol=1e-4)
    assert 0 < w.sum() < len(w)
    assert not real[first].written
    assert real[first + 4].novelty == pytest.approx(0.0, abs=1e-5)  # familiar, never stored
    # against the store alone (nothing written) the same repeat looks entirely new
    stored_only = tiny_memory(tiny_pipe, {**settings, "gate.novelty": "stored", "gate.tau": 99})
    plain = stored_only.observe_many([t["text"] for t in turns])
    assert plain[first + 4].novelty == pytest.approx(1.0)


def test_evaluate_chooses_on_pooled_dev_streams_and_runs_the_choice_for_real(
    tiny_pipe: GenerationPipeline,
) -> None:
    from hei_nw.eval.gate_stream import VARIANTS, evaluate_gate_stream
    from hei_nw.memory import MemoryConfig

    config = MemoryConfig().with_overrides({"keyer.semantic": False})
    dev = [sparse_stream(3, seed=s, chatter_per_fact=5) for s in (21, 22)]
    test = sparse_stream(3, seed=23, chatter_per_fact=5)
    picked = dict(list(VARIANTS.items())[::40])  # a few structures and weights
    taus = np.round(np.arange(0.3, 3.0, 0.05), 6).tolist()
    out = evaluate_gate_stream(tiny_pipe, config, dev, test, taus, 1.0, variants=picked)
    ok = {k: v for k, v in out["variants"].items() if v["tau"] is not None}
    assert out["chosen_variant"] == min(ok, key=lambda k: ok[k]["dev"]["writes_per_1k_tokens"])
    chosen = ok[out["chosen_variant"]]
    assert chosen["dev"]["recall"] == 1.0 and len(out["streams"]["dev"]) == 2
    # pooled over both dev streams: their facts and tokens add up
    assert chosen["dev"]["n"] == sum(s["turns"] for s in out["streams"]["dev"])
    # the real write path agrees with the replay of the chosen gate on the test stream
    for key in ("writes", "recall", "precision"):
        assert out["test"][key] == chosen["test_replayed"][key]
    assert out["gate"]["tau"] == out["tau"] == chosen["tau"]
    assert out["gate"]["alpha"] == chosen["overrides"]["gate.alpha"]


def test_pin_reward_retuned_reads_the_chosen_structure_at_each_weight_pair() -> None:
    from hei_nw.eval.gate_stream import VARIANTS, pin_reward_retuned

    chosen = "total surprise, seen novelty, alpha 0.75 gamma 0.0 delta 0.0"
    table = {
        k: {"tau": 1.0 + i / 1000, "dev": {"i": i}, "test_replayed": {"i": -i}}
        for i, k in enumerate(VARIANTS)
    }
    design = "total surprise, seen novelty, alpha 0.75 gamma 0.5 delta 0.8"
    table[design]["tau"] = None  # no tau reached the dev recall: left out
    out = pin_reward_retuned(table, VARIANTS, chosen)
    assert list(out) == ["reward only (gamma 0.5)", "pin only (delta 0.8)", "neither"]
    assert out["neither"]["variant"] == chosen
    assert out["pin only (delta 0.8)"]["variant"] == (
        "total surprise, seen novelty, alpha 0.75 gamma 0.0 delta 0.8"
    )
    i = list(VARIANTS).index(out["reward only (gamma 0.5)"]["variant"])
    assert out["reward only (gamma 0.5)"]["test_replayed"] == {"i": -i}
