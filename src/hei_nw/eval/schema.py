"""Report schema, written down: what ``{scenario}_{mode}_metrics.json`` holds."""

from __future__ import annotations

from typing import Any, TypedDict


class ItemRow(TypedDict):
    """One query and its answer."""

    id: str
    index: int
    group_id: int
    lag: int
    query: str
    expected: str
    answers: list[str]
    prediction: str
    em: float
    f1: float
    recall_at_k: float | None
    retrieved_ids: list[str] | None
    prompt_tokens: int
    generated_tokens: int
    latency_s: float
    truncated: bool
    prompt_sha256: str
    compute: dict[str, Any]


class Aggregate(TypedDict):
    n: int
    em: float
    f1: float
    recall_at_k: float | None
    latency_mean_s: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    truncated_rate: float


class LagBin(TypedDict):
    lag: int
    count: int
    em: float | None
    f1: float | None
    recall_at_k: float | None


class Section(TypedDict):
    """One evaluated condition (the mode itself, a baseline, or a probe)."""

    name: str
    description: str
    aggregate: Aggregate
    lag_bins: list[LagBin]
    compute: dict[str, Any]
    rows: list[ItemRow]
    extra: dict[str, Any]


class RunInfo(TypedDict):
    command: str
    mode: str
    scenario: str
    scenario_title: str
    model_id: str
    seed: int
    n: int
    n_records: int
    n_queries: int
    batch_size: int
    max_new_tokens: int
    dtype: str
    device: str
    prompt_format: str
    smoke: bool
    started_utc: str
    wall_time_s: float
    versions: dict[str, str]
    dataset_sha256: str
    config: dict[str, Any]


class MetricsReport(TypedDict):
    run: RunInfo
    main: Section
    baselines: list[Section]
    probes: list[Section]
    hard_negatives: dict[str, Any]
