"""Training rows for replay, rebuilt from pointer-only traces.

A trace stores where its episode lives (``doc#start:end``) and its entity slots, never
the text. Rows are rebuilt when a batch is assembled and dropped after the step:

* :class:`LMReplayRowBuilder` -- the episode's own text, regenerated from the pointer,
  for next-token loss over every token.
* :class:`CueAnswerRowBuilder` -- ``Question: <cue>\\nAnswer: <answer>`` rows made from the
  trace's entity slots with the scenario's *training* phrasings; loss on the answer only.
  Evaluation asks the held-out phrasings, so no evaluation cue is ever trained on.
* :func:`semantic_rows` and :func:`self_answer_rows` -- general statements and general
  questions with the base model's own answers (``hei_nw.datasets.general``) for the
  replay mix's semantic slice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from hei_nw.datasets import get_scenario
from hei_nw.datasets.general import NEIGHBOUR_ENTITIES, SEMANTIC_FACTS, SEMANTIC_QA
from hei_nw.eval.prompting import STOP, build_prompt, cloze_block, question_block
from hei_nw.replay import QueueItem
from hei_nw.traces import DocumentSource, ScenarioDocuments, parse_scenario_doc

IGNORE_INDEX = -100


@dataclass(frozen=True)
class TrainRow:
    """One supervised row: ``prompt`` is context (not scored), ``target`` is learned."""

    kind: str  # "episodic-lm" | "cue-answer" | "semantic"
    prompt: str
    target: str
    trace_id: str | None = None


class EncodedRow(TypedDict):
    input_ids: list[int]
    labels: list[int]
    kind: str


def parse_trace_id(trace_id: str) -> tuple[str, int, int]:
    """``doc#start:end`` -> (pointer doc, start, end)."""
    doc, sep, span = trace_id.rpartition("#")
    start, colon, end = span.partition(":")
    if not sep or not colon or not start.isdigit() or not end.isdigit():
        raise ValueError(f"not a trace id of the form doc#start:end: {trace_id!r}")
    return doc, int(start), int(end)


def record_index(trace_id: str) -> int:
    """The scenario record a trace points at (the generator's index)."""
    return parse_scenario_doc(parse_trace_id(trace_id)[0])["index"]


class LMReplayRowBuilder:
    """Episode text regenerated from each trace's pointer (scenario ``n``/``seed`` checked)."""

    def __init__(
        self, scenario: str, n: int, seed: int, documents: DocumentSource | None = None
    ) -> None:
        self.scenario, self.n, self.seed = scenario, n, seed
        self.documents = documents or ScenarioDocuments()

    def text(self, trace_id: str) -> str:
        doc, start, end = parse_trace_id(trace_id)
        pointer = parse_scenario_doc(doc)
        expected = (self.scenario, self.n, self.seed)
        if (pointer["scenario"], pointer["n"], pointer["seed"]) != expected:
            raise ValueError(
                f"trace {trace_id} points at scenario={pointer['scenario']} n={pointer['n']} "
                f"seed={pointer['seed']}, not the replayed stream {expected}"
            )
        return self.documents.text(doc, start, end)

    def rows(self, items: Iterable[QueueItem]) -> list[TrainRow]:
        return [TrainRow("episodic-lm", "", self.text(it.trace_id), it.trace_id) for it in items]


class CueAnswerRowBuilder:
    """(cue, answer) rows from entity slots only, with the scenario's training phrasings.

    ``per_item`` pairs are taken per replay of an item, rotating through its pairs with
    the item's replay count so successive replays rehearse different phrasings.
    """

    def __init__(self, scenario: str, per_item: int | None = None) -> None:
        self.pairs_of = get_scenario(scenario).train_pairs
        self.per_item = per_item

    def pairs(self, entity_slots: Mapping[str, str]) -> list[tuple[str, str]]:
        return self.pairs_of(entity_slots)

    def rows(self, items: Iterable[QueueItem]) -> list[TrainRow]:
        out: list[TrainRow] = []
        for it in items:
            pairs = self.pairs(it.entity_slots)
            if self.per_item is not None and pairs:
                start = (max(it.replays, 1) - 1) * self.per_item
                pairs = [pairs[(start + j) % len(pairs)] for j in range(self.per_item)]
            out.extend(cue_answer_row(cue, answer, it.trace_id) for cue, answer in pairs)
        return out

    def to_hf_dataset(self, items: Iterable[QueueItem]) -> Any:
        """The rows as a ``datasets.Dataset`` (columns kind, prompt, target, trace_id)."""
        from datasets import Dataset

        return Dataset.from_list([vars(r) for r in self.rows(items)])


class EditRowBuilder:
    """Knowledge edits: the fact sentence (LM row), prompt -> new target (cue row) and
    ``neighbours`` neighbour rows.

    All come from the trace: the fact text through its pointer (``documents``), the
    prompt, subject and new value from its entity slots. Rephrase prompts are never used.
    A neighbour row is the edited prompt with another entity in place of the subject
    (:data:`NEIGHBOUR_ENTITIES`), of kind ``semantic`` so the trainer holds its output
    to the base model's (KL): fine-tuning on "X, by -> Sega" must not teach "*, by -> Sega".
    """

    def __init__(
        self,
        layout: str,
        documents: DocumentSource,
        neighbours: int = 0,
        entities: Sequence[str] = NEIGHBOUR_ENTITIES,
    ) -> None:
        self.layout = layout
        self.documents = documents
        self.neighbours = neighbours
        self.entities = list(entities)

    @property
    def rows_per_item(self) -> int:
        return 2 + self.neighbours

    def rows(self, items: Iterable[QueueItem]) -> list[TrainRow]:
        out: list[TrainRow] = []
        for it in items:
            doc, start, end = parse_trace_id(it.trace_id)
            out.append(
                TrainRow("episodic-lm", "", self.documents.text(doc, start, end), it.trace_id)
            )
            prompt, value = it.entity_slots.get("prompt"), it.entity_slots.get("value")
            if prompt and value:
                out.append(edit_cue_row(self.layout, prompt, value, it.trace_id))
            out += self.neighbour_rows(it)
        return out

    def neighbour_rows(self, item: QueueItem) -> list[TrainRow]:
        prompt, subject = item.entity_slots.get("prompt"), item.entity_slots.get("subject")
        if not prompt or not subject or subject not in prompt:
            return []
        # Deterministic per trace, so a replayed item always brings the same neighbours.
        seed = int(hashlib.sha256(item.trace_id.encode()).hexdigest()[:8], 16)
        others = [e for e in self.entities if e.lower() != subject.lower()]
        picks = [others[(seed + 7 * j) % len(others)] for j in range(self.neighbours)]
        return [
            TrainRow("semantic", "", edit_block(self.layout, prompt.replace(subject, e)))
            for e in picks
        ]


def edit_block(layout: str, prompt: str) -> str:
    """The evaluation's block for one edit prompt, without demonstrations or answer."""
    return cloze_block(prompt, None) if layout == "counterfact" else question_block(prompt, None)


def edit_cue_row(layout: str, prompt: str, target: str, trace_id: str | None = None) -> TrainRow:
    """The evaluation's block layout without demonstrations: Complete/Answer for cloze
    prompts (CounterFact), Question/Answer for questions (zsRE)."""
    return TrainRow("cue-answer", edit_block(layout, prompt), f" {target.strip()}", trace_id)


def cue_answer_row(cue: str, answer: str, trace_id: str | None = None) -> TrainRow:
    return TrainRow("cue-answer", question_block(cue, None), f" {answer}\n", trace_id)


def semantic_rows(facts: Sequence[str] = SEMANTIC_FACTS) -> list[TrainRow]:
    return [TrainRow("semantic", "", text) for text in facts]


def self_answer_rows(
    pipe: Any, questions: Sequence[str] = SEMANTIC_QA, batch_size: int = 8
) -> list[TrainRow]:
    """General questions with the model's *own* greedy answers (pseudo-rehearsal).

    Call before consolidation: replaying the base model's behaviour on questions outside
    the episodes keeps the QA format from collapsing onto episode answers.
    """
    prompts = [build_prompt(q) for q in questions]
    outs = pipe(prompts, max_new_tokens=12, stop=STOP, batch_size=batch_size)
    return [
        TrainRow("semantic", question_block(q, None), f" {o['text'].strip()}\n")
        for q, o in zip(questions, outs, strict=True)
        if o["text"].strip()
    ]


def encode_row(tokenizer: Any, row: TrainRow, max_len: int = 96) -> EncodedRow:
    """Token ids with labels masked (``-100``) over the prompt; BOS/EOS as the tokenizer adds."""
    prompt_ids = tokenizer(row.prompt, add_special_tokens=False)["input_ids"] if row.prompt else []
    target_ids = tokenizer(row.target, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None and row.kind != "cue-answer":
        target_ids = [*target_ids, tokenizer.eos_token_id]
    ids = (prompt_ids + target_ids)[:max_len]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + target_ids)[:max_len]
    return EncodedRow(input_ids=ids, labels=labels, kind=row.kind)


__all__ = [
    "IGNORE_INDEX",
    "CueAnswerRowBuilder",
    "EditRowBuilder",
    "EncodedRow",
    "LMReplayRowBuilder",
    "TrainRow",
    "cue_answer_row",
    "edit_block",
    "edit_cue_row",
    "encode_row",
    "parse_trace_id",
    "record_index",
    "self_answer_rows",
    "semantic_rows",
]
