"""Prompt layouts shared by every mode, baseline, probe and training row."""

from hei_nw.prompts.formats import (
    CLOZE_DEMOS,
    CLOZE_INSTRUCTION,
    DEMOS,
    INSTRUCTION,
    PROMPT_FORMATS,
    STOP,
    Demo,
    build_prompt,
    chat_prompt,
    cloze_block,
    cloze_prompt,
    completion_prompt,
    question_block,
)

__all__ = [
    "CLOZE_DEMOS",
    "CLOZE_INSTRUCTION",
    "DEMOS",
    "INSTRUCTION",
    "PROMPT_FORMATS",
    "STOP",
    "Demo",
    "build_prompt",
    "chat_prompt",
    "cloze_block",
    "cloze_prompt",
    "completion_prompt",
    "question_block",
]
