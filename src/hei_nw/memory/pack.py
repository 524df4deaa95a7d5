"""Packer: render retrieved traces as a short, deterministic block of memory text.

The trace holds only a pointer; the packer asks a :class:`~hei_nw.memory.traces.DocumentSource`
for the span's text, redacts PII (on by default), and keeps the block within
``max_mem_tokens`` tokens of the base model's tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from hei_nw.memory.config import PackerConfig
from hei_nw.memory.documents import DocumentSource
from hei_nw.memory.traces import Trace

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
PHONE = re.compile(r"(?<!\w)(?:\+?\d[\d\s().-]{7,}\d)(?!\w)")
SECRET = re.compile(
    r"\b(?:sk|pk|ghp|gho|xox[abp]|AKIA)[-_A-Za-z0-9]{12,}\b|\b[A-Za-z0-9_\-]{32,}\b"
)


def redact(text: str) -> str:
    """Replace emails, phone numbers and secret-looking keys with tags."""
    text = EMAIL.sub("[EMAIL]", text)
    text = SECRET.sub("[SECRET]", text)
    return PHONE.sub("[PHONE]", text)


class Packer:
    """Deterministic template: one line per trace, best first, within a token budget."""

    def __init__(
        self,
        docs: DocumentSource,
        count_tokens: Callable[[str], int],
        config: PackerConfig | None = None,
    ) -> None:
        self.docs = docs
        self.count_tokens = count_tokens
        self.config = config or PackerConfig()

    def text(self, trace: Trace) -> str:
        """The trace's episode text, regenerated from its pointer."""
        ref = trace["tokens_span_ref"]
        return self.docs.text(ref["doc"], ref["start"], ref["end"]).strip()

    def line(self, trace: Trace) -> str:
        text = self.text(trace)
        if self.config.render_slots and trace["entity_slots"]:
            slots = "; ".join(f"{k}={v}" for k, v in sorted(trace["entity_slots"].items()) if v)
            text = f"{text} [{slots}]"
        return redact(text) if self.config.redact_pii else text

    def pack(self, traces: Sequence[Trace]) -> str:
        """Lines of the first ``max_traces`` traces that fit ``max_mem_tokens`` together."""
        lines: list[str] = []
        for trace in traces[: self.config.max_traces]:
            candidate = "\n".join([*lines, self.line(trace)])
            if self.count_tokens(candidate) > self.config.max_mem_tokens:
                if not lines:
                    lines.append(self._truncate(self.line(trace)))
                break
            lines.append(self.line(trace))
        return "\n".join(lines)

    def _truncate(self, text: str) -> str:
        words = text.split()
        while words and self.count_tokens(" ".join(words)) > self.config.max_mem_tokens:
            words.pop()
        return " ".join(words)
