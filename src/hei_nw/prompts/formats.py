"""Prompts that measure the model, not the template.

Answers are short spans (a name, an item, a place, a number). Every prompt carries an
instruction to give the bare answer, worked demonstrations in the same layout as the
query, and generation stops at the first newline. Two layouts are registered:

* ``completion`` (default): plain ``Notes/Question/Answer`` blocks. Measured on the
  bundled SmolLM2-135M-Instruct, scenario A oracle EM at n=64: 0.92 here vs 0.39 for
  the chat layout; small instruct models copy spans far better in this form.
* ``chat``: the tokenizer's chat template, demonstrations as prior turns.

The same builder serves every mode: B0 passes no notes, the oracle probe the gold
episode, the baselines their retrieved or packed history, B1/B2 the recalled memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hei_nw.models.base import Message, Prompt

INSTRUCTION = (
    "Answer each question with only the answer, copied from the notes when notes are "
    "given: a name, an item, a place or a number. No sentences."
)

STOP: tuple[str, ...] = ("\n", "<|im_end|>")


@dataclass(frozen=True)
class Demo:
    notes: str
    question: str
    answer: str


# Demonstrations use entities that no generator emits, so they cannot leak answers; one
# per question form (who / where / what / port / fact update).
DEMOS: tuple[Demo, ...] = (
    Demo(
        "On Friday noon, Marta left a bicycle at Union Square.",
        "Whose bicycle was left at Union Square on Friday noon?",
        "Marta",
    ),
    Demo(
        "Benno left a trumpet at the Jazz Cellar on Saturday dawn.",
        "Where was the trumpet that Benno left on Saturday dawn?",
        "the Jazz Cellar",
    ),
    Demo(
        "On Monday dusk, Lotte forgot a parasol at Kiosk Twelve.",
        "What was left at Kiosk Twelve by Lotte on Monday dusk?",
        "parasol",
    ),
    Demo(
        "Server moonrake runs Cassandra on port 7199.",
        "Cassandra on moonrake is reachable at which port?",
        "7199",
    ),
    Demo(
        "Update: the capital of Ruritania is now Strelsau.",
        "Ruritania's capital is which city?",
        "Strelsau",
    ),
)


def question_block(question: str, notes: str | None) -> str:
    """One ``Notes/Question/Answer`` block (no demonstrations), ending at ``Answer:``."""
    head = f"Notes: {notes}\n" if notes else ""
    return f"{head}Question: {question}\nAnswer:"


def completion_prompt(question: str, notes: str | None, demos: Sequence[Demo] = DEMOS) -> str:
    """Plain-text few-shot prompt; demonstrations show notes only when the query has them."""
    shots = "".join(
        f"{question_block(d.question, d.notes if notes else None)} {d.answer}\n\n" for d in demos
    )
    return f"{INSTRUCTION}\n\n{shots}{question_block(question, notes)}"


def chat_prompt(question: str, notes: str | None, demos: Sequence[Demo] = DEMOS) -> list[Message]:
    """Chat-template prompt: instruction as system turn, demonstrations as prior turns."""
    messages: list[Message] = [{"role": "system", "content": INSTRUCTION}]
    for d in demos:
        messages.append(
            {"role": "user", "content": question_block(d.question, d.notes if notes else None)}
        )
        messages.append({"role": "assistant", "content": d.answer})
    messages.append({"role": "user", "content": question_block(question, notes)})
    return messages


CLOZE_INSTRUCTION = (
    "Complete each sentence with a short answer, using the notes when notes are given."
)

# Cloze demonstrations (CounterFact-style prompts) with made-up entities: each states a
# fact in the notes and completes a differently worded sentence with its object.
CLOZE_DEMOS: tuple[Demo, ...] = (
    Demo(
        "Ruritania Radio, by Zenda Corp.",
        "My favourite channel is Ruritania Radio, which is owned by",
        "Zenda Corp",
    ),
    Demo(
        "The mother tongue of Lotte Brinkhaus is Welsh.",
        "Lotte Brinkhaus was born speaking",
        "Welsh",
    ),
    Demo("Kaspar Ulm plays the oboe.", "Kaspar Ulm is known for playing the", "oboe"),
    Demo("Velmont Tower is located in Ottawa.", "To visit Velmont Tower, you travel to", "Ottawa"),
)


def cloze_block(prompt: str, notes: str | None) -> str:
    """One ``Notes/Complete/Answer`` block for a sentence to be completed."""
    head = f"Notes: {notes}\n" if notes else ""
    return f"{head}Complete: {prompt}\nAnswer:"


def cloze_prompt(prompt: str, notes: str | None, demos: Sequence[Demo] = CLOZE_DEMOS) -> str:
    """Few-shot cloze completion. Measured on the bundled model with the gold fact as notes
    (CounterFact, first 60 cases): rewrite token accuracy 0.92 and rephrase 0.70, against
    0.85 / 0.28 for "New fact: ..." pasted before the bare cloze and 0.67 / 0.23 for the
    fact on the line before it."""
    shots = "".join(
        f"{cloze_block(d.question, d.notes if notes else None)} {d.answer}\n\n" for d in demos
    )
    return f"{CLOZE_INSTRUCTION}\n\n{shots}{cloze_block(prompt, notes)}"


PromptBuilder = Callable[[str, "str | None"], Prompt]

PROMPT_FORMATS: dict[str, Callable[..., Prompt]] = {
    "completion": completion_prompt,
    "chat": chat_prompt,
    "cloze": cloze_prompt,  # sentence completion (CounterFact-style edit prompts)
}


def build_prompt(question: str, notes: str | None = None, fmt: str = "completion") -> Prompt:
    try:
        builder = PROMPT_FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown prompt format {fmt!r}; use {', '.join(PROMPT_FORMATS)}"
        ) from None
    return builder(question, notes)
