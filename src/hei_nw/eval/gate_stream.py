"""The write gate on a sparse stream: choose it on dev streams, report on a test stream.

:func:`hei_nw.datasets.stream.sparse_stream` buries facts (~4.5% of tokens) in chatter
and repeats; some facts say "remember this" (pin, detected in the text) and some arrive
with a task reward. The gate reads only the text and the reward.

Choosing tau needs the gate's decisions at many thresholds. Novelty depends on what was
already written, so each threshold is replayed in stream order over features read once
(:func:`replay_gate`: surprise from one LM pass, keys from one keyer call, novelty as
exact cosine to the keys written so far). The search covers how surprise and novelty are
read (:data:`STRUCTURES`) and the weights of surprise, reward and pin (:data:`WEIGHTS`);
every variant gets its own tau. The chosen variant and tau are then run for real, through
:meth:`EpisodicMemory.observe_many`, on the test stream; the report gives both, so the
replay is checked against the real write path.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hei_nw.datasets.stream import StreamTurn
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.memory.config import GateConfig
from hei_nw.memory.gate import detect_pin, gate_surprise, gate_telemetry
from hei_nw.models.base import GenerationPipeline

logger = logging.getLogger(__name__)

__all__ = [
    "PIN_REWARD_WEIGHTS",
    "STRUCTURES",
    "VARIANTS",
    "WEIGHTS",
    "DevStream",
    "StreamFeatures",
    "choose_tau",
    "evaluate_gate_stream",
    "familiarity",
    "pin_reward_retuned",
    "read_features",
    "replay_gate",
]


@dataclass(frozen=True)
class StreamFeatures:
    """What the gate reads of each turn, computed once."""

    surprise: np.ndarray  # [n] mean NLL / ln(vocab)
    total: np.ndarray  # [n] summed NLL in nats
    keys: np.ndarray  # [n, d] dense DG keys, unit rows
    tokens: np.ndarray  # [n] token counts
    pins: np.ndarray  # [n] bool, "remember this" detected in the text
    rewards: np.ndarray  # [n] task reward given with the turn


def read_features(mem: EpisodicMemory, turns: Sequence[StreamTurn]) -> StreamFeatures:
    texts = [t["text"] for t in turns]
    feats = mem.features(texts)
    keys = mem.keyer.keys(texts).dense()
    markers = mem.config.gate.pin_markers
    return StreamFeatures(
        surprise=np.asarray(feats.surprise, dtype=np.float64),
        total=np.asarray(feats.total, dtype=np.float64),
        keys=np.asarray(keys, dtype=np.float32),
        tokens=np.asarray(feats.tokens, dtype=np.float64),
        pins=np.array([detect_pin(t, markers) for t in texts], dtype=bool),
        rewards=np.array([t["reward"] for t in turns], dtype=np.float64),
    )


def familiarity(gate: GateConfig, sims: np.ndarray) -> np.ndarray:
    """[n] max cosine of each turn to the ``seen_window`` turns before it (``seen``
    novelty); zeros for ``stored`` novelty, which counts only what was written."""
    n = len(sims)
    familiar = np.zeros(n)
    if gate.novelty == "seen":
        for i in range(1, n):
            familiar[i] = sims[i, max(0, i - gate.seen_window) : i].max()
    return familiar


def replay_gate(
    gate: GateConfig,
    f: StreamFeatures,
    use_reward: bool = True,
    use_pin: bool = True,
    sims: np.ndarray | None = None,
    familiar: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(S, written) per turn, in stream order, at ``gate.tau``: the write path's gate over
    features read once (novelty against prior writes, and for ``seen`` also against the
    last ``seen_window`` texts). ``sims`` (``keys @ keys.T``) and ``familiar``
    (:func:`familiarity` for this gate) may be passed to reuse them across thresholds."""
    n = len(f.keys)
    sims = f.keys @ f.keys.T if sims is None else sims  # [n, n] cosine, unit rows
    familiar = familiarity(gate, sims) if familiar is None else familiar  # [n]
    surprise = gate_surprise(gate, f.surprise, f.total)  # [n]
    reward = f.rewards if use_reward else np.zeros(n)
    pin = f.pins if use_pin else np.zeros(n, dtype=bool)
    base = gate.alpha * surprise + gate.gamma * reward + gate.delta * pin.astype(np.float64)
    to_written = np.zeros(n)  # [n] max cosine of every turn to the turns written so far
    written = np.zeros(n, dtype=bool)
    scores = np.zeros(n, dtype=np.float64)
    for i in range(n):
        novelty = 1.0 - max(to_written[i], familiar[i], 0.0)
        scores[i] = base[i] + gate.beta * novelty
        if scores[i] > gate.tau:
            written[i] = True
            np.maximum(to_written, sims[i], out=to_written)
    return scores, written


def _telemetry(
    scores: np.ndarray, written: np.ndarray, labels: np.ndarray, tokens: float
) -> dict[str, Any]:
    tele = gate_telemetry(scores, written, labels, tokens)
    tele.pop("calibration")
    return tele


DevStream = tuple[StreamFeatures, np.ndarray]  # (features, should_remember labels)


def choose_tau(
    gate: GateConfig,
    dev: Sequence[DevStream],
    taus: Sequence[float],
    min_recall: float,
) -> tuple[float, list[dict[str, Any]]]:
    """The largest tau whose replayed recall over the (dev) streams, pooled, is
    ``>= min_recall`` (the most selective gate that still keeps the facts), and the whole
    sweep. Each stream is replayed on its own (novelty never crosses streams); writes,
    facts and tokens are summed."""
    sweep = []
    tokens = float(sum(f.tokens.sum() for f, _ in dev))
    labels = np.concatenate([y for _, y in dev])
    cached = []
    for f, _ in dev:
        sims = f.keys @ f.keys.T
        cached.append((f, sims, familiarity(gate, sims)))
    for tau in taus:
        at = gate.model_copy(update={"tau": float(tau)})
        runs = [replay_gate(at, f, sims=sims, familiar=fam) for f, sims, fam in cached]
        s = np.concatenate([r[0] for r in runs])
        w = np.concatenate([r[1] for r in runs])
        sweep.append({"tau": float(tau), **_telemetry(s, w, labels, tokens)})
    ok = [row["tau"] for row in sweep if (row["recall"] or 0.0) >= min_recall]
    if not ok:
        raise ValueError(f"no tau in the sweep reaches recall {min_recall} on the dev stream")
    return max(ok), sweep


# Gate variants tried on the dev streams (config overrides on top of the caller's config):
# how surprise and novelty are read, times the weights of surprise, reward and pin
# (novelty's weight beta stays 1, so alpha, gamma and delta are relative to it).
STRUCTURES: dict[str, dict[str, Any]] = {
    "mean surprise, stored novelty": {"gate.surprise": "mean", "gate.novelty": "stored"},
    "mean surprise, seen novelty": {"gate.surprise": "mean", "gate.novelty": "seen"},
    "total surprise, stored novelty": {"gate.surprise": "total", "gate.novelty": "stored"},
    "total surprise, seen novelty": {"gate.surprise": "total", "gate.novelty": "seen"},
}
WEIGHTS: tuple[tuple[float, float, float], ...] = tuple(
    itertools.product((0.5, 0.75, 1.0), (0.0, 0.25, 0.5), (0.0, 0.4, 0.8))
)  # (alpha, gamma, delta)
VARIANTS: dict[str, dict[str, Any]] = {
    f"{name}, alpha {a} gamma {g} delta {d}": {
        **structure,
        "gate.alpha": a,
        "gate.gamma": g,
        "gate.delta": d,
    }
    for name, structure in STRUCTURES.items()
    for a, g, d in WEIGHTS
}


def _stream_stats(turns: Sequence[StreamTurn], f: StreamFeatures) -> dict[str, Any]:
    facts = np.array([t["should_remember"] for t in turns], dtype=bool)
    return {
        "turns": len(turns),
        "facts": int(facts.sum()),
        "tokens": float(f.tokens.sum()),
        "fact_token_share": float(f.tokens[facts].sum() / f.tokens.sum()),
        "pinned_facts": int(f.pins[facts].sum()),
        "false_pins": int(f.pins[~facts].sum()),
        "rewarded_facts": int((f.rewards[facts] > 0).sum()),
        "rewarded_other": int((f.rewards[~facts] > 0).sum()),
    }


PIN_REWARD_WEIGHTS: dict[str, tuple[float, float]] = {
    "design weights (gamma 0.5, delta 0.8)": (0.5, 0.8),
    "reward only (gamma 0.5)": (0.5, 0.0),
    "pin only (delta 0.8)": (0.0, 0.8),
    "neither": (0.0, 0.0),
}


def pin_reward_retuned(
    table: dict[str, Any], variants: dict[str, dict[str, Any]], chosen: str
) -> dict[str, Any]:
    """The chosen variant's structure and alpha with the reward and pin weights of
    :data:`PIN_REWARD_WEIGHTS`, each at its own dev tau (rows of ``table``): what the two
    terms are worth when the threshold is re-chosen for them, unlike ablating them at
    the chosen tau."""
    out: dict[str, Any] = {}
    for label, (gamma, delta) in PIN_REWARD_WEIGHTS.items():
        want = {**variants[chosen], "gate.gamma": gamma, "gate.delta": delta}
        name = next((k for k, v in variants.items() if v == want), None)
        if name is None or table[name]["tau"] is None:
            continue
        row = table[name]
        out[label] = {"variant": name, "tau": row["tau"], "dev": row["dev"]}
        out[label]["test_replayed"] = row["test_replayed"]
    return out


def _labels(turns: Sequence[StreamTurn]) -> np.ndarray:
    return np.array([t["should_remember"] for t in turns], dtype=bool)


def evaluate_gate_stream(
    pipe: GenerationPipeline,
    config: MemoryConfig,
    dev: Sequence[Sequence[StreamTurn]],
    test: Sequence[StreamTurn],
    taus: Sequence[float],
    min_recall: float = 0.98,
    variants: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """On the ``dev`` streams (pooled): per gate variant, the largest tau keeping
    ``min_recall`` of the facts (replayed); the variant with the fewest writes per 1k
    tokens there is chosen. On ``test``: the chosen variant and tau run for real through
    ``observe_many``; every variant is also replayed at its dev tau, pin and reward
    are ablated at the chosen tau and compared with their own taus
    (:func:`pin_reward_retuned`)."""
    if not dev:
        raise ValueError("evaluate_gate_stream: give at least one dev stream")
    variants = VARIANTS if variants is None else variants
    probe = EpisodicMemory(pipe, None, config)
    dev_sets = [(read_features(probe, turns), _labels(turns)) for turns in dev]
    test_labels = _labels(test)
    test_f = read_features(probe, test)
    test_tokens = float(test_f.tokens.sum())
    table: dict[str, Any] = {}
    sweeps: dict[str, list[dict[str, Any]]] = {}
    for name, overrides in tqdm(variants.items(), desc="gate variants", leave=False):
        cfg = config.with_overrides(overrides)
        try:
            tau, sweeps[name] = choose_tau(cfg.gate, dev_sets, taus, min_recall)
        except ValueError:
            table[name] = {"overrides": overrides, "tau": None}
            continue
        dev_row = next(row for row in sweeps[name] if row["tau"] == tau)
        s, w = replay_gate(cfg.gate.model_copy(update={"tau": tau}), test_f)
        table[name] = {
            "overrides": overrides,
            "tau": tau,
            "dev": dev_row,
            "test_replayed": _telemetry(s, w, test_labels, test_tokens),
        }
        logger.info(
            "%s: tau %.2f, dev %.2f writes/1k; test %.2f writes/1k, recall %.3f",
            name,
            tau,
            dev_row["writes_per_1k_tokens"],
            table[name]["test_replayed"]["writes_per_1k_tokens"],
            table[name]["test_replayed"]["recall"],
        )
    ok = {k: v for k, v in table.items() if v["tau"] is not None}
    if not ok:
        raise ValueError(f"no gate variant reaches recall {min_recall} on the dev stream")
    chosen = min(ok, key=lambda k: ok[k]["dev"]["writes_per_1k_tokens"])
    cfg = config.with_overrides({**variants[chosen], "gate.tau": ok[chosen]["tau"]})
    mem = EpisodicMemory(pipe, None, cfg)
    decisions = mem.observe_many(
        [t["text"] for t in test], rewards=[t["reward"] for t in test], progress=True
    )
    written = np.array([d.written for d in decisions])
    real = _telemetry(np.array([d.S for d in decisions]), written, test_labels, test_tokens)
    ablations = {}
    for name, use_reward, use_pin in (
        ("no pin", True, False),
        ("no reward", False, True),
        ("no pin or reward", False, False),
    ):
        s, w = replay_gate(cfg.gate, test_f, use_reward=use_reward, use_pin=use_pin)
        ablations[name] = _telemetry(s, w, test_labels, test_tokens)
    return {
        "chosen_variant": chosen,
        "gate": cfg.gate.model_dump(mode="json"),
        "tau": ok[chosen]["tau"],
        "min_dev_recall": min_recall,
        "test": real,
        "test_missed_facts": [
            t["text"] for t, w in zip(test, written, strict=True) if t["should_remember"] and not w
        ],
        "ablations": ablations,
        "pin_reward_retuned": pin_reward_retuned(table, variants, chosen),
        "chosen_dev_sweep": sweeps[chosen],
        "variants": table,
        "streams": {
            "dev": [_stream_stats(turns, f) for turns, (f, _) in zip(dev, dev_sets, strict=True)],
            "test": _stream_stats(test, test_f),
        },
    }
