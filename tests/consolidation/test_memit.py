"""The memit method: key tokens from the text, a closed-form write that teaches the
teacher's answer, exact restore, and the adapter that carries the same change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from hei_nw.consolidation import state_of
from hei_nw.consolidation.covariance import sampled_text
from hei_nw.consolidation.direct import answer_tokens
from hei_nw.consolidation.memit import MemitEditor
from hei_nw.consolidation.requests import build_request, key_char_end
from hei_nw.datasets.general_questions import general_questions
from hei_nw.memory.config import ConsolidationConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import build_prompt
from tests.conftest import tiny_memory

QUERIES = ["Ruritania Radio, by", "Lotte Brinkhaus was born speaking", "Velmont Tower is in"]
ANSWERS = [" Zenda\n", " Welsh\n", " Ottawa\n"]
FAST = {
    "memit_layers": (0,),  # layer 1 must carry the key to the answer
    "memit_lambda": 1.0,
    "memit_steps": 60,
    "memit_lr": 0.5,
    "memit_decay": 0.0,
    "memit_clamp": 50.0,
    "memit_stop_loss": 0.01,
    "precision": "float32",
}
ANCHORS = list(general_questions("anchor")[:60])  # >= 4 tokens per dimension of the tiny model


def test_key_is_the_end_of_the_last_name() -> None:
    text = "The mother tongue of Danielle Darrieux is"
    assert key_char_end(text) == text.index("Darrieux") + len("Darrieux")
    assert key_char_end("BBC One, by") == len("BBC One")
    assert key_char_end("what is on the table") is None


def test_the_top_layer_cannot_be_written(tiny_pipe: GenerationPipeline) -> None:
    with pytest.raises(ValueError, match="memit_layers"):
        MemitEditor(tiny_pipe, ConsolidationConfig(memit_layers=(0, 1)))


def test_too_little_anchor_text_is_refused(tiny_pipe: GenerationPipeline) -> None:
    editor = MemitEditor(tiny_pipe, ConsolidationConfig(**FAST))
    with pytest.raises(ValueError, match="tokens of anchor text"):
        editor.edit(_requests(tiny_pipe), ["Two plus two is"])


def test_key_token_in_every_context(tokenizer: Any) -> None:
    q = "The mother tongue of Danielle Darrieux is"
    contexts = [str(build_prompt(q, None, "cloze")), q]
    req = build_request(tokenizer, q, contexts, [1, 2])
    for ctx in req.contexts:
        upto = tokenizer.decode(list(ctx.ids[: ctx.key + 1]))
        assert upto.endswith("Darrieux")
    bare = build_request(tokenizer, "what is on the table", ["what is on the table"], [1])
    assert not bare.named and bare.contexts[0].key == len(bare.contexts[0].ids) - 1
    with pytest.raises(ValueError, match="does not contain"):
        build_request(tokenizer, q, ["something else"], [1])


def _requests(pipe: GenerationPipeline, pairs: Any = None) -> list[Any]:
    """A request per (query, answer text) pair, asked in the cloze layout and bare."""
    tok = pipe.tokenizer
    return [
        build_request(
            tok,
            q,
            [str(build_prompt(q, None, "cloze")), q],
            tok(a, add_special_tokens=False)["input_ids"],
        )
        for q, a in (pairs if pairs is not None else zip(QUERIES, ANSWERS, strict=True))
    ]


# New facts for the bundled model (not the few-shot demos, which it can copy).
FACTS = [
    ("The mother tongue of Danielle Darrieux is", "Tamil"),
    ("BBC One, by", "Sega"),
    ("Toko Yasuda plays the", "trumpet"),
]


def _answer_nll(pipe: GenerationPipeline) -> list[float]:
    out = pipe.run(  # targets are scored after a space
        [build_prompt(q, None, "cloze") for q, _ in FACTS],
        targets=[a for _, a in FACTS],
        max_new_tokens=0,
    )
    return [-d.forced.logprob / d.forced.n_tokens for d in out if d.forced]


@pytest.mark.integration
def test_edit_teaches_the_answers_and_restore_is_exact(bundled_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(bundled_dir)
    model = AutoModelForCausalLM.from_pretrained(bundled_dir, dtype=torch.float32).eval()
    pipe = GenerationPipeline(tok, model, "smollm2-135m")
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    before = _answer_nll(pipe)
    editor = MemitEditor(pipe, ConsolidationConfig(precision="float32"))  # defaults
    stats = editor.edit(
        _requests(pipe, [(q, " " + a) for q, a in FACTS]), general_questions("anchor")
    )
    after = _answer_nll(pipe)
    assert stats.requests == 3 and stats.unnamed == 0
    assert stats.target_loss_after < 0.1 * stats.target_loss_before
    assert all(a < 0.5 * b for a, b in zip(after, before, strict=True)), (before, after)
    edited = {k: v.clone() for k, v in model.state_dict().items()}
    changed = [k for k in weights if not torch.equal(weights[k], edited[k])]
    assert sorted(changed) == [f"model.layers.{i}.mlp.down_proj.weight" for i in (3, 4, 5, 6, 7)]
    editor.restore()
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k]), k


def test_adapter_carries_the_same_change(tiny_pipe: GenerationPipeline, tmp_path: Path) -> None:
    editor = MemitEditor(tiny_pipe, ConsolidationConfig(**FAST))
    editor.edit(_requests(tiny_pipe), ANCHORS)
    ids = torch.tensor([tiny_pipe.encode(str(build_prompt(QUERIES[0], None, "cloze")))])
    with torch.no_grad():
        edited = tiny_pipe.model(input_ids=ids).logits
    model = editor.as_adapter()
    with torch.no_grad():
        adapted = model(input_ids=ids).logits
        with model.disable_adapter():
            base = model(input_ids=ids).logits
    torch.testing.assert_close(adapted, edited, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(base, edited, atol=1e-3)


def test_memory_consolidates_with_the_memit_method(
    tiny_pipe: GenerationPipeline, tmp_path: Path
) -> None:
    settings = {"gate.use_for_writes": False, "consolidation.method": "memit"}
    settings.update({f"consolidation.{k}": v for k, v in FAST.items()})
    mem = tiny_memory(tiny_pipe, settings)
    mem.observe_many(
        ["Ruritania Radio is owned by Zenda.", "Lotte Brinkhaus speaks Welsh."],
    )
    mem.answer(["Who owns Ruritania Radio?", "What does Lotte Brinkhaus speak?"], log=True)
    report = mem.consolidate(anchors={"qa": ANCHORS}, adapter_dir=tmp_path / "adapter")
    assert report.method == "memit" and report.rows["requests"] == 2
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    assert mem.consolidated  # B2: the memory's model carries the adapter
    b3 = state_of(mem).trainer.merged_pipe()  # B3: the same change merged into the weights
    ids = torch.tensor([tiny_pipe.encode("Who owns Ruritania Radio?")])
    with torch.no_grad():
        merged = b3.model(input_ids=ids).logits
        attached = mem.pipe.model(input_ids=ids).logits
        with mem.pipe.model.disable_adapter():
            base = mem.pipe.model(input_ids=ids).logits
    torch.testing.assert_close(merged, attached, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(base, merged, atol=1e-4)
    # A second call with nothing new writes nothing more and keeps the adapter.
    again = mem.consolidate(anchors={"qa": ANCHORS})
    assert again.rows["requests"] == 0 and mem.consolidated


def test_sampled_text_is_the_models_own_and_cached(
    tiny_pipe: GenerationPipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEI_NW_CACHE", str(tmp_path))
    texts = sampled_text(tiny_pipe, 3, max_new_tokens=4)
    assert [t.split()[0] for t in texts] == ["The", "In", "A"]
    assert all(len(t.split()) > 1 for t in texts)
    assert sampled_text(tiny_pipe, 3, max_new_tokens=4) == texts  # read back from the cache
    assert list((tmp_path / "memit-text").glob("*.json"))


def test_preserved_keys_shrink_the_update_on_them(tiny_pipe: GenerationPipeline) -> None:
    tok = tiny_pipe.tokenizer
    keep = [build_request(tok, q, [q], []) for q in ("Ruritania Radio is in", "Lotte Brinkhaus")]
    sizes = []
    for mu in (0.0, 100.0):
        editor = MemitEditor(tiny_pipe, ConsolidationConfig(**FAST, memit_preserve=mu))
        editor.edit(_requests(tiny_pipe), ANCHORS, keep, z_target=None)
        k0 = editor.keys_and_values(keep, 0)[0]  # [2, d_in], base weights of layer 0 input
        sizes.append(float((editor.deltas[0] @ k0.T).norm()))
        editor.restore()
    assert sizes[1] < 0.5 * sizes[0], sizes


def test_answer_tokens_drop_the_stop_newline(tokenizer: Any) -> None:
    ids = tokenizer(" Seoul\n", add_special_tokens=False)["input_ids"]
    assert (
        answer_tokens(tokenizer, ids) == tokenizer(" Seoul", add_special_tokens=False)["input_ids"]
    )
    assert answer_tokens(tokenizer, tokenizer("\n\n", add_special_tokens=False)["input_ids"]) == []
