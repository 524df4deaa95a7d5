from hei_nw.memory.config import PackerConfig
from hei_nw.memory.documents import InMemoryDocuments
from hei_nw.memory.pack import Packer, redact
from hei_nw.memory.traces import Salience, SpanRef, Trace, new_trace


def _trace(doc: str, text: str) -> Trace:
    return new_trace(
        f"{doc}#0",
        SpanRef(doc=doc, start=0, end=len(text)),
        Salience(surprise=0, novelty=0, reward=0, pin=False, S=0),
    )


def test_redaction() -> None:
    text = "Mail bob@example.com or call +1 (555) 123-4567, key sk-abcdefghijklmnop1234."
    out = redact(text)
    assert "[EMAIL]" in out and "[PHONE]" in out and "[SECRET]" in out
    assert "bob@example.com" not in out and "555" not in out
    assert (
        redact("Server stargazer runs Postgres on port 5433.")
        == "Server stargazer runs Postgres on port 5433."
    )


def test_pack_is_deterministic_and_bounded() -> None:
    docs = InMemoryDocuments(
        {"a": "Alice left a backpack at Café Lumen.", "b": "Bob lost a kite. " * 40}
    )
    words = lambda s: len(s.split())  # noqa: E731
    packer = Packer(docs, words, PackerConfig(max_mem_tokens=20, max_traces=4))
    traces = [_trace("a", docs.docs["a"]), _trace("b", docs.docs["b"])]
    out = packer.pack(traces)
    assert out == "Alice left a backpack at Café Lumen."  # b does not fit the budget
    assert packer.pack(traces) == out
    only_long = packer.pack([traces[1]])
    assert 0 < words(only_long) <= 20
    assert packer.pack([]) == ""
