"""Knowledge-editing data (EasyEdit layouts): CounterFact and zsRE, any size.

Each record becomes an :class:`EditCase`: the new fact stated as one sentence (the
episode written to memory), the rewrite prompt (efficacy), the rephrase prompt
(generalisation, never trained on), and a locality prompt about another subject whose
answer must not change.

Layouts (keys per record):

* ``counterfact`` -- ``case_id, prompt, subject, target_new, ground_truth,
  rephrase_prompt, locality_prompt, locality_ground_truth``
* ``zsre`` -- ``subject, src, alt, answers, rephrase, loc, loc_ans`` (``pred``/``cond``
  are optional)

``load_edits(path)`` detects the layout from the first record; pass ``layout=`` to
insist on one. A missing key raises :class:`EditDataError` naming the file, the record
index and the key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EDIT_SCENARIOS: tuple[str, ...] = ("counterfact", "zsre")


class EditDataError(ValueError):
    """The edit file cannot be read as the requested layout; the message says where."""


@dataclass(frozen=True)
class EditCase:
    case_id: str
    subject: str
    prompt: str  # rewrite prompt (cloze or question)
    target_new: str  # the new answer to teach
    ground_truth: str  # the real-world answer before the edit
    rephrase: str  # paraphrase of ``prompt`` (held out from training)
    locality_prompt: str  # an unrelated prompt whose answer must not change
    locality_answer: str
    layout: str

    @property
    def fact(self) -> str:
        """The edit as one sentence: the episode written to memory."""
        return fact_sentence(self.prompt, self.target_new)


def fact_sentence(prompt: str, answer: str) -> str:
    """``"BBC One, by" + "Sega"`` -> ``"BBC One, by Sega."``; questions get ``Q A.``."""
    text = f"{prompt.rstrip()} {answer.strip()}"
    return text if text.endswith((".", "!", "?")) else text + "."


COUNTERFACT_KEYS = (
    "prompt",
    "subject",
    "target_new",
    "ground_truth",
    "rephrase_prompt",
    "locality_prompt",
    "locality_ground_truth",
)
ZSRE_KEYS = ("subject", "src", "alt", "answers", "rephrase", "loc", "loc_ans")


def _first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value)


def _counterfact(rec: Mapping[str, Any], index: int) -> EditCase:
    return EditCase(
        case_id=str(rec.get("case_id", index)),
        subject=str(rec["subject"]),
        prompt=str(rec["prompt"]),
        target_new=_first(rec["target_new"]),
        ground_truth=_first(rec["ground_truth"]),
        rephrase=_first(rec["rephrase_prompt"]),
        locality_prompt=_first(rec["locality_prompt"]),
        locality_answer=_first(rec["locality_ground_truth"]),
        layout="counterfact",
    )


def _zsre(rec: Mapping[str, Any], index: int) -> EditCase:
    loc = str(rec["loc"])
    loc = loc.split(":", 1)[1].strip() if loc.startswith("nq question:") else loc
    return EditCase(
        case_id=str(rec.get("case_id", index)),
        subject=str(rec["subject"]),
        prompt=str(rec["src"]),
        target_new=_first(rec["alt"]),
        ground_truth=_first(rec["answers"]),
        rephrase=_first(rec["rephrase"]),
        locality_prompt=loc,
        locality_answer=_first(rec["loc_ans"]),
        layout="zsre",
    )


LAYOUTS: dict[str, tuple[tuple[str, ...], Callable[[Mapping[str, Any], int], EditCase]]] = {
    "counterfact": (COUNTERFACT_KEYS, _counterfact),
    "zsre": (ZSRE_KEYS, _zsre),
}


def detect_layout(record: Mapping[str, Any]) -> str | None:
    for name, (keys, _) in LAYOUTS.items():
        if all(k in record for k in keys):
            return name
    return None


def load_edits(
    path: str | os.PathLike[str], layout: str = "auto", limit: int | None = None
) -> list[EditCase]:
    """Read an EasyEdit JSON list (or JSONL) file; ``limit`` keeps the first records."""
    records = _read_records(Path(path))
    if not records:
        raise EditDataError(f"{path}: no records")
    if layout == "auto":
        found = detect_layout(records[0])
        if found is None:
            raise EditDataError(
                f"{path}: record 0 matches no known layout (counterfact needs "
                f"{', '.join(COUNTERFACT_KEYS)}; zsre needs {', '.join(ZSRE_KEYS)}); "
                "pass the layout explicitly or fix the file"
            )
        layout = found
    if layout not in LAYOUTS:
        raise EditDataError(f"unknown edit layout {layout!r}; choose auto, {', '.join(LAYOUTS)}")
    keys, convert = LAYOUTS[layout]
    chosen = records if limit is None else records[:limit]
    out = []
    for i, rec in enumerate(chosen):
        missing = [k for k in keys if not isinstance(rec, Mapping) or k not in rec]
        if missing:
            raise EditDataError(f"{path}: record {i} lacks key {missing[0]!r} ({layout} layout)")
        out.append(convert(rec, i))
    return out


TEST_POOL = 1000  # reported runs take the first N <= 1000 records; tuning uses the rest


def load_edit_split(
    path: str | os.PathLike[str], layout: str = "auto", n: int = 100, split: str = "test"
) -> list[EditCase]:
    """``test``: the first ``n`` records (every reported figure). ``dev``: ``n`` records
    from ``TEST_POOL`` on, never part of a reported run -- where prompts, floors and
    consolidation settings are chosen."""
    if split == "test":
        return load_edits(path, layout, n)
    if split != "dev":
        raise EditDataError(f"unknown split {split!r}; choose test or dev")
    cases = load_edits(path, layout)
    dev = cases[TEST_POOL : TEST_POOL + n]
    if len(dev) < n:
        raise EditDataError(
            f"{path}: the dev split starts at record {TEST_POOL} and holds {max(0, len(cases) - TEST_POOL)} "
            f"records, fewer than --edits {n}; ask for fewer edits"
        )
    return dev


def _read_records(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EditDataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise EditDataError(
                f"{path}: not JSON or JSONL ({exc.msg} at line {exc.lineno})"
            ) from None
    if isinstance(data, dict):
        data = data.get("data", data.get("records"))
    if not isinstance(data, list):
        raise EditDataError(f"{path}: expected a JSON list of records")
    return data


def edit_doc(dataset: str, case: EditCase) -> str:
    """Pointer document id of an edit (``edits;dataset=...;case=...``)."""
    return f"edits;dataset={dataset};case={case.case_id}"


__all__ = [
    "COUNTERFACT_KEYS",
    "EDIT_SCENARIOS",
    "LAYOUTS",
    "TEST_POOL",
    "ZSRE_KEYS",
    "EditCase",
    "EditDataError",
    "detect_layout",
    "edit_doc",
    "fact_sentence",
    "load_edit_split",
    "load_edits",
]
