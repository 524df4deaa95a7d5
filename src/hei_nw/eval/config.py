"""Typed harness configuration, built once from the command line and validated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hei_nw.datasets import SCENARIOS
from hei_nw.datasets.edits import EDIT_SCENARIOS
from hei_nw.eval.memory_mode import MemorySettings
from hei_nw.eval.prompting import PROMPT_FORMATS
from hei_nw.models.sources import DEFAULT_MODEL

# pydantic field name -> the flag a user typed, so errors name the flag.
FLAG_OF: dict[str, str] = {
    "n": "--n",
    "seed": "--seed",
    "batch_size": "--batch-size",
    "max_new_tokens": "--max-new-tokens",
    "rag_k": "--rag.k",
    "rag_passages": "--rag.passages",
    "scenario": "--scenario",
    "prompt_format": "--prompt.format",
    "mem_max_tokens": "--mem.max_tokens",
    "mem_traces": "--mem.traces",
    "hopfield_steps": "--hopfield.steps",
    "hopfield_beta": "--hopfield.beta",
    "adapter_path": "--adapter.path",
    "recall_scope": "--recall.scope",
}


class HarnessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: str
    scenario: str
    n: int = Field(64, gt=0, description="number of target episodes to query")
    seed: int = 7
    baseline: str = "none"
    outdir: str = "reports/baseline"
    model: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "auto"
    quant_4bit: bool = False
    batch_size: int = Field(8, gt=0)
    max_new_tokens: int = Field(16, gt=0)
    qa_oracle: bool = False
    prompt_format: str = "completion"
    rag_k: int = Field(5, gt=0)
    rag_passages: int = Field(1, gt=0)
    rag_embedder: str = "auto"
    gate_use_for_writes: bool = True
    gate_tau: float = 0.7
    mem_max_tokens: int = Field(128, gt=0)
    mem_traces: int = Field(1, ge=1, le=4)
    hopfield_steps: int = Field(1, ge=0, le=3)
    hopfield_beta: float = Field(32.0, gt=0)
    no_hopfield: bool = False
    no_dg: bool = False
    no_semantic: bool = False
    store_path: str | None = None
    recall_scope: str = Field(
        "auto", description="scope slot for recall: auto (subject for edit data), none, or a slot"
    )
    adapter_path: str | None = None
    adapter_merge_for_b3: bool = True
    data: str | None = None
    edits: int = Field(100, gt=0)

    def memory_settings(self) -> MemorySettings:
        return MemorySettings(
            use_gate=self.gate_use_for_writes,
            tau=self.gate_tau,
            max_mem_tokens=self.mem_max_tokens,
            traces=self.mem_traces,
            hopfield_steps=self.hopfield_steps,
            hopfield_beta=self.hopfield_beta,
            use_hopfield=not self.no_hopfield,
            use_dg=not self.no_dg,
            semantic=not self.no_semantic,
            store_path=self.store_path,
            scope_slot=self.scope_slot,
        )

    @property
    def scope_slot(self) -> str | None:
        """``--recall.scope``: edit requests name their subject, so edit data scopes by it."""
        if self.recall_scope == "auto":
            return "subject" if self.is_edit_benchmark else None
        return None if self.recall_scope == "none" else self.recall_scope

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str) -> str:
        known = [*SCENARIOS, *EDIT_SCENARIOS]
        if value not in known:
            raise ValueError(f"unknown scenario {value!r}; choose one of {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _edit_data(self) -> HarnessConfig:
        if self.scenario in EDIT_SCENARIOS and not self.data:
            raise ValueError(
                f"--data is required for --scenario {self.scenario}: an EasyEdit JSON file "
                "(e.g. ../shared/data/counterfact/counterfact-val.json)"
            )
        return self

    @property
    def is_edit_benchmark(self) -> bool:
        return self.scenario in EDIT_SCENARIOS

    @field_validator("prompt_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in PROMPT_FORMATS:
            raise ValueError(f"unknown prompt format {value!r}; choose {', '.join(PROMPT_FORMATS)}")
        return value

    @property
    def smoke(self) -> bool:
        """Runs under n=500 make no statistical claim and say so in their reports."""
        return (self.edits if self.is_edit_benchmark else self.n) < 500


def describe_validation_error(exc: ValidationError) -> str:
    """First problem of a pydantic error, as ``--flag: reason``."""
    err = exc.errors()[0]
    if not err["loc"]:  # a model-level check: its message names the flag
        return str(err["msg"]).removeprefix("Value error, ")
    field = str(err["loc"][0])
    flag = FLAG_OF.get(field, "--" + field.replace("_", "-"))
    return f"{flag}: {err['msg']} (got {err.get('input')!r})"
