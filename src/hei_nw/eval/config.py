"""Typed harness configuration: the run's own settings plus the nested ``MemoryConfig``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hei_nw.datasets import SCENARIOS
from hei_nw.datasets.edits import EDIT_SCENARIOS
from hei_nw.memory.config import MemoryConfig
from hei_nw.models.base import DTYPES
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.prompts import PROMPT_FORMATS

# pydantic field name -> the flag a user typed, so errors name the flag.
FLAG_OF: dict[str, str] = {
    "n": "--n",
    "seed": "--seed",
    "rag_k": "--rag.k",
    "rag_passages": "--rag.passages",
    "scenario": "--scenario",
    "adapter_path": "--adapter.path",
    "store_path": "--store.path",
    "edits": "--edits",
}


# Memory settings whose flag is not plain ``--section.field`` (older spellings kept).
FLAG_ALIASES: dict[str, str] = {
    "recall.top_m": "--mem.traces",
    "packer.max_mem_tokens": "--mem.max_tokens",
    "generation.batch_size": "--batch-size",
    "generation.max_new_tokens": "--max-new-tokens",
    "generation.prompt_format": "--prompt.format",
}


def memory_flag(key: str) -> str:
    """The flag a user types for the memory setting ``section.field``."""
    return FLAG_ALIASES.get(key, f"--{key}")


def check_dtype(value: str) -> str:
    """``--dtype``: auto or one of the loader's dtypes (refused before any model loads)."""
    if value != "auto" and value not in DTYPES:
        raise ValueError(f"unknown dtype {value!r}; use auto, {', '.join(sorted(DTYPES))}")
    return value


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
    qa_oracle: bool = False
    rag_k: int = Field(5, gt=0)
    rag_passages: int = Field(1, gt=0)
    rag_embedder: str = "auto"
    store_path: str | None = None
    adapter_path: str | None = None
    adapter_merge_for_b3: bool = True
    data: str | None = None
    edits: int = Field(100, gt=0)
    split: str = "test"  # edit data: "test" = the first --edits records, "dev" = the rest
    memory: MemoryConfig = MemoryConfig()

    @property
    def batch_size(self) -> int:
        return self.memory.generation.batch_size

    @property
    def max_new_tokens(self) -> int:
        return self.memory.generation.max_new_tokens

    @property
    def prompt_format(self) -> str:
        return self.memory.generation.prompt_format

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str) -> str:
        known = [*SCENARIOS, *EDIT_SCENARIOS]
        if value not in known:
            raise ValueError(f"unknown scenario {value!r}; choose one of {', '.join(known)}")
        return value

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value: str) -> str:
        return check_dtype(value)

    @field_validator("split")
    @classmethod
    def _split(cls, value: str) -> str:
        if value not in ("test", "dev"):
            raise ValueError(f"unknown split {value!r}; choose test or dev")
        return value

    @model_validator(mode="after")
    def _checks(self) -> HarnessConfig:
        if self.scenario in EDIT_SCENARIOS and not self.data:
            raise ValueError(
                f"--data is required for --scenario {self.scenario}: an EasyEdit JSON file "
                "(e.g. ../shared/data/counterfact/counterfact-val.json)"
            )
        if self.memory.generation.prompt_format not in PROMPT_FORMATS:
            raise ValueError(
                f"--prompt.format: unknown prompt format {self.memory.generation.prompt_format!r}; "
                f"choose {', '.join(PROMPT_FORMATS)}"
            )
        return self

    @property
    def is_edit_benchmark(self) -> bool:
        return self.scenario in EDIT_SCENARIOS

    @property
    def smoke(self) -> bool:
        """Runs under n=500 make no statistical claim and say so in their reports."""
        return (self.edits if self.is_edit_benchmark else self.n) < 500


def describe_validation_error(exc: ValidationError) -> str:
    """First problem of a pydantic error, as ``--flag: reason (got ...)``."""
    from hei_nw.memory.config import SECTIONS

    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if not loc:  # a model-level check: its message names the flag
        return msg
    if "memory" in loc or loc[0] in SECTIONS:  # HarnessConfig.memory or a bare MemoryConfig
        rest = loc[loc.index("memory") + 1 :] if "memory" in loc else loc
        if len(rest) >= 2 and rest[0] in SECTIONS:
            return f"{memory_flag(f'{rest[0]}.{rest[1]}')}: {msg} (got {err.get('input')!r})"
        return msg
    flag = FLAG_OF.get(loc[0], "--" + loc[0].replace("_", "-"))
    return f"{flag}: {msg} (got {err.get('input')!r})"


__all__ = [
    "FLAG_ALIASES",
    "FLAG_OF",
    "HarnessConfig",
    "check_dtype",
    "describe_validation_error",
    "memory_flag",
]
